"""How the graph side's cost grows with the graph: seconds and peak RSS per step on generated graphs.

    python bench/scale.py --sizes 10000 100000 1000000 --out results/scale/graphs.json [--work runs/scale]

Each size is a graph from the project's generator (``datamodules/kg/synthetic.py``: heavy-tailed
in-degrees, ``--degree`` edges per node, ``--relations`` relation types), written once as plain text
under ``--work`` (not timed). Then one fresh process per training mode runs the project's own steps
and reports each one's seconds and the process's peak RSS at its end:

* ``load``: the RGTN-layout reader (``node_info.tsv`` and the triples file);
* ``features``: the spectral structural embedding (``data.structural_method: spectral``), computed
  in each mode's process (a cache per mode);
* ``epoch``: one GENI epoch (2 layers, 4 heads) on every training node: ``full-batch`` on the torch
  kernels, skipped where the datamodule's memory check refuses the graph; ``sampled``: batches of
  ``--batch-size`` nodes with ``--fanouts`` neighbours (DGL);
* ``predict``: scores for every node.

Growth exponents (the slope of log seconds on log nodes between the two largest sizes run) go with
the rows; ``--figure`` draws the log-log curves.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STEPS = ("load", "features", "epoch", "predict")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_graph(work: Path, nodes: int, degree: int, relations: int) -> Path:
    """The generated graph of ``nodes`` nodes, written once (plain text: gzip would dominate the timing)."""
    from datamodules.kg.synthetic import write_synthetic_graph

    folder = work / f"graph-n{nodes}-d{degree}-r{relations}"
    if not (folder / "node_info.tsv").is_file():
        write_synthetic_graph(folder, num_nodes=nodes, num_relations=relations, avg_degree=degree, compress=False)
    return folder


def measure(folder: Path, mode: str, batch_size: int, fanouts: list[int], cache: Path) -> dict:
    """One mode's steps in this process: seconds and peak RSS (MiB) after each."""
    import torch
    import torch.nn.functional as F

    import datamodules.kg.datamodule as kg
    from datamodules import KnowledgeGraphDataModule
    from nie.core.errors import ConfigError
    from nie.importance import GENI

    row: dict = {"mode": mode}

    def timed(step: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = function(*args, **kwargs)
            row[step] = {"seconds": time.perf_counter() - start, "peak_rss_mib": peak_mib()}
            return result

        return wrapper

    kg.load_graph = timed("load", kg.load_graph)
    kg.build_features = timed("features", kg.build_features)
    sampled = dict(batch_size=batch_size, fanouts=fanouts) if mode == "sampled" else {}
    dm = KnowledgeGraphDataModule(
        root=str(folder), features=["structural"], structural_method="spectral", cache_dir=str(cache), **sampled
    )
    try:
        dm.setup()
    except ConfigError as refusal:  # the memory check: full batch does not fit
        return {**row, "refused": str(refusal)}
    torch.manual_seed(0)
    net = GENI(dm.spec, num_layers=len(fanouts), heads=4)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)

    def epoch() -> None:
        for batch in dm.train_dataloader():
            batch = dm.transfer_batch_to_device(batch, torch.device("cpu"), 0)
            loss = F.mse_loss(net(batch)[batch.target_index], batch.labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def predict() -> None:
        with torch.no_grad():
            for batch in dm.predict_dataloader():
                net(dm.transfer_batch_to_device(batch, torch.device("cpu"), 0))

    timed("epoch", epoch)()
    timed("predict", predict)()
    return row


def exponents(rows: list[dict]) -> dict:
    """Per (mode, step): the slope of log seconds on log nodes between the two largest sizes measured."""
    slopes: dict = {}
    for mode in sorted({r["mode"] for r in rows}):
        for step in STEPS:
            points = sorted((r["nodes"], r[step]["seconds"]) for r in rows if r["mode"] == mode and step in r)
            if len(points) >= 2:
                (n0, s0), (n1, s1) = points[-2:]
                slopes[f"{mode} {step}"] = round(float(np.log(s1 / s0) / np.log(n1 / n0)), 2)
    return slopes


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (seconds, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in rows}):
        for step in STEPS:
            points = sorted((r["nodes"], r[step]) for r in rows if r["mode"] == mode and step in r)
            if points and not (mode == "sampled" and step in ("load", "features")):  # the same reader either way
                nodes = [n for n, _ in points]
                label = step if step in ("load", "features") else f"{step} ({mode})"
                seconds.loglog(nodes, [p["seconds"] for _, p in points], marker="o", label=label)
                memory.loglog(nodes, [p["peak_rss_mib"] / 1024 for _, p in points], marker="o", label=label)
    seconds.set(xlabel="nodes", ylabel="seconds", title="time per step")
    memory.set(xlabel="nodes", ylabel="GiB", title="peak RSS at the step's end")
    seconds.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--relations", type=int, default=300)
    parser.add_argument("--modes", nargs="+", choices=["full-batch", "sampled"], default=["full-batch", "sampled"])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--fanouts", type=int, nargs="+", default=[10, 10])
    parser.add_argument("--work", type=Path, default=Path("runs/scale"), help="generated graphs and caches")
    parser.add_argument("--out", type=Path, help="JSON of the rows and exponents")
    parser.add_argument("--figure", type=Path, help="log-log PNG of seconds and peak RSS per step")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # internal: one (graph, mode) run
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        cache = args.work / f"cache-{args.mode}"  # each mode computes the features itself
        print(json.dumps(measure(args.measure, args.mode, args.batch_size, args.fanouts, cache)))
        return
    rows = []
    for nodes in args.sizes:
        folder = write_graph(args.work, nodes, args.degree, args.relations)
        for mode in args.modes:
            command = [sys.executable, __file__, "--measure", str(folder), "--mode", mode, "--work", str(args.work)]
            command += ["--batch-size", str(args.batch_size), "--fanouts", *map(str, args.fanouts)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{nodes} nodes, {mode}: failed\n{done.stderr[-2000:]}")
            row = {"nodes": nodes, "edges_per_node": args.degree, **json.loads(done.stdout.splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"machine": f"{platform.processor() or platform.machine()}, {platform.system()}", "rows": rows}
    result["exponents"] = exponents(rows)
    print(json.dumps(result["exponents"]))
    if args.out:
        from nie.core.io import write_json

        write_json(args.out, result)
    if args.figure:
        figure(rows, args.figure)


if __name__ == "__main__":
    main()
