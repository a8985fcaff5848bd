"""Quantile forecasts: the pinball loss, a non-crossing output transform, and their scores.

A quantile forecast is [B, H, Q] over increasing ``levels`` (e.g. the deciles 0.1 ... 0.9).
"""

from __future__ import annotations

from typing import Any, Sequence, cast

import torch
from torch import Tensor
from torchmetrics import Metric
from typing_extensions import override

DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_SAME_LEVEL = 1e-6  # equal up to float rounding: 1 - 0.9 != 0.1, and levels may have been float32


def check_levels(levels: Sequence[float]) -> None:
    """Quantile levels must be strictly increasing inside (0, 1)."""
    values = list(levels)
    if not values or any(not 0 < q < 1 for q in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"quantiles must be strictly increasing values in (0, 1), got {values}")


class _FloorAtZero(torch.autograd.Function):
    """max(c, 0) whose backward, at a level clamped at 0, still lets through a gradient that would raise
    it (a target above it, under the pinball loss) and blocks one that would push it further below."""

    @override
    @staticmethod
    def forward(ctx: Any, cumulative: Tensor) -> Tensor:
        ctx.save_for_backward(cumulative)
        return cumulative.clamp_min(0)

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (cumulative,) = ctx.saved_tensors
        return torch.where((cumulative > 0) | (grad < 0), grad, torch.zeros_like(grad))


def non_crossing(raw: Tensor) -> Tensor:
    """[..., Q] unconstrained outputs to quantiles that are ≥ 0 and never cross: cumulative levels
    c_1 = raw_1, c_k = c_(k−1) + softplus(raw_k), floored at 0 (q_k = max(c_k, 0)).

    Night-time power is a point mass at 0, which a strictly positive quantile never covers: with the
    base raw_1 below 0, any number of the lowest levels are exactly 0 and the levels above them strictly
    increasing. Where the base is ≥ 0 no level is clamped, and the quantiles and their gradients are
    exactly those of the earlier head (a ReLU base plus Softplus increments, which could put only the
    lowest level at 0).

    Gradients: a level above 0 passes its gradient to the base and every increment below it. A level
    clamped at 0 passes only a gradient that would raise it: a target above it pulls it back up (so a
    window whose levels all went below 0 early in training is not dead), while a target of 0, which it
    already forecasts exactly (``pinball`` counts a tie as an over-forecast), leaves it where it is.
    """
    base = raw[..., :1]
    cumulative = torch.cat([base, base + torch.cumsum(torch.nn.functional.softplus(raw[..., 1:]), dim=-1)], dim=-1)
    floor: type[torch.autograd.Function] = _FloorAtZero  # through the base: torch leaves apply untyped
    return cast(Tensor, floor.apply(cumulative))


def pinball(pred: Tensor, target: Tensor, levels: Tensor) -> Tensor:
    """Elementwise pinball (quantile) loss [..., Q] of quantiles ``pred`` [..., Q] for ``target`` [...].
    A forecast equal to its target counts as an over-forecast: its gradient (1 − q) would lower it, which
    ``non_crossing`` blocks for a level at 0 with a target of 0 (torch.maximum would split a tie's
    gradient, raising levels above 0.5 off an exact night-time 0). The values are those of
    max(q·(y − ŷ), (q − 1)·(y − ŷ))."""
    diff = target.unsqueeze(-1) - pred
    return torch.where(diff > 0, levels * diff, (levels - 1) * diff)


def pinball_loss(pred: Tensor, target: Tensor, mask: Tensor, levels: Tensor) -> Tensor:
    """Mean pinball loss over the present targets (``mask`` [B, H]) and all levels."""
    losses = pinball(pred, torch.nan_to_num(target), levels) * mask.unsqueeze(-1)
    return losses.sum() / (mask.sum() * len(levels)).clamp_min(1)


def median_index(levels: Sequence[float]) -> int:
    """Position of the 0.5 level. The point forecast (RMSE, MAE, the ``forecast`` column) is that
    column: another level scored as if it were the median would misreport the point errors."""
    values = list(levels)
    for i, q in enumerate(values):
        if abs(q - 0.5) < _SAME_LEVEL:
            return i
    raise ValueError(f"quantiles must include 0.5 (the median is the point forecast), got {values}")


def central_intervals(levels: Sequence[float]) -> dict[str, tuple[int, int]]:
    """The central intervals of increasing ``levels`` to score, widest first, named by the share of
    outcomes they should hold: ``{"80": (i, j)}`` for levels[i] = 0.1 and levels[j] = 0.9. Only a level
    q < 0.5 whose partner 1 − q is also forecast bounds one, so no name claims an interval the levels do
    not give. Of these, every interval whose percentage is a multiple of 10, and always the widest: the
    deciles give 80, 60, 40 and 20; the percentiles 0.01 ... 0.99 give 98, 90, ..., 10 rather than 49
    intervals; 0.25 / 0.75 gives 50. A percentage that is not whole keeps its decimals (0.333 / 0.667
    give ``"33.4"``)."""
    values = list(levels)
    intervals: dict[str, tuple[int, int]] = {}
    for i, low in enumerate(values):
        if low >= 0.5:
            break
        j = next((j for j, high in enumerate(values) if abs(low + high - 1) < _SAME_LEVEL), None)
        if j is None:
            continue
        percent = round(100 * (1 - 2 * low), 6)
        if not intervals or percent % 10 == 0:
            intervals[f"{percent:g}"] = (i, j)
    return intervals


