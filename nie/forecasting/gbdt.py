"""LightGBM quantile regression as a power forecaster: the field's model class, fitted like a baseline.

Why: gradient boosting on the hour's NWP, its neighbouring hours and the sun's position is what won
GEFCom2014 and what a user comparing forecasters tries first. Each hour is one row (the datamodule's
known covariates of that hour: de-accumulated NWP, neighbouring hours, calendar and solar geometry,
plus the station and the hour of day); one model per trained level; forecasts at other levels are
read linearly between trained ones (``calibration.interpolate_levels``), rows are sorted so levels
never cross, and floored at 0. Hours the datamodule's daylight rule marks as night are neither
trained on nor predicted (the task fixes them at 0). Optional recalibration of the levels on the
validation window (``calibration: levels``). Needs the ``gbdt`` extra (``pip install -e ".[gbdt]"``).
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, Optional, Protocol, runtime_checkable

import lightning.pytorch as pl
import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor
from typing_extensions import override

from nie.core.baseline import Baseline
from nie.core.errors import ConfigError
from nie.forecasting.baselines import training_data
from nie.forecasting.calibration import coverage, interpolate_levels, recalibrated_levels
from nie.forecasting.quantiles import check_levels
from nie.forecasting.spec import PowerBatch, PowerSpec, StationArrays, forward_target


@runtime_checkable
class PowerValidationData(Protocol):
    """The validation window of the data, with every other target hidden (what recalibration may read)."""

    def validation_arrays(self) -> tuple[list[StationArrays], list[pd.DatetimeIndex]]: ...


def lightgbm() -> Any:
    """The lightgbm module, or one line naming the extra that installs it."""
    try:
        return importlib.import_module("lightgbm")
    except ImportError:
        raise ConfigError(
            'LightGBMQuantiles needs lightgbm, which is not installed: pip install -e ".[gbdt]"'
        ) from None


def hour_rows(
    arrays: list[StationArrays], keep: list[npt.NDArray[np.bool_]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Features [N, F + 2] (known covariates, station, hour of day) and raw targets [N] of the kept hours."""
    features = [
        np.column_stack([a.future[rows], np.full(rows.sum(), s), a.hour[rows]])
        for s, (a, rows) in enumerate(zip(arrays, keep))
    ]
    targets = [a.raw_target[rows] for a, rows in zip(arrays, keep)]
    return np.concatenate(features).astype(np.float32), np.concatenate(targets)


