"""Quantile levels read between trained ones, and their recalibration on validation data.

Why: a quantile model is trained at a few levels (each level is a model), the score asks for many;
and a model's level τ forecast rarely covers a share τ of outcomes. Recalibration (Kuleshov et al.
2018, "Accurate uncertainties for deep learning using calibrated regression") measures on held-out
data which share each trained level covers, then answers a nominal level τ with the level whose
measured coverage is τ. Fitted on an origin's validation window only; the test never reaches it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def interpolate_levels(
    values: npt.NDArray[np.float64], trained: npt.NDArray[np.float64], wanted: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """[N, K] forecasts at increasing ``trained`` levels to [N, Q] at ``wanted`` levels, linear in the
    level between trained ones and flat beyond the first and last (no extrapolation)."""
    position = np.interp(wanted, trained, np.arange(len(trained), dtype=np.float64))
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(trained) - 1)
    weight = position - low
    interpolated: npt.NDArray[np.float64] = values[:, low] * (1 - weight) + values[:, high] * weight
    return interpolated


def coverage(values: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """[K] share of ``actual`` at or below each level's forecast; non-decreasing when rows are sorted."""
    shares: npt.NDArray[np.float64] = (actual[:, None] <= values).mean(axis=0)
    return shares


def recalibrated_levels(
    measured: npt.NDArray[np.float64], trained: npt.NDArray[np.float64], wanted: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The trained-scale level to read for each nominal ``wanted`` level: where the measured coverage
    (made strictly increasing; ties keep their order) reaches it, clipped to the trained range."""
    strictly = np.maximum.accumulate(measured) + np.arange(len(measured)) * 1e-9
    return np.interp(wanted, strictly, trained)
