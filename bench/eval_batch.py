"""What ``data.eval_batch_size`` saves in sampled prediction, and that it changes no prediction.

    python bench/eval_batch.py GRAPH_FOLDER --sizes 1024 131072 --nodes 131072 [--out results/scale/eval_batch.json]

One process: the graph (RGTN layout, e.g. one ``bench/scale.py`` wrote under its ``--work``) is loaded
and its spectral features computed once; then, per evaluation batch size, an untrained GENI (2 layers,
4 heads, seed 0) predicts the batches covering the first ``--nodes`` nodes of the prediction order with
every neighbour (as sampled runs evaluate). Reported per size: nodes predicted, seconds, seconds per
10^5 nodes, and the largest difference from the first size's predictions on the nodes both predicted
(float noise only: evaluation takes every neighbour).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from nie.core.provenance import provenance, stamped


def predictions(folder: Path, cache: Path, eval_batch_size: int, nodes: int) -> tuple[float, torch.Tensor]:
    """Seconds to predict the whole batches covering the first ``nodes`` nodes, and all their predictions
    (features read from ``cache``)."""
    from datamodules import KnowledgeGraphDataModule
    from nie.importance import GENI
    from nie.importance.task import split_outputs

    dm = KnowledgeGraphDataModule(
        root=str(folder),
        features=["structural"],
        structural_method="spectral",
        cache_dir=str(cache),
        batch_size=1024,
        fanouts=[10, 10],
        eval_batch_size=eval_batch_size,
    )
    dm.setup()
    torch.manual_seed(0)
    net = GENI(dm.spec, num_layers=2, heads=4).eval()
    outputs, done = [], 0
    start = time.perf_counter()
    with torch.no_grad():
        for batch in dm.predict_dataloader():
            outputs.append(split_outputs(net(batch))[0])
            done += len(batch.output_nodes)
            if done >= nodes:
                break
    return time.perf_counter() - start, torch.cat(outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", type=Path, help="a graph folder in the RGTN layout")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 131072], help="evaluation batch sizes")
    parser.add_argument("--nodes", type=int, default=131072, help="nodes predicted per size")
    parser.add_argument("--out", type=Path, help="JSON of the rows")
    args = parser.parse_args()
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as cache:  # features computed by the first size, read by the others
        for size in args.sizes:
            seconds, scores = predictions(args.graph, Path(cache), size, args.nodes)
            reference = scores if reference is None else reference
            shared = min(len(scores), len(reference))
            difference = float((scores[:shared] - reference[:shared]).abs().max())
            row = {"eval_batch_size": size, "nodes": len(scores), "seconds": seconds}
            row |= {"seconds_per_1e5_nodes": seconds / len(scores) * 1e5, "max_difference": difference}
            rows.append(row)
            print(row, flush=True)
    if args.out:
        from nie.core.io import write_json

        write_json(args.out, stamped({"graph": str(args.graph), "rows": rows}, provenance()))


if __name__ == "__main__":
    main()
