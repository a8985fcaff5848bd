"""Losses for importance regression."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def listnet_loss(
    pred: Tensor, target: Tensor, list_size: int = 100, num_lists: int = 1, generator: torch.Generator | None = None
) -> Tensor:
    """ListNet: cross-entropy between softmax(true) and softmax(predicted) over random lists.

    Scores are standardised within each list before the softmax (by the *true* scores'
    statistics for both), so large log-scores do not saturate the softmax into a one-hot and
    the gradient keeps flowing; the loss is invariant to a shift of all scores.
    """
    n = pred.shape[0]
    size = min(list_size, n)
    if size < 2:
        return pred.sum() * 0.0
    index = torch.stack([torch.randperm(n, generator=generator, device="cpu")[:size] for _ in range(num_lists)])
    index = index.to(pred.device)
    p, t = pred[index], target[index]
    mean, std = t.mean(dim=1, keepdim=True), t.std(dim=1, keepdim=True).clamp_min(1e-6)
    p, t = (p - mean) / std, (t - mean) / std
    return -(F.softmax(t, dim=1) * F.log_softmax(p, dim=1)).sum(dim=1).mean()


def pairwise_margin_loss(
    pred: Tensor, target: Tensor, list_size: int = 100, margin: float = 0.1, generator: torch.Generator | None = None
) -> Tensor:
    """Order constraint on pairs: over the pairs of a random list of nodes whose true scores differ,
    mean hinge max(0, margin − (pred_hi − pred_lo)), so the more important node's prediction must
    exceed the other's by ``margin`` (in the labels' units)."""
    n = pred.shape[0]
    size = min(list_size, n)
    if size < 2:
        return pred.sum() * 0.0
    index = torch.randperm(n, generator=generator, device="cpu")[:size].to(pred.device)
    p, t = pred[index], target[index]
    higher = t.unsqueeze(1) > t.unsqueeze(0)  # [i, j]: node i is more important than node j
    if not bool(higher.any()):
        return pred.sum() * 0.0
    gaps = p.unsqueeze(1) - p.unsqueeze(0)
    return F.relu(margin - gaps[higher]).mean()
