"""The data→model contract of power forecasting: what a network needs to know about the data before it
sees a batch (``PowerSpec``), what a step receives (``PowerBatch``), the per-station arrays baselines
are estimated from (``StationArrays``), and what the task and the baselines ask of a datamodule
(``PowerData``, ``PowerTrainingData``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable, Iterator, Literal, Optional, Protocol, overload, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor, nn

TargetTransform = Literal["none", "log1p"]


@overload
def forward_target(values: Tensor, transform: TargetTransform) -> Tensor: ...


@overload
def forward_target(values: npt.NDArray[np.float64], transform: TargetTransform) -> npt.NDArray[np.float64]: ...


def forward_target(
    values: npt.NDArray[np.float64] | Tensor, transform: TargetTransform
) -> npt.NDArray[np.float64] | Tensor:
    """Power to the space the network is trained in."""
    if transform == "log1p":
        return torch.log1p(values) if isinstance(values, torch.Tensor) else np.log1p(values)
    return values


def inverse_target(values: torch.Tensor, transform: TargetTransform) -> torch.Tensor:
    """Exact inverse (``expm1``, not ``exp``) of the target transform."""
    return torch.expm1(values) if transform == "log1p" else values


@dataclass(frozen=True)
class PowerSpec:
    """Sizes, station names and the target transform of a set of station series.

    ``static`` holds each station's standardised static values ([stations][columns], possibly no
    columns); ``capacities`` the nominal capacity per station, for capacity-normalised errors.
    ``quantiles``: the levels a network forecasts ([B, H, Q] outputs), empty for point forecasts
    ([B, H]); the task sets them from its loss.
    """

    num_stations: int
    history_dim: int
    future_dim: int
    horizon: int
    target_transform: TargetTransform = "none"
    station_names: list[str] = field(default_factory=list)
    static: list[list[float]] = field(default_factory=list)
    capacities: Optional[list[float]] = None
    quantiles: tuple[float, ...] = ()

    def to_power(self, forecast: torch.Tensor) -> torch.Tensor:
        """A network's output back in power units, never negative."""
        return inverse_target(forecast, self.target_transform).clamp_min(0)


ForecasterFactory = Callable[[PowerSpec], nn.Module]
"""What a config's ``network:`` gives the task: the network's class and arguments, built from the data's spec."""


@dataclass
class PowerBatch:
    """B forecast windows: L = ``seq_len`` history hours, then H = ``horizon`` forecast hours.

    Inputs are scaled; ``target`` is in the network's (transformed) space, ``raw_target`` and
    ``persistence`` in original units, all three 0 where the target is missing (``mask`` False).
    ``station`` indexes ``PowerSpec.station_names``; ``index`` is each window's position in its
    split's dataset (predictions are mapped back to times through it).

    Every field is a tensor, so Lightning moves a batch to the device by itself (its
    ``apply_to_collection`` rebuilds dataclasses field by field; it refuses frozen ones, hence
    not frozen); ``to`` does the same by hand.
    """

    history: Tensor  # [B, L, F_h] float32: scaled target, observed flag, covariates, calendar terms
    future: Tensor  # [B, H, F_k] float32: scaled known covariates (NWP) and calendar terms
    target: Tensor  # [B, H] float32: transformed target
    raw_target: Tensor  # [B, H] float32: target in original units
    persistence: Tensor  # [B, H] float32: the same hour of the latest day before the issue time
    month: Tensor  # [B, H] int64, 0..11
    hour: Tensor  # [B, H] int64, 0..23
    mask: Tensor  # [B, H] bool: target present
    station: Tensor  # [B] int64
    index: Tensor  # [B] int64
    daylight: Tensor  # [B, H] bool: the data's daylight rule lets the hour produce (all True without one)

    def __len__(self) -> int:
        """The number of windows."""
        return int(self.index.shape[0])

    def to(self, device: torch.device | str) -> PowerBatch:
        return PowerBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass
class StationArrays:
    """Model-ready arrays of one station, all [T, ...] on the same time grid."""

    history: npt.NDArray[np.float64]  # [T, F_h] scaled target + observed flag + past and known covariates + calendar
    future: npt.NDArray[np.float64]  # [T, F_k] scaled known covariates + calendar
    target: npt.NDArray[np.float64]  # [T] transformed target (NaN where missing)
    raw_target: npt.NDArray[np.float64]  # [T] target in original units (NaN where missing)
    month: npt.NDArray[np.int8]  # [T] int8 0..11
    hour: npt.NDArray[np.int8]  # [T] int8 0..23
    known_ok: npt.NDArray[np.bool_]  # [T] bool: every known covariate present
    daylight: npt.NDArray[np.bool_]  # [T] bool: the sun is up by the data's daylight rule (forecasts elsewhere are 0)


@runtime_checkable
class PowerTrainingData(Protocol):
    """The training part of the data, all a baseline's ``fit`` may read."""

    def training_arrays(self) -> tuple[list[StationArrays], list[pd.DatetimeIndex], pd.Timestamp]:
        """Per-station arrays, their times and the end of the training period."""
        ...

    def training_windows(self, batch_size: int = 2048) -> Iterator[PowerBatch]:
        """The training windows in order, a batch at a time."""
        ...


class PowerData(PowerTrainingData, Protocol):
    """What the forecasting task asks of its datamodule."""

    @property
    def spec(self) -> PowerSpec: ...

    def forecast_table(self, stage: str, outputs: list[dict[str, Tensor]]) -> pd.DataFrame:
        """One row per forecast hour of the step outputs (``index``, ``forecast``, ``quantiles``, ``levels``)."""
        ...
