"""The splits of labeled nodes: the literature's cross-validation and EASING's chunked repeats.

Literature (RGTN-NIE code, reused by LICAP and later work): each labeled node (in node-id order)
gets a position from one ``RandomState(0)`` permutation of ``linspace(0, 1, n_labeled)``. Fold k
tests on positions in [k/K, (k+1)/K], validates on the next half-fold (wrapping to [0, 1/2K] for
the last fold) and trains on the rest: 70/10/20 for K = 5. Interval ends follow the reference
exactly so the same nodes land in each split.

Chunks (the semi-supervised setting of EASING): the labeled nodes, in the same position order, are
cut into ``num_chunks`` intervals; repeat r draws a permutation of the chunks (seed + r) and takes
fractions of them for test, validation and training; the remaining labeled nodes are treated as
unlabeled (their labels enter no loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import numpy.typing as npt

from nie.core.errors import DataError

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Split:
    """Node ids of one fold's training, validation and test sets, and of the nodes whose labels no
    loss may see (``unlabeled``: nodes without labels, plus labeled nodes a split leaves out)."""

    train: npt.NDArray[np.int64]
    val: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]
    unlabeled: npt.NDArray[np.int64]


def split_from_masks(train: Mask, val: Mask, test: Mask) -> Split:
    """A ``Split`` of boolean node masks; every other node is unlabeled for this split."""
    return Split(*(np.flatnonzero(mask) for mask in (train, val, test, ~(train | val | test))))


def split_positions(labeled: Mask, seed: int = 0) -> npt.NDArray[np.float64]:
    """Position in [0, 1] of each node (-1 for unlabeled ones)."""
    positions = np.full(labeled.shape[0], -1.0)
    positions[labeled] = np.random.RandomState(seed).permutation(np.linspace(0, 1, int(labeled.sum())))
    return positions


def literature_fold(labeled: Mask, fold: int, num_folds: int = 5, seed: int = 0) -> Split:
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
    split = split_from_masks(train, val, test)
    require_nonempty(split, f"fold {fold} of {num_folds}", n_labeled)
    return split


def require_nonempty(split: Split, what: str, n_labeled: int) -> None:
    for name in ("train", "val", "test"):
        if getattr(split, name).size == 0:
            raise DataError(f"{what} has an empty {name} split ({n_labeled} labeled nodes)")


def chunked_split(
    labeled: Mask,
    repeat: int,
    fractions: Sequence[float] = (0.1, 0.1, 0.1),
    num_chunks: int = 1000,
    seed: int = 0,
) -> Split:
    """Train/val/test node ids of one repeat of the chunked split (``fractions`` of the chunks for
    train, validation and test; the rest of the labeled nodes count as unlabeled)."""
    n_labeled = int(labeled.sum())
    if len(fractions) != 3 or min(fractions) <= 0 or sum(fractions) > 1 + 1e-9:
        raise DataError(
            f"data.chunk_fractions={list(fractions)}: expected three positive fractions (train, val, test) "
            "summing to at most 1"
        )
    if not 0 < num_chunks <= n_labeled:
        raise DataError(f"data.num_chunks={num_chunks}: expected between 1 and the {n_labeled} labeled nodes")
    positions = split_positions(labeled, seed)
    ids = np.flatnonzero(labeled)
    chunks = np.array_split(ids[np.argsort(positions[ids], kind="stable")], num_chunks)
    order = np.random.RandomState(seed + repeat).permutation(num_chunks)
    n_train, n_val, n_test = (int(round(f * num_chunks)) for f in fractions)
    ends = np.cumsum([n_test, n_val, n_train])
    masks = []
    for start, end in zip((0, *ends[:-1]), ends):
        mask = np.zeros(labeled.shape[0], dtype=bool)
        for chunk in order[start:end]:
            mask[chunks[chunk]] = True
        masks.append(mask)
    test, val, train = masks
    split = split_from_masks(train, val, test)
    require_nonempty(split, f"repeat {repeat} of the chunked split ({num_chunks} chunks)", n_labeled)
    return split
