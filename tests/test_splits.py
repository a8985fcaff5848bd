"""The literature's split: sizes, disjointness, determinism and the reference's RandomState(0) order."""

import numpy as np
import pytest

from datamodules.kg.splits import literature_fold
from nie.core.errors import DataError


def reference_split(labeled: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The published protocol's interval rules, written out for K = 5."""
    p = np.full(labeled.shape[0], -1.0)
    p[labeled] = np.random.RandomState(seed=0).permutation(np.linspace(0, 1, labeled.sum()))
    bounds = [(0.0, 0.2, 0.3), (0.2, 0.4, 0.5), (0.4, 0.6, 0.7), (0.6, 0.8, 0.9)]
    if fold < 4:
        lo, hi, vhi = bounds[fold]
        test = (lo <= p) & (p <= hi)
        val = (hi < p) & (p <= vhi)
    else:
        test = (0.8 <= p) & (p <= 1.0)
        val = (0 <= p) & (p <= 0.1)
    train = (p >= 0) & ~test & ~val
    return np.flatnonzero(train), np.flatnonzero(val), np.flatnonzero(test)


@pytest.mark.parametrize("n_nodes", [1000, 14951])
def test_folds_match_reference_and_are_disjoint(n_nodes: int) -> None:
    rng = np.random.default_rng(0)
    labeled = rng.random(n_nodes) > 0.06
    tests = []
    for fold in range(5):
        split = literature_fold(labeled, fold)
        for ours, ref in zip((split.train, split.val, split.test), reference_split(labeled, fold)):
            np.testing.assert_array_equal(ours, ref)
        parts = np.concatenate([split.train, split.val, split.test])
        assert len(np.unique(parts)) == len(parts) == labeled.sum()  # disjoint, covering, labeled only
        assert labeled[parts].all()
        n = labeled.sum()
        assert abs(len(split.test) - 0.2 * n) <= 2 and abs(len(split.val) - 0.1 * n) <= 2
        tests.append(split.test)
    assert len(np.unique(np.concatenate(tests))) >= labeled.sum() - 4  # test blocks rotate over all nodes


def test_split_is_deterministic() -> None:
    labeled = np.ones(500, dtype=bool)
    np.random.seed(1)
    a = literature_fold(labeled, 2)
    np.random.seed(2)  # the global generator's state does not matter
    b = literature_fold(labeled, 2)
    for part in ("train", "val", "test", "unlabeled"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(np.sort(a.test), np.arange(a.test.min(), a.test.max() + 1))  # shuffled, not a block


def test_too_few_labeled_nodes_and_bad_fold_are_rejected() -> None:
    labeled = np.zeros(100, dtype=bool)
    labeled[:6] = True
    with pytest.raises(DataError, match="only 6 labeled nodes for 5 folds"):
        literature_fold(labeled, 0)
    with pytest.raises(DataError, match="out of range"):
        literature_fold(np.ones(100, dtype=bool), 5)
