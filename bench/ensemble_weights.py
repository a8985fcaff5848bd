"""Seconds to fit one fold's ensemble weights on the simplex grid, by number of members.

    python bench/ensemble_weights.py                     # 2-5 members, 0.05 grid, 1,411 validation nodes
    python bench/ensemble_weights.py --members 3 --step 0.1

The members' validation predictions are seeded noisy copies of one label vector (FB15k's fold size by
default). Each grid point is scored two ways in the same run: by the monitored metric alone (what
``nie.protocols.importance.ensemble.fit_weights`` does) and by the whole metric collection (NDCG@100, Spearman,
OVERLAP@100, RMSE), the cost the monitor-only scoring removes.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from nie.importance.metrics import importance_metrics
from nie.protocols.importance.ensemble import FoldPredictions, Weighting, fit_weights, score, simplex_grid


def members(count: int, nodes: int, seed: int) -> list[FoldPredictions]:
    rng = np.random.default_rng(seed)
    label = rng.normal(size=nodes).astype(np.float32)
    node = {"val": np.arange(nodes)}
    return [
        FoldPredictions(
            prediction={"val": label + rng.normal(scale=0.5, size=nodes).astype(np.float32)},
            label={"val": label},
            node=node,
        )
        for _ in range(count)
    ]


def seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--nodes", type=int, default=1411)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, {args.nodes} nodes")
    print("| members | grid points | monitor only, s | whole collection, s | × monitor only |")
    print("|---|---|---|---|---|")
    make_metrics = lambda: importance_metrics(100)  # noqa: E731
    weighting = Weighting(grid_step=args.step)
    for count in args.members:
        fold = members(count, args.nodes, args.seed)
        grid = simplex_grid(count, args.step)
        fast = seconds(lambda: fit_weights(fold, weighting, make_metrics, "val/spearman", "max"))
        stacked = np.stack([m.prediction["val"] for m in fold], axis=1)
        label = fold[0].label["val"]
        slow = seconds(lambda: [score(make_metrics, stacked @ w, label)["spearman"] for w in grid])
        print(f"| {count} | {len(grid)} | {fast:.2f} | {slow:.2f} | {slow / fast:.1f} |")


if __name__ == "__main__":
    main()
