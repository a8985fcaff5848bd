"""Forecasting baselines: persistence, climatology and NWP regression, estimated on the training period.

All return forecasts [B, horizon] (or [B, horizon, quantiles] when the spec asks for quantiles) in
the (transformed) target space, never negative. Quantile versions: climatology takes the empirical
quantiles of each station × month × hour cell; persistence and NWP regression add the empirical
quantiles of their own training-period errors per station and hour of day to their point forecast.
"""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor
from typing_extensions import override

from nie.core.baseline import Baseline
from nie.core.errors import ConfigError
from nie.forecasting.spec import PowerBatch, PowerSpec, PowerTrainingData, forward_target


def training_data(datamodule: pl.LightningDataModule, baseline: object) -> PowerTrainingData:
    """The datamodule as the training data of a power baseline, or a clear error for another kind of data."""
    if not isinstance(datamodule, PowerTrainingData):
        raise ConfigError(
            f"the {type(baseline).__name__} baseline needs power data (training_arrays and training_windows), "
            f"got {type(datamodule).__name__}"
        )
    return datamodule


class _PowerBaseline(Baseline):
    """A point forecast in original units (``point``), turned into quantiles by its training errors."""

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__()
        self.transform = spec.target_transform
        self.levels = tuple(spec.quantiles)
        self.register_buffer("error_quantiles", torch.zeros(spec.num_stations, 24, len(self.levels)))

    def point(self, batch: PowerBatch) -> Tensor:
        """[B, H] forecast in original units."""
        raise NotImplementedError

    def fit_point(self, data: PowerTrainingData) -> None:
        """Estimate the point forecast from the training period (nothing by default)."""

    @override
    def fit(self, datamodule: pl.LightningDataModule) -> None:
        data = training_data(datamodule, self)
        self.fit_point(data)
        if self.levels:
            self.fit_error_quantiles(data)

    def fit_error_quantiles(self, data: PowerTrainingData) -> None:
        """Quantiles of (actual − point forecast) over the training windows, per station and hour of day."""
        errors, stations, hours = [], [], []
        for batch in data.training_windows():
            present = batch.mask
            errors.append((batch.raw_target - self.point(batch))[present])
            stations.append(batch.station.unsqueeze(1).expand_as(present)[present])
            hours.append(batch.hour[present])
        error, station, hour = (torch.cat(parts).numpy() for parts in (errors, stations, hours))
        table = np.zeros(tuple(self.error_quantiles.shape))
        for s, h in set(zip(station.tolist(), hour.tolist())):
            table[s, h] = np.quantile(error[(station == s) & (hour == h)], self.levels)
        self.error_quantiles.copy_(torch.from_numpy(table))

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        raw = self.point(batch)
        if self.levels:
            raw = raw.unsqueeze(-1) + self.error_quantiles[batch.station.unsqueeze(1), batch.hour]
        forecast: Tensor = forward_target(raw.clamp_min(0), self.transform)
        return forecast


class Persistence(_PowerBaseline):
    """The same hour of the previous day."""

    name = "persistence"

    @override
    def point(self, batch: PowerBatch) -> Tensor:
        return batch.persistence


class Climatology(_PowerBaseline):
    """Mean training power per station, month and hour of day (quantiles: that cell's empirical ones)."""

    name = "climatology"

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__(spec)
        self.register_buffer("table", torch.zeros(spec.num_stations, 12, 24))
        self.register_buffer("quantile_table", torch.zeros(spec.num_stations, 12, 24, len(self.levels)))

    @override
    def fit(self, datamodule: pl.LightningDataModule) -> None:
        arrays, times, train_end = training_data(datamodule, self).training_arrays()
        for s, (a, t) in enumerate(zip(arrays, times)):
            train = np.asarray(t < train_end) & np.isfinite(a.raw_target)
            sums = np.zeros((12, 24))
            counts = np.zeros((12, 24))
            np.add.at(sums, (a.month[train], a.hour[train]), a.raw_target[train])
            np.add.at(counts, (a.month[train], a.hour[train]), 1)
            overall = a.raw_target[train].mean()
            self.table[s] = torch.from_numpy(np.where(counts > 0, sums / np.maximum(counts, 1), overall))
            if self.levels:
                self.quantile_table[s] = torch.from_numpy(
                    _cell_quantiles(a.raw_target[train], a.month[train], a.hour[train], self.levels)
                )

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        cell = (batch.station.unsqueeze(1), batch.month, batch.hour)
        raw = self.quantile_table[cell] if self.levels else self.table[cell]
        forecast: Tensor = forward_target(raw.clamp_min(0), self.transform)
        return forecast


def _cell_quantiles(
    values: npt.NDArray[np.float64], month: npt.NDArray[np.int8], hour: npt.NDArray[np.int8], levels: tuple[float, ...]
) -> npt.NDArray[np.float64]:
    """[12, 24, Q] empirical quantiles of ``values`` per month × hour (the station's overall ones for an empty cell)."""
    table = np.broadcast_to(np.quantile(values, levels), (12, 24, len(levels))).copy()
    for m, h in set(zip(month.tolist(), hour.tolist())):
        table[m, h] = np.quantile(values[(month == m) & (hour == h)], levels)
    return table


class NWPRegression(_PowerBaseline):
    """Per-station least squares of power on the forecast hour's known covariates (de-accumulated
    NWP, scaled) and calendar terms."""

    name = "nwp_regression"

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__(spec)
        self.register_buffer("weights", torch.zeros(spec.num_stations, spec.future_dim + 1))

    @override
    def fit_point(self, data: PowerTrainingData) -> None:
        arrays, times, train_end = data.training_arrays()
        for s, (a, t) in enumerate(zip(arrays, times)):
            rows = np.asarray(t < train_end) & np.isfinite(a.raw_target) & a.known_ok
            design = np.concatenate([a.future[rows], np.ones((rows.sum(), 1))], axis=1)
            solution, *_ = np.linalg.lstsq(design.astype(np.float64), a.raw_target[rows], rcond=None)
            self.weights[s] = torch.from_numpy(solution)

    @override
    def point(self, batch: PowerBatch) -> Tensor:
        w = self.weights[batch.station]
        point: Tensor = (batch.future * w[:, None, :-1]).sum(-1) + w[:, None, -1]
        return point