class QuantileScores(Metric):
    """Mean pinball loss, CRPS ≈ 2 × mean pinball over the levels, and the coverage and width of each
    central interval the levels give (``central_intervals``: ``coverage_80`` and ``width_80`` between
    the 0.1 and 0.9 quantiles, ``coverage_50`` between 0.25 and 0.75), per station and overall.

    The CRPS approximation is the quantile-score average that GEFCom2014 used; it is closest to the
    exact CRPS with many evenly spaced levels (``[0.01, ..., 0.99]``).
    """

    full_state_update = False
    higher_is_better = False

    def __init__(self, station_names: Sequence[str], levels: Sequence[float]) -> None:
        super().__init__()
        check_levels(levels)
        self.station_names = list(station_names)
        self.register_buffer("levels", torch.tensor(list(levels), dtype=torch.float64), persistent=False)
        intervals = central_intervals(levels)
        self.intervals = list(intervals)
        bounds = torch.tensor(list(intervals.values()), dtype=torch.long).reshape(-1, 2)
        self.register_buffer("low_index", bounds[:, 0], persistent=False)
        self.register_buffer("high_index", bounds[:, 1], persistent=False)
        n, k = len(self.station_names), len(self.intervals)
        for name in ("pinball_sum", "count"):
            self.add_state(name, default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        for name in ("covered", "width_sum"):  # [stations, intervals]
            self.add_state(name, default=torch.zeros(n, k, dtype=torch.float64), dist_reduce_fx="sum")

    @override
    def update(self, pred: Tensor, target: Tensor, mask: Tensor, station: Tensor) -> None:
        """``pred`` [B, H, Q] and ``target`` [B, H] in original units; ``mask`` [B, H] targets present."""
        m, index = mask.double(), station.long()
        pred, target = pred.double(), torch.nan_to_num(target.double())
        per_element = pinball(pred, target, self.levels).mean(-1)
        low, high = pred[..., self.low_index], pred[..., self.high_index]  # [B, H, intervals]
        y = target.unsqueeze(-1)
        inside = ((y >= low) & (y <= high)).double()
        self.pinball_sum.index_add_(0, index, (per_element * m).sum(1))
        self.covered.index_add_(0, index, (inside * m.unsqueeze(-1)).sum(1))
        self.width_sum.index_add_(0, index, ((high - low) * m.unsqueeze(-1)).sum(1))
        self.count.index_add_(0, index, m.sum(1))

    def _scores(self, pinball_sum: Tensor, covered: Tensor, width: Tensor, count: Tensor) -> dict[str, Tensor]:
        n = count.clamp_min(1)
        scores = {"pinball": pinball_sum / n, "crps": 2 * pinball_sum / n}
        for k, percent in enumerate(self.intervals):
            scores.update({f"coverage_{percent}": covered[..., k] / n, f"width_{percent}": width[..., k] / n})
        return scores

    @override
    def compute(self) -> dict[str, Tensor]:
        overall = self._scores(self.pinball_sum.sum(), self.covered.sum(0), self.width_sum.sum(0), self.count.sum())
        results = {k: v.float() for k, v in overall.items()}
        per_station = self._scores(self.pinball_sum, self.covered, self.width_sum, self.count)
        for i, name in enumerate(self.station_names):
            if self.count[i] > 0:
                results.update({f"station_{name}/{k}": v[i].float() for k, v in per_station.items()})
        return results


class QuantileReliability(Metric):
    """Reliability per level: the share of present targets at or below each level's forecast, which is
    q for a calibrated level q, over all hours and over producing hours (target > 0).

    ``fractions()`` gives both curves per level (the reliability figure); ``compute()`` gives one scalar,
    ``reliability_gap`` = max over levels of |observed share − q| on producing hours (on all hours when
    none produce). Producing hours are the ones to read against the diagonal: a night-time 0 lies at or
    below every level's forecast (all ≥ 0), so the all-hours curve sits above the diagonal by the share
    of zero hours even for a forecast that is right about them.
    """

    full_state_update = False
    higher_is_better = False

    def __init__(self, levels: Sequence[float]) -> None:
        super().__init__()
        check_levels(levels)
        self.register_buffer("levels", torch.tensor(list(levels), dtype=torch.float64), persistent=False)
        # row 0: all present hours, row 1: producing hours
        self.add_state("below", default=torch.zeros(2, len(self.levels), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(2, dtype=torch.float64), dist_reduce_fx="sum")

    @override
    def update(self, pred: Tensor, target: Tensor, mask: Tensor) -> None:
        """``pred`` [..., Q] and ``target`` [...] in original units; ``mask`` [...] targets present."""
        present = mask.bool()
        y = torch.nan_to_num(target.double())
        below = (y.unsqueeze(-1) <= pred.double()) & present.unsqueeze(-1)
        producing = present & (y > 0)
        levels = len(self.levels)
        self.below[0] += below.reshape(-1, levels).sum(0)
        self.below[1] += (below & producing.unsqueeze(-1)).reshape(-1, levels).sum(0)
        self.count += torch.stack([present.sum(), producing.sum()]).double()

    def fractions(self) -> dict[str, Tensor]:
        """``{"all": [Q], "producing": [Q]}``: the observed share at or below each level's forecast
        (0 where no hour was seen)."""
        shares = self.below / self.count.clamp_min(1).unsqueeze(-1)
        return {"all": shares[0], "producing": shares[1]}

    @override
    def compute(self) -> dict[str, Tensor]:
        shares = self.fractions()
        observed = torch.where(self.count[1] > 0, shares["producing"], shares["all"])
        return {"reliability_gap": (observed - self.levels).abs().max().float()}
