"""How many input nodes sampled prediction computes per predicted node: each batch's whole two-hop
in-neighbourhood (prediction takes every neighbour), on the graphs ``bench/scale.py`` writes.

    OMP_NUM_THREADS=1 python bench/sampled_frontier.py /work/scale_work/graph-n100000-d10-r300 \\
        /work/scale_work/graph-n1000000-d10-r300 --batches 50

Per graph: the mean input nodes and block edges per batch of ``--batch-size`` seeds (in id order,
as prediction takes them), per seed, the share of the graph one batch covers, and the sampler's
seconds per batch. Sampling only: no network runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def frontier(root: str, layers: int, batch_size: int, batches: int) -> dict[str, float]:
    import dgl
    import torch

    from datamodules.kg.io import load_graph

    graph = load_graph(root)
    g = dgl.graph((torch.from_numpy(graph.src), torch.from_numpy(graph.dst)), num_nodes=graph.num_nodes)
    sampler = dgl.dataloading.MultiLayerNeighborSampler([-1] * layers)
    loader = dgl.dataloading.DataLoader(g, torch.arange(graph.num_nodes), sampler, batch_size=batch_size)
    inputs, edges, start = [], [], time.perf_counter()
    for count, (input_nodes, _, blocks) in enumerate(loader, 1):
        inputs.append(len(input_nodes))
        edges.append(sum(block.num_edges() for block in blocks))
        if count == batches:
            break
    seconds = (time.perf_counter() - start) / len(inputs)
    return {
        "nodes": graph.num_nodes,
        "inputs per seed": float(np.mean(inputs)) / batch_size,
        "block edges per seed": float(np.mean(edges)) / batch_size,
        "share of the graph per batch": float(np.mean(inputs)) / graph.num_nodes,
        "sampling s per batch": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graphs", nargs="+", help="graph folders (RGTN layout)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=50, help="batches sampled per graph")
    args = parser.parse_args()
    for root in args.graphs:
        row = frontier(root, args.layers, args.batch_size, args.batches)
        print(", ".join(f"{k} {v:,.3g}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
