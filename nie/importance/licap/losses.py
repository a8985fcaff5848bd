"""LICAP's contrastive losses on L2-normalised embeddings (cosine similarity / τ, then log-sum-exp).

Normalising first bounds every logit by 1/τ, so neither loss overflows however large the raw
embeddings are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def bin_prototypes(embeddings: Tensor, bin_of_node: Tensor, num_bins: int) -> Tensor:
    """Mean embedding of each bin's nodes: [num_bins, dim] (every bin must be non-empty)."""
    sums = torch.zeros(num_bins, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums.index_add_(0, bin_of_node, embeddings)
    counts = torch.bincount(bin_of_node, minlength=num_bins).clamp_min(1).unsqueeze(-1)
    return sums / counts


def top_bin_loss(top: Tensor, negatives: Tensor, temperature: float = 0.05) -> Tensor:
    """L1: InfoNCE pulling each top node towards the top-bin prototype, away from non-top nodes."""
    prototype = F.normalize(top.mean(0, keepdim=True), dim=-1)
    top, negatives = F.normalize(top, dim=-1), F.normalize(negatives, dim=-1)
    logits = torch.cat([top @ prototype.T, top @ negatives.T], dim=1) / temperature  # positive in column 0
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def finer_bin_loss(top: Tensor, bin_of_top: Tensor, bin_weights: Tensor, temperature: float = 0.05) -> Tensor:
    """L2: InfoNCE of each top node against the finer bins' prototypes, positive = its own bin.

    Negative bins enter the denominator weighted by their binomial weight relative to the node's
    own bin (≤ 1, smaller for farther bins), so nearer bins are the harder negatives and the
    order among bins is kept.
    """
    prototypes = F.normalize(bin_prototypes(top, bin_of_top, bin_weights.shape[0]), dim=-1)
    logits = F.normalize(top, dim=-1) @ prototypes.T / temperature  # [T, B]
    weights = bin_weights[bin_of_top]
    relative = weights / weights.gather(1, bin_of_top[:, None])  # own bin → 1
    positive = logits.gather(1, bin_of_top[:, None]).squeeze(1)
    return (torch.logsumexp(logits + relative.log(), dim=1) - positive).mean()
