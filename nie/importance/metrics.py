"""Node-importance metrics of the literature, built on torchmetrics.

All four accumulate predictions across steps and processes (torchmetrics gathers the
``cat`` states under DDP) and compute the ranking metrics once, on the full node set. A ratio whose
denominator is 0 (NDCG where every true gain is 0; Spearman where the labels or the predictions are
all equal; OVERLAP of no node) is NaN with one warning per metric, not torchmetrics' silent 0.
"""

from __future__ import annotations

import warnings

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torchmetrics import MeanSquaredError, Metric, MetricCollection, SpearmanCorrCoef
from torchmetrics.retrieval import RetrievalNormalizedDCG
from torchmetrics.utilities.data import dim_zero_cat
from typing_extensions import override


def undefined(metric: Metric, reason: str, like: Tensor) -> Tensor:
    """NaN, warning once per metric object (a stage's metric computes every validation)."""
    if not getattr(metric, "warned", False):
        metric.warned = True
        rank_zero_warn(f"{type(metric).__name__} is NaN: {reason}, so the ratio is undefined")
    return torch.tensor(float("nan"), device=like.device)


def overlap(preds: Tensor, target: Tensor, k: int) -> float:
    """|predicted top-k ∩ true top-k| / k, the top-k picked by ``torch.topk``."""
    return len(set(torch.topk(preds, k).indices.tolist()) & set(torch.topk(target, k).indices.tolist())) / k


class NDCGAtK(RetrievalNormalizedDCG):
    """NDCG@k over one ranking of all nodes: gain = true label, discount 1/log2(rank+1)."""

    def __init__(self, top_k: int = 100) -> None:
        super().__init__(top_k=top_k)

    @override
    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        indexes = torch.zeros_like(preds, dtype=torch.long)
        super().update(preds.float(), target.float(), indexes=indexes)

    @override
    def compute(self) -> Tensor:
        target = dim_zero_cat(self.target)
        if target.numel() and target.max() <= 0:  # the ideal DCG, the denominator, is 0
            return undefined(self, f"every one of the {target.numel()} true gains is 0 (ideal DCG 0)", target)
        return super().compute()


class OverlapAtK(Metric):
    """|true top-k ∩ predicted top-k| / k, with k capped at the number of scored nodes (a fold with
    fewer than k test nodes still scores 1.0 for a perfect ranking)."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, top_k: int = 100) -> None:
        super().__init__()
        self.top_k = top_k
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("target", default=[], dist_reduce_fx="cat")

    @override
    def update(self, preds: Tensor, target: Tensor) -> None:
        self.preds.append(preds.detach().flatten().float())
        self.target.append(target.detach().flatten().float())

    @override
    def compute(self) -> Tensor:
        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        k = min(self.top_k, preds.numel())
        if k == 0:
            return undefined(self, "no node was scored (k = 0)", preds)
        return torch.tensor(overlap(preds, target, k), device=preds.device)


class FlatSpearman(SpearmanCorrCoef):
    """Spearman correlation (tied ranks averaged, as SciPy) of flattened float inputs."""

    def __init__(self) -> None:
        with warnings.catch_warnings():  # keeping every prediction is the point: ranks need them all
            warnings.filterwarnings("ignore", message=".*will save all targets and predictions.*")
            super().__init__()

    @override
    def update(self, preds: Tensor, target: Tensor) -> None:
        super().update(preds.flatten().float(), target.flatten().float())

    @override
    def compute(self) -> Tensor:
        for name, values in (("labels", dim_zero_cat(self.target)), ("predictions", dim_zero_cat(self.preds))):
            if values.numel() and values.max() == values.min():  # a standard deviation, a denominator, is 0
                return undefined(self, f"all {values.numel()} {name} are equal", values)
        return super().compute()


def importance_metrics(top_k: int = 100, with_rmse: bool = True) -> MetricCollection:
    """The literature's table: NDCG@k, Spearman, OVERLAP@k and (for regressors) RMSE on log labels."""
    metrics: dict[str, Metric | MetricCollection] = {
        f"ndcg@{top_k}": NDCGAtK(top_k),
        "spearman": FlatSpearman(),
        f"overlap@{top_k}": OverlapAtK(top_k),
    }
    if with_rmse:
        metrics["rmse"] = MeanSquaredError(squared=False)
    return MetricCollection(metrics)
