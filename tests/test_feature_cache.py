"""Cached features do not change a run: its generators move the same whether features are computed or read back."""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules.kg import features
from datamodules.kg.features import build_features
from datamodules.kg.io import load_graph
from datamodules.kg.synthetic import write_synthetic_graph
from nie.core.seed import seed_everything


def _draws() -> tuple:
    return torch.rand(3).tolist(), random.random(), np.random.rand()


@pytest.mark.parametrize("method", ["deepwalk", "spectral"])
def test_computing_features_leaves_the_run_generators_where_a_cache_hit_would(
    tmp_path: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = load_graph(
        str(write_synthetic_graph(tmp_path / "g", num_nodes=150, num_relations=3, avg_degree=4, seed=0)),
        None,
        None,
        None,
        None,
    )
    build = functools.partial(
        build_features,
        graph,
        ["structural"],
        tmp_path / "cache",
        8,
        structural_epochs=1,
        seed=0,
        structural_method=method,
    )
    seed_everything(3)
    computed = build()
    after_computing = _draws()

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed again instead of read from the cache")

    monkeypatch.setattr(features, "spectral_embeddings", not_again)
    monkeypatch.setattr(features, "deepwalk_embeddings", not_again)
    seed_everything(3)
    cached = build()
    assert np.array_equal(computed, cached) and _draws() == after_computing
