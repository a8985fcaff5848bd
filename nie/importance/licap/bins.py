"""LICAP's top-nodes-preferred hierarchical sampling, built from one fold's training labels only.

The top bin holds the training nodes with the highest labels (``important_ratio``); negatives are
drawn from the other training nodes; the top bin is split into finer bins of ``bin_width`` label
units above its lower border (empty bins are skipped), and each finer bin gets binomial weights
over the others so that nearer bins count more as negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from scipy.stats import binom
from torch import Tensor

from nie.core.errors import ConfigError


@dataclass(frozen=True)
class TopBins:
    """Node ids (global) and bin structure for LICAP's two contrastive losses."""

    top: Tensor  # [T] the top bin
    negatives: Tensor  # [M] non-top training nodes
    bin_of_top: Tensor  # [T] index of each top node's finer bin, 0..B-1 (non-empty bins only)
    bin_weights: Tensor  # [B, B] row b: weights of every bin as seen from bin b, summing to 1

    @property
    def num_bins(self) -> int:
        return self.bin_weights.shape[0]

    def to(self, device: torch.device | str) -> "TopBins":
        return TopBins(*(t.to(device) for t in (self.top, self.negatives, self.bin_of_top, self.bin_weights)))


def binomial_bin_weights(distances: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Weights for bins at the given (non-negative integer) distances from an anchor bin.

    Binomial(n, ½) PMF at n/2 + d with n = 2·max distance: the largest weight at d = 0, falling
    off with distance like a discrete Gaussian; normalised to sum to 1.
    """
    n = 2 * int(distances.max(initial=0))
    weights: npt.NDArray[np.float64] = binom.pmf(n // 2 + distances, n, 0.5)
    weights /= weights.sum()
    return weights


def check_bin_settings(important_ratio: float, negative_pool: float, bin_width: float) -> None:
    if not 0 < important_ratio < 1 or not important_ratio < negative_pool <= 1:
        raise ConfigError(f"licap: need 0 < important_ratio ({important_ratio}) < negative_pool ({negative_pool}) <= 1")
    if bin_width <= 0:
        raise ConfigError(f"licap.bin_width must be positive, got {bin_width}")


def top_bins(
    train_ids: Tensor,
    train_labels: Tensor,
    important_ratio: float = 0.1,
    negative_ratio: float = 2.0,
    negative_pool: float = 0.5,
    bin_width: float = 1.0,
    generator: torch.Generator | None = None,
) -> TopBins:
    """Sample LICAP's bins from the training nodes (ids and their labels, nothing else).

    Args:
        important_ratio: share of training nodes in the top bin (by label, highest first).
        negative_ratio: negatives per top node, drawn without replacement from the pool.
        negative_pool: the pool is the training nodes ranked within this top share but not in the
            top bin (the reference's 0.5: hard negatives just below the border); 1.0 = all others.
        bin_width: width of the finer bins in label units (log page views on FB15k).
    """
    check_bin_settings(important_ratio, negative_pool, bin_width)
    order = torch.argsort(train_labels, descending=True, stable=True)
    num_top = max(1, round(important_ratio * len(order)))
    pool = order[num_top : max(num_top + 1, round(negative_pool * len(order)))]
    if len(pool) == 0:
        raise ConfigError(f"licap: only {len(order)} training nodes, none left to draw negatives from")
    num_negatives = min(len(pool), max(1, round(negative_ratio * num_top)))
    chosen = pool[torch.randperm(len(pool), generator=generator)[:num_negatives]]

    top = order[:num_top]
    border = train_labels[top].min()
    raw_bins = torch.div(train_labels[top] - border, bin_width, rounding_mode="floor").long()
    occupied, bin_of_top = torch.unique(raw_bins, sorted=True, return_inverse=True)  # skips empty bins
    distance = (occupied[:, None] - occupied[None, :]).abs().numpy()
    weights = np.stack([binomial_bin_weights(row) for row in distance])
    return TopBins(train_ids[top], train_ids[chosen], bin_of_top, torch.from_numpy(weights).float())
