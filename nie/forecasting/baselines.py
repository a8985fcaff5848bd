"""Forecasting baselines: persistence, climatology and NWP regression, estimated on the training period.

All return forecasts [B, horizon] in the (transformed) target space, never negative.
"""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor

from nie.core.baseline import Baseline
from nie.forecasting.spec import PowerSpec, forward_target


class _PowerBaseline(Baseline):
    """Forecasts from the training period's statistics, in the target space like the LSTM's."""

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__()
        self.transform = spec.target_transform

    def _out(self, raw: Tensor) -> Tensor:
        return forward_target(raw.clamp_min(0), self.transform)


class Persistence(_PowerBaseline):
    """The same hour of the previous day."""

    name = "persistence"

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self._out(batch["persistence"])


class Climatology(_PowerBaseline):
    """Mean training power per station, month and hour of day."""

    name = "climatology"

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__(spec)
        self.register_buffer("table", torch.zeros(spec.num_stations, 12, 24))

    def fit(self, datamodule: pl.LightningDataModule) -> None:
        arrays, times, train_end = datamodule.training_arrays()
        for s, (a, t) in enumerate(zip(arrays, times)):
            train = np.asarray(t < train_end) & np.isfinite(a.raw_target)
            sums = np.zeros((12, 24))
            counts = np.zeros((12, 24))
            np.add.at(sums, (a.month[train], a.hour[train]), a.raw_target[train])
            np.add.at(counts, (a.month[train], a.hour[train]), 1)
            overall = a.raw_target[train].mean()
            self.table[s] = torch.from_numpy(np.where(counts > 0, sums / np.maximum(counts, 1), overall))

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self._out(self.table[batch["station"].unsqueeze(1), batch["month"], batch["hour"]])


class NWPRegression(_PowerBaseline):
    """Per-station least squares of power on the forecast hour's known covariates (de-accumulated
    NWP, scaled) and calendar terms."""

    name = "nwp_regression"

    def __init__(self, spec: PowerSpec) -> None:
        super().__init__(spec)
        self.register_buffer("weights", torch.zeros(spec.num_stations, spec.future_dim + 1))

    def fit(self, datamodule: pl.LightningDataModule) -> None:
        arrays, times, train_end = datamodule.training_arrays()
        for s, (a, t) in enumerate(zip(arrays, times)):
            rows = np.asarray(t < train_end) & np.isfinite(a.raw_target) & a.known_ok
            design = np.concatenate([a.future[rows], np.ones((rows.sum(), 1))], axis=1)
            solution, *_ = np.linalg.lstsq(design.astype(np.float64), a.raw_target[rows], rcond=None)
            self.weights[s] = torch.from_numpy(solution)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        w = self.weights[batch["station"]]
        raw = (batch["future"] * w[:, None, :-1]).sum(-1) + w[:, None, -1]
        return self._out(raw)
