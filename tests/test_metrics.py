"""Each metric against a direct NumPy/SciPy computation, ties included."""

import numpy as np
import pytest
import scipy.stats
import torch

from nie.importance.metrics import importance_metrics


def ndcg_reference(target: np.ndarray, preds: np.ndarray, k: int) -> float:
    order = np.argsort(-preds, kind="stable")[:k]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(target)[::-1][:k]
    return float((target[order] * discount[: len(order)]).sum() / (ideal * discount[: len(ideal)]).sum())


def overlap_reference(target: np.ndarray, preds: np.ndarray, k: int) -> float:
    return len(set(np.argsort(-preds)[:k]) & set(np.argsort(-target)[:k])) / k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_numpy_and_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 15, size=700).astype(np.float64)  # many tied labels
    preds = target + rng.normal(scale=4.0, size=700)
    preds[:50] = np.round(preds[:50])  # and some tied predictions (among non-top nodes for NDCG)
    preds[:50] = np.minimum(preds[:50], np.sort(preds)[-150])
    metrics = importance_metrics(100)
    for chunk in np.array_split(np.arange(700), 3):  # accumulation across steps, as across processes
        metrics.update(torch.tensor(preds[chunk]), torch.tensor(target[chunk]))
    got = {k: float(v) for k, v in metrics.compute().items()}
    assert got["ndcg@100"] == pytest.approx(ndcg_reference(target, preds, 100), abs=1e-5)
    assert got["spearman"] == pytest.approx(scipy.stats.spearmanr(target, preds)[0], abs=1e-5)
    assert got["rmse"] == pytest.approx(float(np.sqrt(np.mean((preds - target) ** 2))), rel=1e-5)


def test_overlap_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    target = rng.normal(size=1000)  # top-k sets are only well defined without ties at the cut
    preds = target + rng.normal(scale=0.5, size=1000)
    metrics = importance_metrics(100)
    metrics.update(torch.tensor(preds), torch.tensor(target))
    assert float(metrics.compute()["overlap@100"]) == pytest.approx(overlap_reference(target, preds, 100))


def test_spearman_with_tied_predictions_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    target = rng.integers(0, 5, size=300).astype(float)
    preds = rng.integers(0, 4, size=300).astype(float)
    metrics = importance_metrics(10, with_rmse=False)
    metrics.update(torch.tensor(preds), torch.tensor(target))
    assert float(metrics.compute()["spearman"]) == pytest.approx(scipy.stats.spearmanr(target, preds)[0], abs=1e-5)


def test_perfect_ranking_scores_one() -> None:
    target = torch.arange(500, dtype=torch.float32)
    metrics = importance_metrics(100)
    metrics.update(target * 2 + 1, target)
    got = metrics.compute()
    assert float(got["ndcg@100"]) == pytest.approx(1.0)
    assert float(got["spearman"]) == pytest.approx(1.0)
    assert float(got["overlap@100"]) == 1.0
    assert "rmse" not in importance_metrics(100, with_rmse=False)
