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
from nie.forecasting.quantiles import DECILES, QuantileScores, at_level, pinball_loss
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
        net.decoder[-1].bias[0] = -1e4  # the lowest level reaches exactly 0 (night-time power)
        assert (net(next(iter(dm.val_dataloader())))[..., 0] == 0).all()


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


def test_median_is_interpolated_between_levels() -> None:
    pred = torch.tensor([[0.0, 1.0, 4.0]])
    assert at_level(pred, torch.tensor([0.25, 0.45, 0.75]), 0.5).item() == pytest.approx(1.5)
    assert at_level(pred, torch.tensor([0.25, 0.45, 0.75]), 0.1).item() == 0.0


@pytest.mark.parametrize("baseline", [Persistence, Climatology, NWPRegression])
def test_quantile_baselines_are_ordered_and_non_negative(tmp_path: Path, baseline) -> None:
    dm = _datamodule(tmp_path)
    net = baseline(replace(dm.spec, quantiles=DECILES))
    net.fit(dm)
    forecast = net(next(iter(dm.val_dataloader())))
    assert forecast.shape[-1] == len(DECILES) and (forecast >= 0).all() and (forecast.diff(dim=-1) >= 0).all()
    assert forecast[..., -1].sum() > forecast[..., 0].sum()  # the training errors spread the quantiles


def test_quantiles_need_the_pinball_loss_and_increasing_levels() -> None:
    with pytest.raises(ConfigError, match="model.quantiles is for model.loss: pinball"):
        PowerForecastTask(network=LSTMForecaster, quantiles=[0.5])
    with pytest.raises(ConfigError, match="strictly increasing"):
        PowerForecastTask(network=LSTMForecaster, loss="pinball", quantiles=[0.9, 0.1])


def test_quantile_fit_test_predict_through_the_cli(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    args = ["--config", config, "--model.init_args.loss", "pinball", "--trainer.max_epochs", "2"]
    run_train("fit", *args)
    run_train("test", *args, "--ckpt_path", "best", "--out", "m.json")
    metrics = read_json("m.json")
    for name in ("rmse", "mae", "pinball", "crps", "coverage_80", "width_80"):
        assert name in {k.split("/")[-1] for k in metrics} and f"test/station_1/{name}" in metrics
    run_train("predict", *args, "--ckpt_path", "best", "--out", "forecast.csv")
    table = pd.read_csv("forecast.csv")
    assert [f"q{q:g}" for q in DECILES] == [c for c in table.columns if c.startswith("q")]
    assert (table["forecast"] == table["q0.5"]).all() and Path("forecast.png").is_file()
