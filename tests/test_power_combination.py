"""Two quantile forecasts combined (nie.forecasting.combination): weights on validation, alignment, recalibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nie.core.errors import DataError
from nie.forecasting.combination import aligned, quantile_average, recalibrate, scores, weight_scores

LEVELS = np.array([0.1, 0.5, 0.9])


def _table(values: np.ndarray, actual: np.ndarray, hours: int | None = None) -> pd.DataFrame:
    times = pd.date_range("2020-01-01 01:00", periods=len(actual), freq="h")[: hours or len(actual)]
    table = pd.DataFrame({"station": 1, "target_time": times.astype(str), "actual": actual[: len(times)]})
    for i, level in enumerate(LEVELS):
        table[f"q{level:g}"] = values[: len(times), i]
    return table


def test_opposite_biases_average_out_and_the_grid_finds_the_middle() -> None:
    rng = np.random.default_rng(0)
    actual = rng.uniform(0, 1, 4000)
    offsets = np.array([-0.1, 0.0, 0.1])
    high, low = actual[:, None] + 0.2 + offsets, np.clip(actual[:, None] - 0.2 + offsets, 0, None)
    grid = weight_scores(high, low, actual, LEVELS, [0.0, 0.3, 0.5, 0.7, 1.0])
    assert min(grid, key=grid.__getitem__) == 0.5 and grid[0.5] < min(grid[0.0], grid[1.0])
    mean = quantile_average(high, low, 0.3)
    assert (np.diff(mean, axis=1) >= 0).all() and (mean >= 0).all()
    with pytest.raises(ValueError, match=r"weight must lie in \[0, 1\], got 1.5"):
        quantile_average(high, low, 1.5)


def test_pinball_and_reliability_gap_by_hand() -> None:
    forecast = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    result = scores(forecast, np.array([1.5, 0.0]), LEVELS)
    # row 1: 0.1 * 1.5, 0.5 * 0.5, (1 - 0.9) * 0.5; row 2: exact, 0; the producing hour is below q0.9 only
    assert result["pinball"] == pytest.approx((0.15 + 0.25 + 0.05) / 6)
    assert result["reliability_gap"] == pytest.approx(0.5)


def test_alignment_keeps_shared_hours_and_refuses_what_cannot_be_combined() -> None:
    values, actual = np.tile([0.1, 0.2, 0.3], (10, 1)), np.linspace(0, 1, 10)
    rows, a, b = aligned(_table(values, actual), _table(values * 2, actual, hours=8), "test")
    assert len(rows) == 8 and np.allclose(b, 2 * a)
    with pytest.raises(DataError, match=r"^test: the two tables' actuals differ at 10 hours$"):
        aligned(_table(values, actual), _table(values, actual + 1), "test")
    other = _table(values, actual).rename(columns={"q0.9": "q0.95"})
    with pytest.raises(DataError, match=r"^test: the two forecasts' levels differ"):
        aligned(_table(values, actual), other, "test")


def test_recalibration_reads_only_its_fitting_rows_and_widens_a_narrow_forecast() -> None:
    rng = np.random.default_rng(1)
    fit_actual, new_actual = rng.uniform(0.01, 1, 5000), rng.uniform(0.01, 1, 5000)  # linear between levels
    narrow = np.tile(np.quantile(fit_actual, [0.3, 0.5, 0.7]), (5000, 1))  # covers 30 / 50 / 70 %
    wide = np.tile(np.quantile(fit_actual, [0.05, 0.5, 0.95]), (5000, 1))  # the trained scale reaches further
    recalibrated = recalibrate(wide * 0 + narrow, fit_actual, narrow, LEVELS)
    assert np.allclose(recalibrated, narrow)  # nothing beyond the trained levels: flat, never extrapolated
    read_wide = recalibrate(wide, fit_actual, wide, LEVELS)
    shares = (new_actual[:, None] <= read_wide).mean(0)
    assert shares == pytest.approx(LEVELS, abs=0.03)
    with pytest.raises(DataError, match="no producing hour"):
        recalibrate(wide, np.zeros(5000), wide, LEVELS)
