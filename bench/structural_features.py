"""Seconds to compute `structural` node features, spectral against DeepWalk, on one generated graph.

    python bench/structural_features.py                        # 114,805 nodes, ~760k edges, both methods
    python bench/structural_features.py --methods spectral     # seconds only
    python bench/structural_features.py --nodes 20000 --degree 7

The graph is the project's seeded synthetic knowledge graph (preferential attachment, planted
importance), sized like the held-out graph the issue reports (114,805 nodes, 761,648 edges).
Each method runs once, uncached, in this process; DeepWalk with the datamodule's defaults
(64 dimensions, walks of 20, 3 epochs).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from datamodules.kg.features import deepwalk_embeddings
from datamodules.kg.graph import KnowledgeGraph
from datamodules.kg.spectral import spectral_embeddings
from datamodules.kg.synthetic import make_synthetic_tables


def synthetic_graph(num_nodes: int, avg_degree: int, seed: int) -> KnowledgeGraph:
    nodes, triples = make_synthetic_tables(num_nodes=num_nodes, avg_degree=avg_degree, seed=seed)
    return KnowledgeGraph(
        triples[:, 0],
        triples[:, 2],
        triples[:, 1],
        nodes["score"].to_numpy(np.float64),
        nodes["valid"].to_numpy(bool),
        int(triples[:, 1].max()) + 1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=114_805)
    parser.add_argument("--degree", type=int, default=7, help="edges drawn per node (before duplicates drop)")
    parser.add_argument("--methods", nargs="+", default=["spectral", "deepwalk"], choices=["spectral", "deepwalk"])
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    graph = synthetic_graph(args.nodes, args.degree, seed=0)
    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads; "
        f"{graph.num_nodes:,} nodes, {graph.num_edges:,} edges, dim {args.dim}"
    )
    print("| method | seconds | × spectral |\n|---|---|---|")
    first = None
    for method in args.methods:
        start = time.perf_counter()
        if method == "spectral":
            spectral_embeddings(graph.src, graph.dst, graph.num_nodes, args.dim, seed=0)
        else:
            deepwalk_embeddings(graph, args.dim, walk_length=20, epochs=3, seed=0)
        seconds = time.perf_counter() - start
        first = first or seconds
        print(f"| {method} | {seconds:.1f} | {seconds / first:.1f} |", flush=True)


if __name__ == "__main__":
    main()
