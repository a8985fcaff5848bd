"""``train.py backtest`` through the real CLI on generated series: origins, periods, resume, fine-tune, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from nie.core.errors import ConfigError
from nie.protocols.forecasting.plan import BacktestPlan, origins
from tests.conftest import read_json, run_train
from tests.power_data import BACKTEST_PLAN, write_backtest_config, write_power_config

PLAN = BACKTEST_PLAN
SPAN = (pd.Timestamp("2020-01-01 01:00"), pd.Timestamp("2020-02-09 23:00"), pd.Timedelta("1h"))


def test_origins_and_their_periods() -> None:
    schedule = origins(BacktestPlan(**PLAN), SPAN, history=48, horizon=24)
    assert [str(o.origin) for o in schedule] == ["2020-01-30 00:00:00", "2020-02-02 00:00:00", "2020-02-05 00:00:00"]
    for o in schedule:  # expanding: training from the data's start, validation just before the origin
        assert o.train_start is None and o.val_start == o.origin - pd.Timedelta("4D")
        assert o.test_end == o.origin + pd.Timedelta("3D") <= SPAN[1] + SPAN[2]
    sliding = origins(BacktestPlan(**PLAN, window="10D"), SPAN, history=48, horizon=24)
    assert [o.train_start for o in sliding] == [o.val_start - pd.Timedelta("10D") for o in sliding]


@pytest.mark.parametrize(
    "plan,message",
    [
        ({"first_origin": "2021-01-01"}, "backtest.first_origin 2021-01-01 00:00:00 is outside the data"),
        ({"step": "12h"}, "backtest.step '12h' is shorter than the forecast horizon"),
        ({"val_span": "29D"}, "backtest.val_span 29D leaves no training data before the first origin"),
        ({"step": "fortnightly"}, "backtest.step: expected a pandas offset"),
        ({"val_span": "-2D"}, "backtest.val_span must be positive"),
        ({"first_origin": "2020-02-08 00:00"}, "has a whole test span in the data"),
        ({"finetune_epochs": 0}, "backtest.finetune_epochs must be at least 1"),
    ],
)
def test_bad_plans_are_one_line_before_training(plan: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        origins(BacktestPlan(**{**PLAN, **plan}), SPAN, history=48, horizon=24)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def _forecast_hours(dm, stage: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last hour any window of ``stage`` forecasts."""
    dataset, first, last = dm.datasets[stage], [], []
    for station, starts in enumerate(dataset.starts):
        times = dm.series[station].times
        first.append(times[starts.min() + dataset.seq_len])
        last.append(times[starts.max() + dataset.seq_len + dataset.horizon - 1])
    return min(first), max(last)


def test_no_test_hour_reaches_fitting_or_early_stopping(workdir: Path) -> None:
    from datamodules import PowerDataModule

    config = yaml.safe_load(Path(write_backtest_config(workdir)).read_text())["data"]["init_args"]
    for origin in origins(BacktestPlan(**PLAN, window="12D"), SPAN, history=48, horizon=24):
        periods = {"val_start": str(origin.val_start), "test_start": str(origin.origin)}
        dm = PowerDataModule(
            **{**config, **periods, "test_end": str(origin.test_end), "train_start": str(origin.train_start)}
        )
        dm.setup()
        train, val, test = (_forecast_hours(dm, stage) for stage in ("train", "val", "test"))
        assert origin.train_start <= train[0] and train[1] < origin.val_start <= val[0]
        assert val[1] < origin.origin <= test[0] and test[1] < origin.test_end


def test_backtest_runs_resumes_and_fine_tunes(workdir: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from nie.core.task import BaseTask

    warm: list[str] = []
    load = BaseTask._load_weights
    monkeypatch.setattr(BaseTask, "_load_weights", lambda self, path: (warm.append(path), load(self, path))[1])
    config = write_backtest_config(workdir, refit="finetune", finetune_epochs=1)
    run_train("backtest", "--config", config, "--out", "bt.json")
    result = read_json("bt.json")
    assert result["origins"] == ["2020-01-30 00:00:00", "2020-02-02 00:00:00", "2020-02-05 00:00:00"]
    assert len(result["metrics"]["rmse"]["folds"]) == 3 and "best_val/rmse" in result["metrics"]
    assert read_json("runs/backtest/power/finetune/backtest_metrics.json") == result
    first, second, third = (f"runs/backtest/power/finetune/{d}" for d in ("2020-01-30", "2020-02-02", "2020-02-05"))
    started_from = [Path(p).relative_to("runs/backtest/power/finetune").parts[0] for p in warm]
    assert started_from == ["2020-01-30", "2020-02-02"]  # each fine-tune from the previous origin's best
    assert all(Path(p).is_file() for p in warm) and Path(first).is_dir() and Path(third).is_dir()
    capsys.readouterr()
    run_train("backtest", "--config", config, "--out", "again.json")
    again = read_json("again.json")
    assert again.pop("provenance")["wall_seconds"] > 0 and "commit" in result.pop("provenance")
    assert capsys.readouterr().out.count("done earlier") == 3 and again == result


def test_backtest_without_a_plan_with_a_bad_override_or_an_unwritable_out_is_one_line(workdir: Path) -> None:
    path = write_power_config(workdir / "data")
    with pytest.raises(SystemExit, match="backtest needs a 'backtest:' section"):
        run_train("backtest", "--config", str(path))
    with pytest.raises(SystemExit, match="backtest.step '12h' is shorter"):
        run_train("backtest", "--config", write_backtest_config(workdir), "--backtest.step", "12h")
    Path("a_file").write_text("")
    with pytest.raises(SystemExit, match="^error: --out a_file/bt.json: a_file is a file, not a folder$"):
        run_train("backtest", "--config", write_backtest_config(workdir), "--out", "a_file/bt.json")
    assert not Path("runs").exists() or not list(Path("runs").glob("**/*.ckpt"))


def test_the_gefcom_score_is_the_pinball_loss_averaged_over_99_levels_hours_and_zones() -> None:
    """GEFCom2014's score of a task: for every zone and hour, the pinball loss of each of the 99 quantiles
    0.01 ... 0.99 (L = (1 − q)(ŷ − y) if y < ŷ, else q(y − ŷ)), averaged over levels, hours and zones."""
    import numpy as np
    import torch

    from nie.forecasting.quantiles import QuantileScores

    rng = np.random.default_rng(0)
    levels = [i / 100 for i in range(1, 100)]
    forecast = np.sort(rng.random((3, 2, 24, 99)), axis=-1)  # [zone, window, hour, level]
    actual = np.where(rng.random((3, 2, 24)) < 0.4, 0.0, rng.random((3, 2, 24)))  # night hours exactly 0
    by_hand = []
    for zone, window, hour in np.ndindex(3, 2, 24):
        y = actual[zone, window, hour]
        losses = [(1 - q) * (f - y) if y < f else q * (y - f) for q, f in zip(levels, forecast[zone, window, hour])]
        by_hand.append(np.mean(losses))
    scores = QuantileScores(["1", "2", "3"], levels)
    for zone in range(3):
        pred, target = torch.from_numpy(forecast[zone]), torch.from_numpy(actual[zone])
        scores.update(pred, target, torch.ones_like(target, dtype=torch.bool), torch.full((2,), zone))
    assert float(scores.compute()["pinball"]) == pytest.approx(np.mean(by_hand), rel=1e-6)
