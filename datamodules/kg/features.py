"""Node feature sets, stacked column-wise into the model input.

``given``      features shipped with the data (pickle layout ``features``);
``semantic``   shipped semantic features (second pickle) or text embeddings of ``description``;
``structural`` random-walk (DeepWalk, i.e. node2vec with p = q = 1) embeddings, cached on disk;
``degree``     log in/out-degree and log in-degree per relation: instant, for tiny demos.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import dgl
import numpy as np
import torch
from dgl.nn.pytorch import DeepWalk

from datamodules.kg.graph import KnowledgeGraph
from nie.cache import cached_array
from nie.errors import DataError

FEATURE_SETS = ("given", "semantic", "structural", "degree")


def graph_fingerprint(graph: KnowledgeGraph) -> str:
    """Hash of the graph's structure: a cache key that changes whenever the edges do."""
    digest = hashlib.sha256()
    digest.update(np.int64(graph.num_nodes).tobytes())
    for array in (graph.src, graph.dst, graph.rel):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    return digest.hexdigest()


def deepwalk_embeddings(
    graph: KnowledgeGraph, dim: int, walk_length: int, epochs: int, seed: int, batch_size: int = 128
) -> np.ndarray:
    """Skip-gram embeddings of random walks on the undirected simple graph.

    Runs on one thread: multi-threaded sparse-gradient sums differ in the last bits and Adam
    amplifies that to ~1e-4, so the same seed would not give the same features (costs ~10%).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_deepwalk(graph, dim, walk_length, epochs, seed, batch_size)
    finally:
        torch.set_num_threads(threads)


def _train_deepwalk(graph: KnowledgeGraph, dim: int, walk_length: int, epochs: int, seed: int,
                    batch_size: int) -> np.ndarray:
    random.seed(seed)  # DeepWalk draws negatives with Python's random
    torch.manual_seed(seed)
    dgl.seed(seed)
    g = dgl.to_bidirected(dgl.graph((graph.src, graph.dst), num_nodes=graph.num_nodes))
    model = DeepWalk(g, emb_dim=dim, walk_length=walk_length, window_size=5, negative_size=5)
    optimizer = torch.optim.SparseAdam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(graph.num_nodes, generator=generator)
        for start in range(0, graph.num_nodes, batch_size):
            walks = model.sample(order[start : start + batch_size])
            loss = model(walks)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.node_embed.weight.detach().numpy()


def degree_features(graph: KnowledgeGraph) -> np.ndarray:
    """log(1 + degree) in, out and per incoming relation."""
    n = graph.num_nodes
    per_relation = np.zeros((n, graph.num_relations), dtype=np.float64)
    np.add.at(per_relation, (graph.dst, graph.rel), 1.0)
    totals = np.stack([np.bincount(graph.dst, minlength=n), np.bincount(graph.src, minlength=n)], axis=1)
    return np.log1p(np.concatenate([totals, per_relation], axis=1)).astype(np.float32)


def build_features(
    graph: KnowledgeGraph,
    names: list[str],
    cache_dir: str | Path,
    structural_dim: int = 64,
    structural_walk_length: int = 20,
    structural_epochs: int = 3,
    seed: int = 0,
) -> np.ndarray | None:
    """Concatenate the named feature sets, in order; ``None`` for an empty list."""
    blocks = []
    for name in names:
        if name in ("given", "semantic") and name in graph.features:
            blocks.append(graph.features[name])
        elif name == "semantic":
            from datamodules.kg.text import text_embeddings

            blocks.append(text_embeddings(graph, cache_dir))
        elif name == "structural":
            key = {"graph": graph_fingerprint(graph), "dim": structural_dim, "walk": structural_walk_length,
                   "epochs": structural_epochs, "seed": seed, "method": "deepwalk-v1"}
            blocks.append(cached_array(cache_dir, "structural", key, (graph.num_nodes, structural_dim),
                                       lambda: deepwalk_embeddings(graph, structural_dim, structural_walk_length,
                                                                   structural_epochs, seed)))
        elif name == "degree":
            blocks.append(degree_features(graph))
        else:
            available = [n for n in FEATURE_SETS if n not in ("given",) or "given" in graph.features]
            raise DataError(f"data.features: unknown or unavailable feature set '{name}' (choose from {available})")
    return np.concatenate(blocks, axis=1) if blocks else None
