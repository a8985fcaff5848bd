"""Quantile levels read between trained ones, and their recalibration on validation data.

Why: a quantile model is trained at a few levels (each level is a model), the score asks for many;
and a model's level τ forecast rarely covers a share τ of outcomes. Recalibration (Kuleshov et al.
2018, "Accurate uncertainties for deep learning using calibrated regression") measures on held-out
data which share each trained level covers, then answers a nominal level τ with the level whose
measured coverage is τ. Fitted on an origin's validation window only; the test never reaches it.
"""

from __future__ import annotations

import numpy as np


def rearrange(values: np.ndarray) -> np.ndarray:
    """Levels made monotone by sorting each row (Chernozhukov et al. 2010's rearrangement)."""
    return np.sort(values, axis=-1)


def interpolate_levels(values: np.ndarray, trained: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """[N, K] forecasts at increasing ``trained`` levels to [N, Q] at ``wanted`` levels, linear in the
    level between trained ones and flat beyond the first and last (no extrapolation)."""
    position = np.interp(wanted, trained, np.arange(len(trained), dtype=np.float64))
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(trained) - 1)
    weight = position - low
    return values[:, low] * (1 - weight) + values[:, high] * weight


def coverage(values: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """[K] share of ``actual`` at or below each level's forecast; non-decreasing when rows are sorted."""
    return (actual[:, None] <= values).mean(axis=0)


def recalibrated_levels(measured: np.ndarray, trained: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The trained-scale level to read for each nominal ``wanted`` level: where the measured coverage
    (made strictly increasing; ties keep their order) reaches it, clipped to the trained range."""
    strictly = np.maximum.accumulate(measured) + np.arange(len(measured)) * 1e-9
    return np.interp(wanted, strictly, trained)
