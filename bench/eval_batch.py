"""What ``data.eval_batch_size`` costs in a sampled run's prediction, and that it changes no prediction.

    python bench/eval_batch.py GRAPH_FOLDER --sizes 1024 131072 [--out eval_batch.json]

One process: the graph (RGTN layout, e.g. one ``bench/scale.py`` wrote under its ``--work``) is loaded
and its spectral features computed once; then, per evaluation batch size, an untrained GENI (2 layers,
4 heads, seed 0) predicts every node as a sampled run evaluates: one layer at a time, that many
destination nodes per step, every neighbour (``nie.importance.layerwise``). Reported per size: seconds,
seconds per 10^5 nodes, the process's peak RSS so far (give the sizes in increasing order to read each
one's), and the largest difference from the first size's predictions (float noise only).

``--stand-in-features`` replaces the spectral features by seeded random ones of the same shape (a
prediction's time and memory do not depend on the values): a large graph's batch memory without
computing its features first, e.g. which ``data.eval_batch_size`` fits under a memory target at 10^7 nodes:

    python bench/eval_batch.py /work/scale_work/graph-n10000000-d10-r300 --sizes 100000 --stand-in-features
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nie.core.provenance import provenance, stamped

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: bench/ is not installed
from bench.refusals import check_at_least_one, check_outputs, refused_in_one_line  # noqa: E402


def stand_in_features(graph: Any, names: list[str], cache_dir: Any, structural_dim: int = 64, **_: Any) -> Any:
    """Seeded random [nodes, structural_dim] float32 features in place of ``build_features``'s."""
    return np.random.default_rng(0).standard_normal((graph.num_nodes, structural_dim), dtype=np.float32)


def predictions(folder: Path, cache: Path, eval_batch_size: int) -> tuple[float, torch.Tensor]:
    """Seconds to predict every node, and the predictions (features read from ``cache``)."""
    from datamodules import KnowledgeGraphDataModule
    from nie.importance import GENI
    from nie.importance.layerwise import evaluation_step, network_outputs
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
    start = time.perf_counter()
    with torch.no_grad():
        (batch,) = list(dm.predict_dataloader())
        scores = split_outputs(network_outputs(net, batch, evaluation_step(dm.hparams)))[0]
    return time.perf_counter() - start, scores


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", type=Path, help="a graph folder in the RGTN layout")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 131072], help="evaluation batch sizes")
    parser.add_argument("--out", type=Path, help="JSON of the rows")
    parser.add_argument("--stand-in-features", action="store_true", help="random features of the same shape")
    return parser.parse_args()


def refuse_bad_options(args: argparse.Namespace) -> None:
    """Exit with one line for a size below 1 or an ``--out`` that cannot be written, before anything is loaded."""
    with refused_in_one_line():
        check_at_least_one({"--sizes": args.sizes})
        check_outputs({"--out": args.out})


def measure_sizes(args: argparse.Namespace) -> list[dict]:
    """One row per size, each printed as it comes; a graph folder the datamodule refuses exits in its one line."""
    from nie.core.errors import NIEError, user_line

    rows, reference = [], None
    with tempfile.TemporaryDirectory() as cache:  # features computed by the first size, read by the others
        for size in args.sizes:
            try:
                seconds, scores = predictions(args.graph, Path(cache), size)
            except NIEError as refusal:
                sys.exit(f"error: {user_line(refusal)}")
            reference = scores if reference is None else reference
            difference = float((scores - reference).abs().max())
            row = {"eval_batch_size": size, "nodes": len(scores), "seconds": seconds}
            row |= {"seconds_per_1e5_nodes": seconds / len(scores) * 1e5, "max_difference": difference}
            row["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            rows.append(row)
            print(row, flush=True)
    return rows


def main() -> None:
    args = arguments()
    refuse_bad_options(args)
    if args.stand_in_features:
        import datamodules.kg.datamodule as kg

        kg.build_features = stand_in_features  # type: ignore[attr-defined,assignment]  # where the datamodule looks
    rows = measure_sizes(args)
    if args.out:
        from nie.core.io import write_json

        record = {"graph": str(args.graph), "stand_in_features": args.stand_in_features, "rows": rows}
        write_json(args.out, stamped(record, provenance()))


if __name__ == "__main__":
    main()
