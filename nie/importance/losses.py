"""Losses for importance regression: ranking terms added to the task's MSE.

Every ranking term scores lists of nodes drawn by ``draw_lists``: random lists, or lists that always
hold the ``top_nodes`` most important nodes the loss sees (the rest drawn at random), so the order at
the top, which NDCG@k rewards, is in every step's gradient and not in one list of many.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def draw_lists(
    target: Tensor, list_size: int, num_lists: int = 1, top_nodes: int = 0, generator: torch.Generator | None = None
) -> Tensor | None:
    """``[num_lists, size]`` node positions: the ``top_nodes`` highest targets in every list, then
    distinct random others; None when fewer than two nodes fit (no pair to rank)."""
    n = target.shape[0]
    size = min(list_size, n)
    if size < 2:
        return None
    top = min(top_nodes, size)
    if top == 0:  # plain random lists, drawn as before the top was kept
        lists = [torch.randperm(n, generator=generator, device="cpu")[:size] for _ in range(num_lists)]
    else:
        order = torch.argsort(target.detach().cpu(), descending=True)
        head, others = order[:top], order[top:]
        lists = [
            torch.cat([head, others[torch.randperm(n - top, generator=generator, device="cpu")[: size - top]]])
            for _ in range(num_lists)
        ]
    return torch.stack(lists).to(target.device)


def listnet_loss(
    pred: Tensor,
    target: Tensor,
    list_size: int = 100,
    generator: torch.Generator | None = None,
    top_nodes: int = 0,
) -> Tensor:
    """ListNet: cross-entropy between softmax(true) and softmax(predicted) over a random list.

    Scores are standardised within each list before the softmax (by the *true* scores'
    statistics for both), so large log-scores do not saturate the softmax into a one-hot and
    the gradient keeps flowing; the loss is invariant to a shift of all scores.
    """
    index = draw_lists(target, list_size, 1, top_nodes, generator)
    if index is None:
        return pred.sum() * 0.0
    p, t = pred[index], target[index]
    mean, std = t.mean(dim=1, keepdim=True), t.std(dim=1, keepdim=True).clamp_min(1e-6)
    p, t = (p - mean) / std, (t - mean) / std
    return -(F.softmax(t, dim=1) * F.log_softmax(p, dim=1)).sum(dim=1).mean()


def pairwise_margin_loss(
    pred: Tensor,
    target: Tensor,
    list_size: int = 100,
    margin: float = 0.1,
    generator: torch.Generator | None = None,
    top_nodes: int = 0,
) -> Tensor:
    """Order constraint on pairs: over the pairs of a random list of nodes whose true scores differ,
    mean hinge max(0, margin − (pred_hi − pred_lo)), so the more important node's prediction must
    exceed the other's by ``margin`` (in the labels' units)."""
    index = draw_lists(target, list_size, 1, top_nodes, generator)
    if index is None:
        return pred.sum() * 0.0
    p, t = pred[index[0]], target[index[0]]
    higher = t.unsqueeze(1) > t.unsqueeze(0)  # [i, j]: node i is more important than node j
    if not bool(higher.any()):
        return pred.sum() * 0.0
    gaps = p.unsqueeze(1) - p.unsqueeze(0)
    return F.relu(margin - gaps[higher]).mean()


def list_gains(target: Tensor) -> tuple[Tensor, Tensor]:
    """Per list: gains (the label above the list's lowest, so never negative whatever the label
    transform; NDCG's gain is the label itself, as ``NDCGAtK`` scores) and the ideal DCG."""
    gain = target - target.min(dim=1, keepdim=True).values
    size = target.shape[1]
    discount = 1.0 / torch.log2(torch.arange(size, device=target.device, dtype=target.dtype) + 2.0)
    ideal = (gain.sort(dim=1, descending=True).values * discount).sum(dim=1)
    return gain, ideal.clamp_min(1e-12)


def scored_lists(
    pred: Tensor, target: Tensor, list_size: int, top_nodes: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """The drawn list's predictions, labels, gains and ideal DCG (None: too few nodes for a list)."""
    index = draw_lists(target, list_size, 1, top_nodes, generator)
    if index is None:
        return None
    t = target[index]
    return (pred[index], t, *list_gains(t))


def lambdarank_loss(
    pred: Tensor,
    target: Tensor,
    list_size: int = 100,
    top_nodes: int = 0,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """LambdaRank: a logistic loss on every ordered pair, −log σ((pred_hi − pred_lo)/temperature),
    weighted by |ΔNDCG|, the change of the list's NDCG were the two swapped in the current predicted
    order; a pair near the top moves NDCG most, so it weighs most. The weighted mean over pairs."""
    lists = scored_lists(pred, target, list_size, top_nodes, generator)
    if lists is None:
        return pred.sum() * 0.0
    p, t, gain, ideal = lists
    position = torch.argsort(torch.argsort(p.detach(), dim=1, descending=True), dim=1)
    discount = 1.0 / torch.log2(position.to(p.dtype) + 2.0)
    delta = (gain.unsqueeze(2) - gain.unsqueeze(1)).abs() * (discount.unsqueeze(2) - discount.unsqueeze(1)).abs()
    weight = delta / ideal[:, None, None] * (t.unsqueeze(2) > t.unsqueeze(1))
    pairs = F.softplus(-(p.unsqueeze(2) - p.unsqueeze(1)) / temperature)  # [l, i, j]: i ranked above j
    total = weight.sum(dim=(1, 2))
    loss: Tensor = ((weight * pairs).sum(dim=(1, 2)) / total.clamp_min(1e-12)).mean()
    return loss


def approx_ndcg_loss(
    pred: Tensor,
    target: Tensor,
    list_size: int = 100,
    top_nodes: int = 0,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """ApproxNDCG (Qin et al., 2010): 1 − NDCG with each node's rank replaced by a smooth one,
    1 + Σ_{j≠i} σ((pred_j − pred_i)/temperature); exact as the temperature goes to 0, smoother (and
    blind to small score gaps) as it grows. Temperature in the labels' units."""
    lists = scored_lists(pred, target, list_size, top_nodes, generator)
    if lists is None:
        return pred.sum() * 0.0
    p, t, gain, ideal = lists
    above = torch.sigmoid((p.unsqueeze(1) - p.unsqueeze(2)) / temperature)  # [l, i, j]: j scored above i
    rank = 0.5 + above.sum(dim=2)  # 1 + Σ_{j≠i}: the j = i term is σ(0) = 0.5
    dcg = (gain / torch.log2(1.0 + rank)).sum(dim=1)
    loss: Tensor = (1.0 - dcg / ideal).mean()
    return loss
