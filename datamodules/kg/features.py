"""Node feature sets, stacked column-wise into the model input.

``given``      features shipped with the data (pickle layout ``features``);
``semantic``   shipped semantic features (second pickle) or text embeddings of ``description``;
``structural`` structural embeddings, cached on disk: ``spectral`` (factorise and propagate, seconds,
               no DGL; ``datamodules.kg.spectral``) or ``deepwalk`` (random-walk skip-gram, i.e. node2vec
               with p = q = 1; minutes, needs DGL);
``degree``     log in/out-degree and log in-degree per relation: instant, for tiny demos.
"""

from __future__ import annotations

import hashlib
import random
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from datamodules.kg.graph import KnowledgeGraph
from datamodules.kg.spectral import spectral_embeddings
from nie.core.cache import cached_array
from nie.core.errors import ConfigError, DataError
from nie.core.seed import import_dgl, isolated_rng
from nie.importance.kernels import DGL_INSTALL, dgl_importable

FEATURE_SETS = ("given", "semantic", "structural", "degree")
StructuralMethod = Literal["spectral", "deepwalk"]


def graph_fingerprint(graph: KnowledgeGraph) -> str:
    """Hash of the graph's structure: a cache key that changes whenever the edges do."""
    digest = hashlib.sha256()
    digest.update(np.int64(graph.num_nodes).tobytes())
    for array in (graph.src, graph.dst, graph.rel):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    return digest.hexdigest()


def deepwalk_embeddings(
    graph: KnowledgeGraph, dim: int, walk_length: int, epochs: int, seed: int, batch_size: int = 128
) -> npt.NDArray[np.float32]:
    """Skip-gram embeddings of random walks on the undirected simple graph.

    Needs DGL (its random walks and skip-gram). Runs on one thread: multi-threaded sparse-gradient sums
    differ in the last bits and Adam amplifies that to ~1e-4, so the same seed would not give the same
    features (costs ~10%).
    """
    if not dgl_importable():
        raise ConfigError(
            f"data.structural_method: deepwalk needs DGL ({DGL_INSTALL}); data.structural_method: spectral does not"
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with isolated_rng():  # the run's generators move the same whether this runs or the cache answers
            return _train_deepwalk(graph, dim, walk_length, epochs, seed, batch_size)
    finally:
        torch.set_num_threads(threads)


def _train_deepwalk(
    graph: KnowledgeGraph, dim: int, walk_length: int, epochs: int, seed: int, batch_size: int
) -> npt.NDArray[np.float32]:
    dgl = import_dgl()  # seeded with the run's seed on first import
    from dgl.nn.pytorch import DeepWalk

    random.seed(seed)  # DeepWalk draws negatives with Python's random
    torch.manual_seed(seed)
    dgl.seed(seed)
    g = dgl.to_bidirected(dgl.graph((graph.src, graph.dst), num_nodes=graph.num_nodes))
    isolated = torch.nonzero(g.in_degrees() == 0).flatten()
    if len(isolated):  # a walk needs a next step: nodes without edges walk on a self-loop
        g = dgl.add_edges(g, isolated, isolated)
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
    embeddings: npt.NDArray[np.float32] = model.node_embed.weight.detach().numpy()
    return embeddings


def degree_features(graph: KnowledgeGraph) -> npt.NDArray[np.float32]:
    """log(1 + degree) in, out and per incoming relation."""
    n = graph.num_nodes
    per_relation = np.zeros((n, graph.num_relations), dtype=np.float64)
    np.add.at(per_relation, (graph.dst, graph.rel), 1.0)
    totals = np.stack([np.bincount(graph.dst, minlength=n), np.bincount(graph.src, minlength=n)], axis=1)
    log_counts: npt.NDArray[np.float64] = np.log1p(np.concatenate([totals, per_relation], axis=1))
    return log_counts.astype(np.float32)


def structural_features(
    graph: KnowledgeGraph,
    method: StructuralMethod,
    cache_dir: str | Path,
    dim: int,
    walk_length: int,
    epochs: int,
    seed: int,
) -> npt.NDArray[np.float32]:
    """Spectral or DeepWalk embeddings, computed once per graph and settings and cached."""
    if method not in ("spectral", "deepwalk"):
        raise ConfigError(f"data.structural_method: '{method}' is not one of spectral, deepwalk")
    key: dict[str, Any] = {"graph": graph_fingerprint(graph), "dim": dim, "seed": seed}
    if method == "spectral":
        key["method"] = "spectral-v3"  # v3: one QR pass
        build = partial(spectral_embeddings, graph.src, graph.dst, graph.num_nodes, dim, seed)
    else:
        key.update(walk=walk_length, epochs=epochs, method="deepwalk-v1")
        build = partial(deepwalk_embeddings, graph, dim, walk_length, epochs, seed)
    return cached_array(cache_dir, "structural", key, (graph.num_nodes, dim), build)


def build_features(
    graph: KnowledgeGraph,
    names: list[str],
    cache_dir: str | Path,
    structural_dim: int = 64,
    structural_walk_length: int = 20,
    structural_epochs: int = 3,
    seed: int = 0,
    structural_method: StructuralMethod = "deepwalk",
) -> npt.NDArray[np.float32] | None:
    """Concatenate the named feature sets, in order; ``None`` for an empty list."""
    blocks = []
    for name in names:
        if name in ("given", "semantic") and name in graph.features:
            blocks.append(graph.features[name])
        elif name == "semantic":
            from datamodules.kg.text import text_embeddings

            blocks.append(text_embeddings(graph, cache_dir))
        elif name == "structural":
            blocks.append(
                structural_features(
                    graph, structural_method, cache_dir, structural_dim, structural_walk_length, structural_epochs, seed
                )
            )
        elif name == "degree":
            blocks.append(degree_features(graph))
        else:
            available = [n for n in FEATURE_SETS if n not in ("given",) or "given" in graph.features]
            raise DataError(f"data.features: unknown or unavailable feature set '{name}' (choose from {available})")
    return np.concatenate(blocks, axis=1) if blocks else None
