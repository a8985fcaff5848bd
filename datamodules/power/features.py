"""Feature transforms: de-accumulation, cyclic calendar terms, train-period scalers."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd


def deaccumulate(values: npt.NDArray[np.float64], times: pd.DatetimeIndex, reset_hour: int) -> npt.NDArray[np.float64]:
    """Hourly increments of fields accumulated over forecast runs that restart at ``reset_hour``.

    The first row of a run keeps its value; every other row is the difference to the previous
    hour. A row whose previous hour is missing (NaN) becomes NaN rather than a wrong difference.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    out[1:] = values[1:] - values[:-1]
    starts = np.asarray(times.hour == reset_hour)
    out[starts] = values[starts]
    if not starts[0]:
        out[0] = np.nan  # the series starts mid-run: its first increment is unknown
    return out


def cyclic_features(times: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """sin/cos of hour of day and day of year, [T, 4]."""
    hour = 2 * np.pi * np.asarray(times.hour + times.minute / 60) / 24
    day = 2 * np.pi * np.asarray(times.dayofyear - 1) / 365.25
    return np.stack([np.sin(hour), np.cos(hour), np.sin(day), np.cos(day)], axis=1)


def fit_scaler(values: npt.NDArray[np.float64]) -> tuple[list[float], list[float]]:
    """Column mean and std ignoring NaN (std 1 for constant columns), as plain lists for checkpoints."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
    return np.nan_to_num(mean).tolist(), np.where(np.isfinite(std) & (std > 1e-8), std, 1.0).tolist()