class LightGBMQuantiles(Baseline):
    """One LightGBM quantile model per trained level, fitted on the training period's daylight hours.

    Args:
        trained_levels: the levels a model is fitted for (default: the task's levels, one model each);
            the task's levels in between are read linearly, those beyond flat.
        n_estimators, learning_rate, num_leaves, min_child_samples, feature_fraction, lambda_l2:
            LightGBM's boosting settings.
        calibration: ``none``, or ``levels``: each nominal level reads the trained-scale level whose
            measured coverage on the validation window's producing hours (power > 0, where the
            reliability gap is read) equals it.
        num_threads, seed: LightGBM's threads and seed (runs are deterministic for both fixed).
    """

    name = "lightgbm"

    def __init__(
        self,
        spec: PowerSpec,
        trained_levels: Optional[list[float]] = None,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        feature_fraction: float = 0.9,
        lambda_l2: float = 0.0,
        calibration: Literal["none", "levels"] = "none",
        num_threads: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        lightgbm()
        self.transform = spec.target_transform
        self.quantiles = bool(spec.quantiles)  # else a point forecast: the median
        self.levels = np.asarray(spec.quantiles or (0.5,), dtype=np.float64)
        self.trained = np.asarray(trained_levels if trained_levels is not None else self.levels, dtype=np.float64)
        try:
            check_levels(list(self.trained))
        except ValueError as err:
            raise ConfigError(f"LightGBMQuantiles trained_levels: {err}") from None
        if calibration not in ("none", "levels"):
            raise ConfigError(f"LightGBMQuantiles calibration: expected none or levels, got {calibration!r}")
        self.calibration = calibration
        self.params = {
            "objective": "quantile", "learning_rate": learning_rate, "num_leaves": num_leaves,
            "min_child_samples": min_child_samples, "feature_fraction": feature_fraction, "lambda_l2": lambda_l2,
            "num_threads": num_threads, "seed": seed, "deterministic": True, "force_row_wise": True, "verbose": -1,
        }  # fmt: skip
        self.n_estimators = n_estimators
        self.boosters: list[Any] = []
        self.read_levels = self.levels.copy()  # where each task level is read on the trained scale

    @override
    def fit(self, datamodule: pl.LightningDataModule) -> None:
        data = training_data(datamodule, self)
        arrays, times, train_end = data.training_arrays()
        keep = [
            np.asarray(t < train_end) & np.isfinite(a.raw_target) & a.known_ok & a.daylight
            for a, t in zip(arrays, times)
        ]
        features, target = hour_rows(arrays, keep)
        if len(target) == 0:
            raise ConfigError("LightGBMQuantiles: the training period has no daylight hour with a target")
        lgb = lightgbm()
        self.boosters = []
        for level in self.trained:
            dataset = lgb.Dataset(features, target, categorical_feature=[features.shape[1] - 2], free_raw_data=False)
            self.boosters.append(lgb.train({**self.params, "alpha": float(level)}, dataset, self.n_estimators))
        self.read_levels = self.levels.copy()
        if self.calibration == "levels":
            self.read_levels = self.fit_recalibration(datamodule)

    def fit_recalibration(self, datamodule: pl.LightningDataModule) -> npt.NDArray[np.float64]:
        """The levels to read, from the coverage each trained level reaches on the validation window."""
        if not isinstance(datamodule, PowerValidationData):
            raise ConfigError(
                f"calibration: levels needs validation_arrays() from the data, not {type(datamodule).__name__}"
            )
        arrays, _ = datamodule.validation_arrays()
        keep = [(np.nan_to_num(a.raw_target) > 0) & a.known_ok & a.daylight for a in arrays]  # producing hours
        features, actual = hour_rows(arrays, keep)
        if len(actual) == 0:
            raise ConfigError("calibration: levels: the validation window has no producing hour")
        return recalibrated_levels(coverage(self.trained_forecast(features), actual), self.trained, self.levels)

    def trained_forecast(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """[N, K] forecasts at the trained levels, sorted per row so levels never cross (Chernozhukov et al.
        2010's rearrangement)."""
        forecasts = [b.predict(features, num_threads=self.params["num_threads"]) for b in self.boosters]
        return np.sort(np.stack(forecasts, 1), axis=-1)

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        if not self.boosters:
            raise RuntimeError(
                "LightGBMQuantiles is fitted at the start of training (train.py fit) or read from its checkpoint"
            )
        size = batch.daylight.shape
        rows = batch.daylight.reshape(-1).cpu().numpy()
        station = batch.station.unsqueeze(1).expand(size).reshape(-1, 1)
        hour = batch.hour.reshape(-1, 1)
        features = torch.cat([batch.future.reshape(rows.size, -1), station.float(), hour.float()], 1).cpu().numpy()
        values = np.zeros((rows.size, len(self.levels)), dtype=np.float32)
        if rows.any():
            trained = self.trained_forecast(features[rows])
            values[rows] = np.clip(interpolate_levels(trained, self.trained, self.read_levels), 0, None)
        out = torch.from_numpy(values).to(batch.future.device).reshape(*size, len(self.levels))
        return forward_target(out if self.quantiles else out[..., 0], self.transform)

    @override
    def get_extra_state(self) -> dict[str, Any]:
        """The boosters as LightGBM's text and the levels read, so checkpoints carry the fitted models."""
        return {"boosters": [b.model_to_string() for b in self.boosters], "read_levels": self.read_levels.tolist()}

    @override
    def set_extra_state(self, state: dict[str, Any]) -> None:
        lgb = lightgbm()
        self.boosters = [lgb.Booster(model_str=text) for text in state["boosters"]]
        self.read_levels = np.asarray(state["read_levels"], dtype=np.float64)
