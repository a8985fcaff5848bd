"""Forecast errors per station and overall, in original units, with skill against persistence.

Sums per station are the metric state, so DDP reduction is exact (no gathered copies). A ratio whose
denominator is 0 (skill where persistence is exact, e.g. a station whose power is all 0; a normalised
error of a station with capacity 0) is NaN, with one warning per metric that counts the stations:
never a huge number that would swamp a mean over stations or origins.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torchmetrics import Metric
from typing_extensions import override


def ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator``, NaN where the denominator is 0 (the ratio is undefined there)."""
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1e-300), torch.nan)


class ForecastErrors(Metric):
    """MAE, RMSE, skill = 1 - RMSE/RMSE_persistence, and capacity-normalised MAE/RMSE when known."""

    full_state_update = False
    higher_is_better = False

    def __init__(self, station_names: Sequence[str], capacities: Optional[Tensor] = None) -> None:
        super().__init__()
        self.station_names = list(station_names)
        n = len(self.station_names)
        for name in ("abs_error", "sq_error", "sq_error_persistence", "count"):
            self.add_state(name, default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.register_buffer("capacities", capacities if capacities is not None else torch.zeros(0), persistent=False)
        self.warned = False  # the undefined ratios are the data's (persistence, capacity): say so once

    @override
    def update(self, pred: Tensor, target: Tensor, mask: Tensor, persistence: Tensor, station: Tensor) -> None:
        """``pred``, ``target``, ``persistence``: [B, H] original units; ``mask``: [B, H] targets present."""
        m = mask.double()
        index = station.long()
        error = (pred.double() - target.double()) * m
        self.abs_error.index_add_(0, index, error.abs().sum(1))
        self.sq_error.index_add_(0, index, (error**2).sum(1))
        self.sq_error_persistence.index_add_(0, index, (((persistence.double() - target.double()) * m) ** 2).sum(1))
        self.count.index_add_(0, index, m.sum(1))

    @staticmethod
    def _scores(
        abs_error: Tensor, sq: Tensor, sq_persistence: Tensor, count: Tensor, capacity: Optional[Tensor]
    ) -> dict[str, Tensor]:
        n = count.clamp_min(1)
        rmse = (sq / n).sqrt()
        scores = {"mae": abs_error / n, "rmse": rmse, "skill": 1 - ratio(rmse, (sq_persistence / n).sqrt())}
        if capacity is not None:
            scores.update(nmae=ratio(scores["mae"], capacity), nrmse=ratio(rmse, capacity))
        return scores

    def _warn_undefined(self, per_station: dict[str, Tensor], seen: Tensor) -> None:
        """One warning per metric (the first compute) counting the stations each ratio is undefined for."""
        if self.warned:
            return
        reasons = {"skill": "persistence is exact (RMSE 0, e.g. power always 0)", "nmae": "the capacity is 0"}
        for name, reason in reasons.items():
            undefined = [
                s for i, s in enumerate(self.station_names) if seen[i] and per_station.get(name, seen)[i].isnan()
            ]
            if undefined:
                self.warned = True
                listed = ", ".join(undefined[:5]) + (", ..." if len(undefined) > 5 else "")
                rank_zero_warn(
                    f"{name} is NaN for {len(undefined)} of {int(seen.sum())} stations, where {reason} and the ratio "
                    f"is undefined (stations {listed})"
                )

    @override
    def compute(self) -> dict[str, Tensor]:
        seen = self.count > 0
        capacity = self.capacities if self.capacities.numel() else None
        per_station = self._scores(self.abs_error, self.sq_error, self.sq_error_persistence, self.count, capacity)
        overall_capacity = (
            None if capacity is None else (capacity[seen] * self.count[seen]).sum() / self.count[seen].sum()
        )
        abs_error, sq, sq_persistence, count = (
            s.sum() for s in (self.abs_error, self.sq_error, self.sq_error_persistence, self.count)
        )
        overall = self._scores(abs_error, sq, sq_persistence, count, overall_capacity)
        self._warn_undefined(per_station, seen)
        results = {k: v.float() for k, v in overall.items()}
        for i, name in enumerate(self.station_names):
            if seen[i]:
                results.update({f"station_{name}/{k}": v[i].float() for k, v in per_station.items()})
        return results
