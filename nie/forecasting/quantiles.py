"""Quantile forecasts: the pinball loss, a non-crossing output transform, and their scores.

A quantile forecast is [B, H, Q] over increasing ``levels`` (e.g. the deciles 0.1 ... 0.9).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def check_levels(levels: Sequence[float]) -> None:
    """Quantile levels must be strictly increasing inside (0, 1)."""
    values = list(levels)
    if not values or any(not 0 < q < 1 for q in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"quantiles must be strictly increasing values in (0, 1), got {values}")


def non_crossing(raw: Tensor) -> Tensor:
    """[..., Q] unconstrained outputs to quantiles that are ≥ 0 and never cross: a ReLU base for the
    lowest level plus Softplus increments for each next one. The base can reach exactly 0: night-time
    power is a point mass at zero, which a strictly positive lowest quantile would never cover."""
    base = torch.relu(raw[..., :1])
    return torch.cat([base, base + torch.cumsum(torch.nn.functional.softplus(raw[..., 1:]), dim=-1)], dim=-1)


def pinball(pred: Tensor, target: Tensor, levels: Tensor) -> Tensor:
    """Elementwise pinball (quantile) loss [..., Q] of quantiles ``pred`` [..., Q] for ``target`` [...]."""
    diff = target.unsqueeze(-1) - pred
    return torch.maximum(levels * diff, (levels - 1) * diff)


def pinball_loss(pred: Tensor, target: Tensor, mask: Tensor, levels: Tensor) -> Tensor:
    """Mean pinball loss over the present targets (``mask`` [B, H]) and all levels."""
    losses = pinball(pred, torch.nan_to_num(target), levels) * mask.unsqueeze(-1)
    return losses.sum() / (mask.sum() * len(levels)).clamp_min(1)


def at_level(pred: Tensor, levels: Tensor, level: float) -> Tensor:
    """The forecast at ``level`` [...]: that level's own column when it is one, else linearly
    interpolated between the two nearest levels (clamped to the outermost ones outside their range)."""
    if level <= levels[0]:
        return pred[..., 0]
    if level >= levels[-1]:
        return pred[..., -1]
    upper = int(torch.searchsorted(levels, torch.tensor(level, dtype=levels.dtype, device=levels.device), right=True))
    lo, hi = levels[upper - 1], levels[upper]
    weight = (level - lo) / (hi - lo)
    return pred[..., upper - 1] + weight * (pred[..., upper] - pred[..., upper - 1])


class QuantileScores(Metric):
    """Mean pinball loss, CRPS ≈ 2 × mean pinball over the levels, and coverage and width of the
    central ``interval`` (e.g. 80 %: between the 0.1 and 0.9 quantiles), per station and overall.

    The CRPS approximation is the quantile-score average that GEFCom2014 used; it is closest to the
    exact CRPS with many evenly spaced levels (``[0.01, ..., 0.99]``).
    """

    full_state_update = False
    higher_is_better = False

    def __init__(self, station_names: Sequence[str], levels: Sequence[float], interval: float = 0.8) -> None:
        super().__init__()
        check_levels(levels)
        self.station_names = list(station_names)
        self.register_buffer("levels", torch.tensor(list(levels), dtype=torch.float64), persistent=False)
        self.interval = interval
        n = len(self.station_names)
        for name in ("pinball_sum", "covered", "width_sum", "count"):
            self.add_state(name, default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor, mask: Tensor, station: Tensor) -> None:
        """``pred`` [B, H, Q] and ``target`` [B, H] in original units; ``mask`` [B, H] targets present."""
        m, index = mask.double(), station.long()
        pred, target = pred.double(), torch.nan_to_num(target.double())
        per_element = pinball(pred, target, self.levels).mean(-1)
        low = at_level(pred, self.levels, (1 - self.interval) / 2)
        high = at_level(pred, self.levels, (1 + self.interval) / 2)
        inside = ((target >= low) & (target <= high)).double()
        self.pinball_sum.index_add_(0, index, (per_element * m).sum(1))
        self.covered.index_add_(0, index, (inside * m).sum(1))
        self.width_sum.index_add_(0, index, ((high - low) * m).sum(1))
        self.count.index_add_(0, index, m.sum(1))

    def _scores(self, pinball_sum: Tensor, covered: Tensor, width: Tensor, count: Tensor) -> dict[str, Tensor]:
        n = count.clamp_min(1)
        percent = round(self.interval * 100)
        return {
            "pinball": pinball_sum / n,
            "crps": 2 * pinball_sum / n,
            f"coverage_{percent}": covered / n,
            f"width_{percent}": width / n,
        }

    def compute(self) -> dict[str, Tensor]:
        overall = self._scores(self.pinball_sum.sum(), self.covered.sum(), self.width_sum.sum(), self.count.sum())
        results = {k: v.float() for k, v in overall.items()}
        per_station = self._scores(self.pinball_sum, self.covered, self.width_sum, self.count)
        for i, name in enumerate(self.station_names):
            if self.count[i] > 0:
                results.update({f"station_{name}/{k}": v[i].float() for k, v in per_station.items()})
        return results
