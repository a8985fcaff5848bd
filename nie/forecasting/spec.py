"""What a forecasting network needs to know about the data before it sees a batch (the data→model contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
import torch

TargetTransform = Literal["none", "log1p"]


def forward_target(values: np.ndarray | torch.Tensor, transform: TargetTransform) -> np.ndarray | torch.Tensor:
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
