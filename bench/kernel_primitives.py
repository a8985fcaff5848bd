"""Milliseconds per call of the torch kernels' primitives on a real graph, forward and backward.

    python bench/kernel_primitives.py [--root ../shared/data/fb15k] [--heads 8] [--dim 8]

On the full FB15k message graph (607k edges with self-loops): a serial ``index_add_`` of [E, 4]
values into source nodes against the incidence product that replaced it, then each primitive of an
RGTN attention layer (``heads`` × ``dim``) timed with its backward, the costs BENCHMARKS.md quotes.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch

from datamodules import KnowledgeGraphDataModule
from nie.importance import kernels


def milliseconds(step: Callable[[], object], repeats: int = 10) -> float:
    step()  # warm-up: layouts and allocator
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data/fb15k")
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--dim", type=int, default=8)
    args = parser.parse_args()
    dm = KnowledgeGraphDataModule(root=args.root, features=["structural"], backend="torch")
    dm.setup()
    graph = dm.full_graph
    layout = graph.layout()
    n, e, h, d = graph.num_src, graph.num_edges, args.heads, args.dim
    values = torch.randn(e, 4)
    print(f"# {e} edges, {n} nodes, {torch.get_num_threads()} threads")
    serial = milliseconds(lambda: torch.zeros(n, 4).index_add_(0, graph.src, values))
    print(
        f"sum of [E, 4] into source nodes: index_add_ {serial:.1f} ms, incidence product "
        f"{milliseconds(lambda: layout.by_src.sum(values)):.1f} ms"
    )
    q = torch.randn(n, h, d, requires_grad=True)
    k = torch.randn(n, h, d, requires_grad=True)
    logits = torch.randn(e, h, requires_grad=True)
    weights = torch.rand(e, h, 1, requires_grad=True)
    table = torch.randn(dm.spec.num_relations, h, requires_grad=True)
    steps = {
        "per-edge dot products (u_dot_v)": lambda: kernels.u_dot_v(graph, k, q).sum().backward(),
        "edge softmax": lambda: (kernels.edge_softmax(graph, logits) * logits).sum().backward(),
        "weighted sums (u_mul_e_sum)": lambda: kernels.u_mul_e_sum(graph, q, weights).sum().backward(),
        "per-relation gather": lambda: kernels.per_relation(graph, table).sum().backward(),
    }
    for name, step in steps.items():
        print(f"{name}, {h} heads × {d}, forward + backward: {milliseconds(step):.1f} ms")


if __name__ == "__main__":
    main()
