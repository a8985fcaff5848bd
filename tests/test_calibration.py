"""Calibration a user can see: a quantile head that puts any number of its lowest levels at exactly 0
(night-time power), reliability per level, and the reliability panel of the figures."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from lightning.pytorch.loggers import TensorBoardLogger

from datamodules.power.datamodule import PowerDataModule
from nie.forecasting import LSTMForecaster, PowerForecastTask
from nie.forecasting.plots import forecast_week_figure, table_reliability
from nie.forecasting.quantiles import QuantileReliability, non_crossing, pinball
from tests.power_data import make_power_table, write_power_config

TWENTIETHS = [round(0.05 * i, 2) for i in range(1, 20)]  # 0.05 ... 0.95


def _earlier_head(raw: torch.Tensor) -> torch.Tensor:
    """The head before the floor: a ReLU base plus Softplus increments (only the lowest level could be 0)."""
    base = torch.relu(raw[..., :1])
    return torch.cat([base, base + torch.cumsum(torch.nn.functional.softplus(raw[..., 1:]), dim=-1)], dim=-1)


def test_a_low_base_puts_the_lowest_levels_at_exactly_zero_and_the_rest_strictly_above() -> None:
    raw = torch.zeros(2, 3, len(TWENTIETHS))
    raw[..., 0] = -3.0  # increments softplus(0) = 0.693: c_k = −3 + 0.693·k, below 0 up to k = 4
    q = non_crossing(raw)
    assert (q[..., :5] == 0).all()
    assert (q[..., 5] > 0).all() and (q[..., 5:].diff(dim=-1) > 0).all()
    assert (q >= 0).all() and (q.diff(dim=-1) >= 0).all()


def test_wild_raw_outputs_never_cross_or_go_negative_and_match_the_earlier_head_above_zero() -> None:
    torch.manual_seed(0)
    raw = 30 * torch.randn(500, 24, len(TWENTIETHS))
    q = non_crossing(raw)
    assert (q >= 0).all() and (q.diff(dim=-1) >= 0).all()
    base_up = raw[..., 0] >= 0  # nothing clamped: the very same numbers as before the floor
    assert torch.equal(q[base_up], _earlier_head(raw)[base_up])
    assert (q[~base_up] <= _earlier_head(raw)[~base_up]).all()


def test_levels_above_zero_pass_gradients_to_the_base_and_every_increment() -> None:
    raw = torch.zeros(1, 1, len(TWENTIETHS))
    raw[..., 0] = -3.0  # levels 0..4 at 0, 5..18 above
    raw.requires_grad_(True)
    non_crossing(raw).sum().backward()  # a gradient that would lower every level
    assert raw.grad is not None
    above = len(TWENTIETHS) - 5
    assert raw.grad[0, 0, 0].item() == pytest.approx(above)  # the base: once per level above 0
    # increment j reaches the levels j, j+1, ... of which those above 0 pass sigmoid(0) = 0.5 each
    expected = [0.5 * (len(TWENTIETHS) - max(j, 5)) for j in range(1, len(TWENTIETHS))]
    assert raw.grad[0, 0, 1:].tolist() == pytest.approx(expected)


@pytest.mark.parametrize(("target", "moves"), [(0.0, False), (0.5, True)])
def test_a_clamped_level_is_raised_by_a_target_above_it_and_left_at_zero_by_a_zero_target(
    target: float, moves: bool
) -> None:
    levels = torch.tensor(TWENTIETHS)
    raw = torch.full((1, 1, len(TWENTIETHS)), -5.0)
    raw[..., 0] = -100.0  # every level at 0: a window with no level above 0 must not be dead
    raw.requires_grad_(True)
    q = non_crossing(raw)
    assert (q == 0).all()
    pinball(q, torch.full((1, 1), target), levels).sum().backward()
    assert raw.grad is not None
    if moves:
        assert (raw.grad < 0).all()  # gradient descent raises the base and the increments
    else:
        assert (raw.grad == 0).all()  # 0 forecast for a 0 target: exact, nothing pushes it lower or higher


def test_reliability_counts_the_share_at_or_below_each_level_overall_and_on_producing_hours() -> None:
    metric = QuantileReliability([0.1, 0.5, 0.9])
    pred = torch.tensor([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.5], [0.0, 1.0, 2.0]]])  # [1, 4, 3]
    target = torch.tensor([[0.5, 1.0, 0.0, 3.0]])  # the 3.0 is missing
    metric.update(pred, target, torch.tensor([[True, True, True, False]]))
    shares = metric.fractions()
    # all hours: 0.5 ≤ (1, 2); 1.0 ≤ (1, 2); 0.0 ≤ every level (0, 0, 0.5)
    assert shares["all"].tolist() == pytest.approx([1 / 3, 1.0, 1.0])
    assert shares["producing"].tolist() == pytest.approx([0.0, 1.0, 1.0])  # 0.5 and 1.0 only
    assert set(metric.compute()) == {"reliability_gap"}
    assert metric.compute()["reliability_gap"].item() == pytest.approx(0.5)  # level 0.5: 1.0 observed


def test_reliability_gap_falls_back_to_all_hours_without_a_producing_one() -> None:
    metric = QuantileReliability([0.1, 0.5, 0.9])
    metric.update(torch.zeros(1, 2, 3), torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.bool))
    assert metric.fractions()["producing"].tolist() == [0.0, 0.0, 0.0]
    assert metric.compute()["reliability_gap"].item() == pytest.approx(0.9)  # all hours: 1.0 at level 0.1


def test_the_table_reliability_is_the_metrics_and_skips_missing_actuals() -> None:
    table = pd.DataFrame(
        {"actual": [0.5, 1.0, 0.0, np.nan], "q0.9": [2.0, 2.0, 0.5, 2.0], "q0.1": 0.0, "q0.5": [1.0, 1.0, 0.0, 1.0]}
    )
    levels, shares, counts = table_reliability(table)
    assert levels == [0.1, 0.5, 0.9] and counts == {"all": 3, "producing": 2}
    assert shares["all"].tolist() == pytest.approx([1 / 3, 1.0, 1.0])
    assert shares["producing"].tolist() == pytest.approx([0.0, 1.0, 1.0])


def test_the_figure_adds_a_reliability_panel_for_quantiles_only() -> None:
    times = pd.date_range("2020-01-01", periods=48, freq="h")
    table = pd.DataFrame(
        {"station": 1, "target_time": times, "actual": 1.0, "forecast": 1.0, "q0.1": 0.5, "q0.5": 1.0, "q0.9": 2.0}
    )
    axes = forecast_week_figure(table).axes
    assert len(axes) == 2 and axes[-1].get_title().startswith("reliability")
    labels = axes[-1].get_legend_handles_labels()[1]
    assert labels == ["calibrated", "all hours", "producing hours (gap 0.50)"]  # 1.0 ≤ q0.5 = 1.0: always
    assert len(forecast_week_figure(table[["station", "target_time", "actual", "forecast"]]).axes) == 1


def _night_zero_table() -> pd.DataFrame:
    """The generated solar series with night hours exactly 0 (13 hours of 24): a point mass at zero."""
    table = make_power_table()
    night = np.sin(2 * np.pi * (table["time"].dt.hour - 6) / 24) <= 1e-9
    table.loc[night, "power"] = 0.0
    return table


def test_a_short_fit_forecasts_exact_zeros_at_night_and_covers_them(tmp_path: Path) -> None:
    config = yaml.safe_load(write_power_config(tmp_path / "data", _night_zero_table()).read_text())
    dm = PowerDataModule(**config["data"]["init_args"])
    pl.seed_everything(0, verbose=False)
    task = PowerForecastTask(network=LSTMForecaster, loss="pinball", quantiles=TWENTIETHS, lr=0.005)
    trainer = pl.Trainer(
        max_epochs=3,
        logger=TensorBoardLogger(tmp_path / "tb"),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, dm)
    scores = trainer.test(task, dm, verbose=False)[0]
    assert 0 <= scores["test/reliability_gap"] <= 1 and not any("station" in k and "reliability" in k for k in scores)

    table = dm.forecast_table("test", trainer.predict(task, dm))
    zero = table[table["actual"] == 0]
    assert len(zero) > 0.4 * len(table)
    # not just the lowest level (which the earlier head could also put at 0): several reach 0, so the
    # 80 % interval q0.1 ... q0.9 holds the zero hours, where the earlier head's q0.1 > 0 held none
    for level in ("q0.05", "q0.1", "q0.2"):
        assert (zero[level] == 0).mean() > 0.5, level
    for low, high in (("q0.05", "q0.95"), ("q0.1", "q0.9")):
        assert ((zero["actual"] >= zero[low]) & (zero["actual"] <= zero[high])).mean() > 0.5, low
    assert (table[list(table.filter(like="q").columns)].diff(axis=1).iloc[:, 1:] >= 0).all().all()

    ((tag, figure),) = task.validation_figures(trainer.predict(task, dm.val_dataloader()))
    assert tag == "val/forecast_week" and figure.axes[-1].get_title().startswith("reliability")
