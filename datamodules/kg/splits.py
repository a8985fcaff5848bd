"""The literature's cross-validation split (RGTN-NIE code, reused by LICAP, EASING and later work).

Each labeled node (in node-id order) gets a position from one ``RandomState(0)`` permutation
of ``linspace(0, 1, n_labeled)``. Fold k tests on positions in [k/K, (k+1)/K], validates on
the next half-fold (wrapping to [0, 1/2K] for the last fold) and trains on the rest: 70/10/20
for K = 5. Interval ends follow the reference exactly so the same nodes land in each split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nie.core.errors import DataError


@dataclass(frozen=True)
class Split:
    """Node ids of one fold's training, validation and test sets (labeled nodes only)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_positions(labeled: np.ndarray, seed: int = 0) -> np.ndarray:
    """Position in [0, 1] of each node (-1 for unlabeled ones)."""
    positions = np.full(labeled.shape[0], -1.0)
    positions[labeled] = np.random.RandomState(seed).permutation(np.linspace(0, 1, int(labeled.sum())))
    return positions


def literature_fold(labeled: np.ndarray, fold: int, num_folds: int = 5, seed: int = 0) -> Split:
    """Train/val/test node ids of one fold; raises ``DataError`` on an impossible split."""
    if not 0 <= fold < num_folds:
        raise DataError(f"data.fold={fold} is out of range: expected 0 <= fold < num_folds={num_folds}")
    n_labeled = int(labeled.sum())
    if n_labeled < 2 * num_folds:
        raise DataError(
            f"only {n_labeled} labeled nodes for {num_folds} folds: need at least {2 * num_folds} "
            "(every fold needs a non-empty validation and test set)"
        )
    p = split_positions(labeled, seed)
    lo, hi = fold / num_folds, (fold + 1) / num_folds
    test = (lo <= p) & (p <= hi)
    if fold < num_folds - 1:
        val = (hi < p) & (p <= (2 * fold + 3) / (2 * num_folds))
    else:
        val = (0 <= p) & (p <= 1 / (2 * num_folds))
    train = (p >= 0) & ~test & ~val
    split = Split(*(np.flatnonzero(mask) for mask in (train, val, test)))
    for name in ("train", "val", "test"):
        if getattr(split, name).size == 0:
            raise DataError(f"fold {fold} of {num_folds} has an empty {name} split ({n_labeled} labeled nodes)")
    return split
