"""Quantile forecasts: non-crossing head, pinball loss, scores, baselines and predictions with quantile columns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from datamodules.power.datamodule import PowerDataModule
from nie.core.errors import ConfigError
from nie.forecasting import Climatology, LSTMForecaster, NWPRegression, Persistence, PowerForecastTask
from nie.forecasting.plots import forecast_week_figure
from nie.forecasting.quantiles import DECILES, QuantileScores, central_intervals, pinball_loss
from tests.conftest import read_json, run_train
from tests.power_data import write_power_config

LEVELS = torch.tensor(DECILES)


def _datamodule(tmp_path: Path) -> PowerDataModule:
    config = yaml.safe_load(write_power_config(tmp_path).read_text())
    dm = PowerDataModule(**config["data"]["init_args"])
    dm.setup()
    return dm


def test_quantile_head_never_crosses_and_stays_non_negative(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    torch.manual_seed(0)
    net = LSTMForecaster(replace(dm.spec, quantiles=DECILES))
    with torch.no_grad():
        for p in net.decoder[-1].parameters():
            p.normal_(0, 30.0)  # wild raw outputs of both signs
        forecast = net(next(iter(dm.val_dataloader())))
    assert forecast.shape[-1] == len(DECILES) and (forecast >= 0).all()
    assert (forecast.diff(dim=-1) >= 0).all()
    with torch.no_grad():
        net.decoder[-1].bias[0] = -1e4  # the lowest levels reach exactly 0 (night-time power), still in order
        forecast = net(next(iter(dm.val_dataloader())))
        assert (forecast[..., 0] == 0).all() and (forecast >= 0).all() and (forecast.diff(dim=-1) >= 0).all()


def test_pinball_loss_equals_a_hand_computation() -> None:
    pred = torch.tensor([[[1.0, 2.0, 3.0]]])  # one window, one step, levels 0.1 / 0.5 / 0.9
    target = torch.tensor([[2.5]])
    levels = torch.tensor([0.1, 0.5, 0.9])
    # target above 1 and 2: q·(y − ŷ); below 3: (1 − q)·(ŷ − y)
    by_hand = (0.1 * 1.5 + 0.5 * 0.5 + (1 - 0.9) * 0.5) / 3
    assert pinball_loss(pred, target, torch.ones(1, 1), levels).item() == pytest.approx(by_hand)
    masked = pinball_loss(torch.cat([pred, pred], 1), torch.tensor([[2.5, 100.0]]), torch.tensor([[1.0, 0.0]]), levels)
    assert masked.item() == pytest.approx(by_hand)  # a missing target adds nothing


def test_coverage_and_width_of_the_central_interval_on_a_constructed_case() -> None:
    metric = QuantileScores(["a", "b"], DECILES)
    pred = torch.linspace(0, 0.8, 9).expand(4, 2, 9).clone()  # q0.1 = 0, q0.9 = 0.8 everywhere
    target = torch.tensor([[0.5, 0.9], [0.0, 0.8], [-0.1, 0.3], [0.2, 2.0]])  # 5 of 8 inside [0, 0.8]
    metric.update(pred, target, torch.ones(4, 2, dtype=torch.bool), torch.tensor([0, 0, 1, 1]))
    scores = metric.compute()
    assert scores["coverage_80"].item() == pytest.approx(5 / 8)
    assert scores["station_a/coverage_80"].item() == pytest.approx(3 / 4)
    assert scores["width_80"].item() == pytest.approx(0.8)
    assert scores["crps"].item() == pytest.approx(2 * scores["pinball"].item())


def test_deciles_score_every_central_interval_they_give() -> None:
    metric = QuantileScores(["a"], DECILES)
    pred = torch.arange(9.0).expand(1, 4, 9).clone()  # q0.1 = 0, q0.2 = 1, ..., q0.9 = 8
    metric.update(pred, torch.tensor([[0.5, 1.5, 3.5, 7.5]]), torch.ones(1, 4, dtype=torch.bool), torch.tensor([0]))
    scores = metric.compute()
    # 80 %: [0, 8] holds all 4; 60 %: [1, 7] holds 1.5, 3.5; 40 %: [2, 6] and 20 %: [3, 5] hold 3.5
    expected = {"80": (1.0, 8.0), "60": (0.5, 6.0), "40": (0.25, 4.0), "20": (0.25, 2.0)}
    for percent, (coverage, width) in expected.items():
        assert scores[f"coverage_{percent}"].item() == pytest.approx(coverage)
        assert scores[f"width_{percent}"].item() == pytest.approx(width)
        assert scores[f"station_a/coverage_{percent}"].item() == pytest.approx(coverage)
    assert {k for k in scores if k.startswith(("coverage", "width"))} == {
        f"{name}_{p}" for name in ("coverage", "width") for p in expected
    }


def test_quartiles_report_the_50_interval_not_an_80_one() -> None:
    metric = QuantileScores(["a", "b"], [0.25, 0.5, 0.75])
    pred = torch.tensor([1.0, 2.0, 4.0]).expand(2, 3, 3).clone()  # q0.25 = 1, q0.75 = 4 everywhere
    target = torch.tensor([[0.0, 1.0, 2.5], [4.0, 5.0, 3.0]])  # a: 2 of 3 inside [1, 4], b: 2 of 3
    mask = torch.tensor([[True, True, True], [True, True, False]])  # b's 3.0 is missing
    metric.update(pred, target, mask, torch.tensor([0, 1]))
    scores = metric.compute()
    assert scores["coverage_50"].item() == pytest.approx(3 / 5)
    assert scores["station_a/coverage_50"].item() == pytest.approx(2 / 3)
    assert scores["station_b/coverage_50"].item() == pytest.approx(1 / 2)
    assert scores["width_50"].item() == pytest.approx(3.0)
    assert set(scores) == {
        f"{prefix}{name}"
        for prefix in ("", "station_a/", "station_b/")
        for name in ("pinball", "crps", "coverage_50", "width_50")
    }


def test_three_levels_0_1_0_5_0_9_report_coverage_80() -> None:
    metric = QuantileScores(["a"], [0.1, 0.5, 0.9])
    pred = torch.tensor([[[0.0, 1.0, 2.0], [1.0, 2.0, 5.0]]])
    metric.update(pred, torch.tensor([[2.5, 4.0]]), torch.ones(1, 2, dtype=torch.bool), torch.tensor([0]))
    scores = metric.compute()
    assert scores["coverage_80"].item() == pytest.approx(1 / 2) and scores["width_80"].item() == pytest.approx(3.0)
    assert not any(k.startswith(("coverage", "width")) and not k.endswith("_80") for k in scores)


@pytest.mark.parametrize(
    ("levels", "names"),
    [
        (DECILES, ["80", "60", "40", "20"]),
        ([round(0.01 * i, 2) for i in range(1, 100)], ["98", "90", "80", "70", "60", "50", "40", "30", "20", "10"]),
        ([0.025, 0.1, 0.5, 0.9, 0.975], ["95", "80"]),
        ([0.2, 0.5, 0.7], []),  # neither 0.2 nor 0.7 has its partner
        ([0.333, 0.5, 0.667], ["33.4"]),
        ([0.5], []),
    ],
)
def test_central_intervals_are_named_by_the_levels_they_really_span(levels: list[float], names: list[str]) -> None:
    intervals = central_intervals(levels)
    assert list(intervals) == names
    for name, (low, high) in intervals.items():
        assert levels[low] + levels[high] == pytest.approx(1)
        assert 100 * (levels[high] - levels[low]) == pytest.approx(float(name))


def test_the_figure_shades_the_widest_interval_the_quantiles_give() -> None:
    times = pd.date_range("2020-01-01", periods=24, freq="h")
    table = pd.DataFrame(
        {"station": 1, "target_time": times, "actual": 1.0, "forecast": 1.0, "q0.25": 0.5, "q0.5": 1.0, "q0.75": 2.0}
    )
    labels = forecast_week_figure(table).axes[0].get_legend_handles_labels()[1]
    assert "25–75 %" in labels
    assert not any(
        "%" in label
        for label in forecast_week_figure(table.drop(columns="q0.75")).axes[0].get_legend_handles_labels()[1]
    )


@pytest.mark.parametrize("baseline", [Persistence, Climatology, NWPRegression])
def test_quantile_baselines_are_ordered_and_non_negative(tmp_path: Path, baseline) -> None:
    dm = _datamodule(tmp_path)
    net = baseline(replace(dm.spec, quantiles=DECILES))
    net.fit(dm)
    forecast = net(next(iter(dm.val_dataloader())))
    assert forecast.shape[-1] == len(DECILES) and (forecast >= 0).all() and (forecast.diff(dim=-1) >= 0).all()
    assert forecast[..., -1].sum() > forecast[..., 0].sum()  # the training errors spread the quantiles


def test_quantiles_need_the_pinball_loss_and_increasing_levels() -> None:
    with pytest.raises(ConfigError, match=r"^model\.init_args\.quantiles is for model\.init_args\.loss: pinball"):
        PowerForecastTask(network=LSTMForecaster, quantiles=[0.5])
    for levels in ([0.9, 0.1], [0.1, 0.5, 0.5], [0.0, 0.5], [0.5, 1.2], []):
        with pytest.raises(ConfigError, match=r"^model\.init_args\.quantiles must be strictly increasing"):
            PowerForecastTask(network=LSTMForecaster, loss="pinball", quantiles=levels)


@pytest.mark.parametrize("levels", [[0.9], [0.25, 0.75], [0.1, 0.45, 0.55, 0.9]])
def test_quantiles_without_the_median_are_refused(levels: list[float]) -> None:
    with pytest.raises(ConfigError) as raised:
        PowerForecastTask(network=LSTMForecaster, loss="pinball", quantiles=levels)
    message = str(raised.value)
    assert message == f"model.init_args.quantiles must include 0.5 (the median is the point forecast), got {levels}"


def test_quantiles_without_the_median_are_refused_by_the_cli(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    args = ["--config", config, "--model.init_args.loss", "pinball", "--model.init_args.quantiles", "[0.25, 0.75]"]
    with pytest.raises(SystemExit) as raised:
        run_train("fit", *args)
    assert str(raised.value) == (
        "error: model.init_args.quantiles must include 0.5 (the median is the point forecast), got [0.25, 0.75]"
    )
    assert not Path("runs").exists()


def test_quantile_fit_test_predict_through_the_cli(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    args = ["--config", config, "--model.init_args.loss", "pinball", "--trainer.max_epochs", "2"]
    run_train("fit", *args)
    run_train("test", *args, "--ckpt_path", "best", "--out", "m.json")
    metrics = read_json("m.json")
    for name in ("rmse", "mae", "pinball", "crps", "coverage_80", "width_80", "coverage_20", "width_20"):
        assert name in {k.split("/")[-1] for k in metrics} and f"test/station_1/{name}" in metrics
    assert "test/reliability_gap" in metrics and not any(
        k.endswith("/reliability_gap") for k in metrics if "station" in k
    )
    run_train("predict", *args, "--ckpt_path", "best", "--out", "forecast.csv")
    table = pd.read_csv("forecast.csv")
    assert [f"q{q:g}" for q in DECILES] == [c for c in table.columns if c.startswith("q")]
    assert (table["forecast"] == table["q0.5"]).all() and Path("forecast.png").is_file()
