"""Two quantile forecasters combined: the weight chosen on validation forecasts, applied to kept forecasts.

Why: models of different classes (a network reading a week of weather, gradient boosting on each hour)
err differently, and the level-by-level mean of two quantile forecasts ("quantile averaging") scores
at most the weighted mean of their pinball losses, often less. The mean of two non-crossing, non-negative
forecasts is non-crossing and non-negative. The weight is chosen on a validation window (never on the
forecasts it is then applied to); the tables here are ``forecast_table`` rows (one ``q<level>`` column
per level and ``actual``), as ``train.py backtest`` keeps them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from nie.core.errors import DataError
from nie.forecasting.calibration import coverage, interpolate_levels, recalibrated_levels

KEYS = ["station", "target_time"]  # one forecast per station and hour in every table combined here
Array = npt.NDArray[np.float64]


def level_columns(table: pd.DataFrame) -> list[str]:
    """The ``q<level>`` columns of a forecast table, in increasing level."""
    columns = [c for c in table.columns if c.startswith("q") and c[1:].replace(".", "", 1).isdigit()]
    return sorted(columns, key=lambda c: float(c[1:]))


def levels_of(columns: Sequence[str]) -> Array:
    return np.array([float(c[1:]) for c in columns])


def aligned(first: pd.DataFrame, second: pd.DataFrame, what: str) -> tuple[pd.DataFrame, Array, Array]:
    """The hours both tables forecast (by station and target hour; a model whose windows need less history
    may forecast a few more) and their levels [N, Q] each; one line when the levels differ, no hour is
    shared, or an hour's actual differs between the two."""
    columns = level_columns(first)
    if columns != level_columns(second) or not columns:
        raise DataError(f"{what}: the two forecasts' levels differ ({len(columns)} and {len(level_columns(second))})")
    merged = first.merge(second[[*KEYS, "actual", *columns]], on=KEYS, suffixes=("", "_b"), validate="one_to_one")
    if merged.empty:
        raise DataError(f"{what}: the two forecasts share no station and hour")
    same = np.isclose(merged["actual"], merged["actual_b"], atol=1e-6) | merged[["actual", "actual_b"]].isna().all(1)
    if not same.all():
        raise DataError(f"{what}: the two tables' actuals differ at {int((~same).sum())} hours")
    a = merged[columns].to_numpy(np.float64)
    b = merged[[f"{c}_b" for c in columns]].to_numpy(np.float64)
    return merged[first.columns], a, b


def quantile_average(first: Array, second: Array, weight: float) -> Array:
    """weight · first + (1 − weight) · second, level by level (monotone and ≥ 0 when both are)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"a combination weight must lie in [0, 1], got {weight}")
    return weight * first + (1 - weight) * second


def scores(forecast: Array, actual: Array, levels: Array) -> dict[str, float]:
    """Mean pinball loss over the present hours and every level; the worst level's |observed − nominal|
    share on producing hours (``reliability_gap``, as the task's metric reads it)."""
    present = np.isfinite(actual)
    values, target = forecast[present], actual[present][:, None]
    error = target - values
    pinball = float(np.where(error > 0, levels * error, (levels - 1) * error).mean())
    producing = target[:, 0] > 0
    gap = float(np.abs(coverage(values[producing], target[producing, 0]) - levels).max()) if producing.any() else 0.0
    return {"pinball": pinball, "reliability_gap": gap}


def weight_scores(
    first: Array, second: Array, actual: Array, levels: Array, grid: Sequence[float]
) -> dict[float, float]:
    """The validation pinball loss of each weight of the grid (weight on ``first``)."""
    return {float(w): scores(quantile_average(first, second, w), actual, levels)["pinball"] for w in grid}


def recalibrate(fit: Array, fit_actual: Array, forecast: Array, levels: Array) -> Array:
    """``forecast`` with each nominal level read where ``fit``'s levels reach that coverage on the fit rows'
    producing hours (``calibration.recalibrated_levels``); levels stay monotone and ≥ 0."""
    present = np.isfinite(fit_actual) & (np.nan_to_num(fit_actual) > 0)
    if not present.any():
        raise DataError("recalibration: the fitting window has no producing hour")
    read = recalibrated_levels(coverage(fit[present], fit_actual[present]), levels, levels)
    return interpolate_levels(forecast, levels, read)
