"""How cost grows with the graph and with the fleet: seconds and peak RSS per step on generated data.

    python bench/scale.py --sizes 10000 100000 1000000 --out results/scale/graphs.json [--work runs/scale]
    python bench/scale.py --sizes 10000 100000 1000000 10000000 --modes sampled --eval-batch-size 1000000 \\
        --work /work/scale_work --out results/scale/graphs.json --figure results/scale/graphs.png
    python bench/scale.py --fleets 10 100 2000 --out results/scale/fleets.json

Each size is a graph from the project's generator (``datamodules/kg/synthetic.py``: heavy-tailed
in-degrees, ``--degree`` edges per node, ``--relations`` relation types), written once as plain text
under ``--work`` (not timed). Then one fresh process per training mode runs the project's own steps
and reports each one's seconds and the process's peak RSS at its end:

* ``load``: the RGTN-layout reader (``node_info.tsv`` and the triples file);
* ``features``: the spectral structural embedding (``data.structural_method: spectral``), computed
  in each mode's process (its feature cache is a fresh temporary folder);
* ``epoch``: one GENI epoch (2 layers, 4 heads) on every training node: ``full-batch`` on the torch
  kernels; ``sampled``: batches of
  ``--batch-size`` nodes with ``--fanouts`` neighbours (DGL);
* ``predict``: scores for every node, the network in eval mode as ``predict.py`` runs it (dropout off).
  Sampled prediction takes every neighbour (``data.fanouts`` are for training) one layer at a time:
  ``--eval-batch-size`` (``data.eval_batch_size``; default ``--batch-size``) destination nodes per step
  (the same outputs for any size). Both the epoch and the prediction are timed whole by default. For
  exploration only, ``--epoch-batches N`` times the first N training batches and extrapolates to all of
  them: such a row says so (``extrapolated``, and ``epoch_batches``: timed and all).
  ``--full-batch-up-to`` caps the sizes that also run full batch.

Fleets: ``--fleets`` stations × ``--years`` of hourly solar-like power with two NWP covariates
(generated, written once as CSV); one process per fleet runs the power datamodule's ``load``
(read, check, scale and index the windows: 168 h history, 24 h horizon, stride 24) and
``--batches`` LSTM training steps of 128 windows (the GEFCom configuration's network), with the
epoch's time extrapolated from them (an epoch of 2,000 stations would take hours on two cores).

Growth exponents go with the rows: ``exponents``, the slope of log seconds on log nodes between the two
largest sizes run, and ``exponents_from``, between ``--exponents-from`` nodes (default 10^5, the issue's
span) and the largest; ``--figure`` draws the log-log curves. ``--load`` records what else ran on the
machine meanwhile (two shared cores: the times depend on it); each row records the threads it used.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nie.core.provenance import PROVENANCE_KEY, provenance  # imported first: the commit the run started at

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: bench/ is not installed
from bench.refusals import check_at_least_one, check_outputs, refused_in_one_line  # noqa: E402

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


def timed(row: dict, step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, recording in ``row[step]`` its seconds and the peak RSS (MiB) after each call."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = function(*args, **kwargs)
        row[step] = {"seconds": time.perf_counter() - start, "peak_rss_mib": peak_mib()}
        return result

    return wrapper


def timed_datamodule(row: dict, folder: Path, cache: Path, sampled: dict) -> Any:
    """The graph's datamodule, set up, its ``load`` and ``features`` steps timed into ``row``."""
    import datamodules.kg.datamodule as kg
    from datamodules import KnowledgeGraphDataModule

    # patched where the datamodule looks them up (its module namespace), so the steps time themselves
    kg.load_graph = timed(row, "load", kg.load_graph)  # type: ignore[attr-defined]
    kg.build_features = timed(row, "features", kg.build_features)  # type: ignore[attr-defined]
    dm = KnowledgeGraphDataModule(
        root=str(folder),
        features=["structural"],
        structural_method="spectral",
        cache_dir=str(cache),
        **sampled,
    )
    dm.setup()
    return dm


def train_epoch(row: dict, dm: Any, net: Any, optimizer: Any, limit: int) -> None:
    """One training epoch (its first ``limit`` batches where ``limit`` > 0); the batches timed and all in
    ``row``."""
    import torch
    import torch.nn.functional as F

    loader = dm.train_dataloader()
    for count, batch in enumerate(loader, 1):
        batch = dm.transfer_batch_to_device(batch, torch.device("cpu"), 0)
        loss = F.mse_loss(net(batch)[batch.target_index], batch.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if count == limit:
            break
    row["epoch_batches"] = {"timed": count, "all": len(loader)}


def predict_all(row: dict, dm: Any, net: Any) -> None:
    """Scores for every node in eval mode, as a run's prediction computes them (a sampled run's: one layer at a
    time, ``data.eval_batch_size`` nodes per step)."""
    import torch

    from nie.importance.layerwise import evaluation_step, network_outputs

    net.eval()
    with torch.no_grad():
        for batch in dm.predict_dataloader():
            network_outputs(
                net, dm.transfer_batch_to_device(batch, torch.device("cpu"), 0), evaluation_step(dm.hparams)
            )


def measure(
    folder: Path,
    mode: str,
    batch_size: int,
    fanouts: list[int],
    cache: Path,
    epoch_batches: int,
    eval_batch_size: int | None = None,
) -> dict:
    """One mode's steps in this process: seconds and peak RSS (MiB) after each."""
    import torch

    from nie.importance import GENI

    row: dict = {"threads": torch.get_num_threads()}
    sampled = dict(batch_size=batch_size, fanouts=fanouts, eval_batch_size=eval_batch_size) if mode == "sampled" else {}
    if mode == "sampled":
        row["eval_batch_size"] = eval_batch_size or batch_size
    dm = timed_datamodule(row, folder, cache, sampled)
    torch.manual_seed(0)
    net = GENI(dm.spec, num_layers=len(fanouts), heads=4)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    timed(row, "epoch", train_epoch)(row, dm, net, optimizer, epoch_batches)
    timed(row, "predict", predict_all)(row, dm, net)
    row["extrapolated"] = []
    batches = row["epoch_batches"]
    if batches["timed"] < batches["all"]:  # only with --epoch-batches: the first batches' time
        row["epoch"]["seconds"] *= batches["all"] / batches["timed"]
        row["extrapolated"].append("epoch")
    return row


def write_fleet(work: Path, stations: int, years: int) -> Path:
    """A fleet of ``stations`` solar-like series, ``years`` × 8,760 hours each, written once as CSV."""
    import pandas as pd

    path = work / f"fleet-s{stations}-y{years}.csv"
    if path.is_file():
        return path
    rng = np.random.default_rng(0)
    times = pd.date_range("2020-01-01 00:00", periods=years * 8760, freq="1h")
    sun = np.clip(np.sin(2 * np.pi * (np.asarray(times.hour) - 6) / 24), 0, None).astype(np.float32)
    cloud = rng.uniform(0, 1, size=(stations, len(times) // 24 + 1)).repeat(24, axis=1)[:, : len(times)]
    irradiance = sun * (1 - 0.7 * cloud.astype(np.float32))
    power = np.clip(
        irradiance * rng.uniform(0.7, 1.0, size=(stations, 1)) + rng.normal(0, 0.02, irradiance.shape), 0, None
    )
    table = pd.DataFrame(
        {
            "time": np.tile(times, stations),
            "station": np.repeat(np.arange(stations), len(times)),
            "irradiance": irradiance.ravel(),
            "temperature": (15 + 10 * sun + rng.normal(0, 1, irradiance.shape)).astype(np.float32).ravel(),
            "power": power.astype(np.float32).ravel(),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def measure_fleet(path: Path, batches: int) -> dict:
    """The power datamodule's setup and ``batches`` LSTM steps in this process."""
    import torch
    import torch.nn.functional as F

    from datamodules import PowerDataModule
    from nie.forecasting import LSTMForecaster

    row: dict = {}
    start = time.perf_counter()
    dm = PowerDataModule(
        path=str(path),
        val_start="2021-07-01 00:00",
        test_start="2021-10-01 00:00",
        known_covariates=["irradiance", "temperature"],
        capacity=1.0,
        stride=24,
        batch_size=128,
    )
    dm.setup("fit")
    row["load"] = {"seconds": time.perf_counter() - start, "peak_rss_mib": peak_mib()}
    row["data_mib"] = data_mib(dm)
    torch.manual_seed(0)
    net = LSTMForecaster(dm.spec, hidden=64, num_layers=2, station_embedding_dim=4)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = dm.train_dataloader()
    start, steps = time.perf_counter(), 0
    for batch in loader:
        loss = F.mse_loss(net(batch), batch.target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
        if steps == batches:
            break
    seconds = time.perf_counter() - start
    row["epoch"] = {"seconds": seconds / steps * len(loader), "peak_rss_mib": peak_mib(), "steps_timed": steps}
    row["windows_per_epoch"] = len(loader.dataset)
    return row


def data_mib(dm: Any) -> dict:
    """The data itself, counted from the arrays a set-up power datamodule holds (each array once: the
    untransformed target is one array shared by the series and the window arrays): ``raw_numbers``, the
    series' target and covariates; ``held``, everything an epoch keeps (series with times, window arrays)."""
    seen: dict[int, int] = {}

    def count(*arrays: np.ndarray) -> int:
        fresh = {id(a): a.nbytes for a in arrays if id(a) not in seen}
        seen.update(fresh)
        return sum(fresh.values())

    raw = sum(count(s.target, s.known, s.past) for s in dm.series)
    held = raw + sum(count(s.times.values, s.static) for s in dm.series)
    held += sum(count(*(getattr(a, f.name) for f in fields(a))) for a in dm.datasets["train"].stations)
    return {"raw_numbers": raw / 2**20, "held": held / 2**20}


def exponents(rows: list[dict], size: str, smallest: int | None = None) -> dict:
    """Per (mode, step): the slope of log seconds on log ``size`` from the second largest size measured
    (or from ``smallest``, where measured) to the largest."""
    slopes: dict = {}
    for mode in sorted({r["mode"] for r in rows}):
        for step in STEPS:
            points = sorted((r[size], r[step]["seconds"]) for r in rows if r["mode"] == mode and step in r)
            start = [p for p in points if p[0] == smallest] if smallest is not None else points[-2:-1]
            if len(points) >= 2 and start and start[0] != points[-1]:
                (n0, s0), (n1, s1) = start[0], points[-1]
                slopes[f"{mode} {step}"] = round(float(np.log(s1 / s0) / np.log(n1 / n0)), 2)
    return slopes


def figure(rows: list[dict], size: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (seconds, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in rows}):
        for step in STEPS:
            points = sorted((r[size], r[step]) for r in rows if r["mode"] == mode and step in r)
            if points:
                label = f"{step} ({mode})"
                sizes = [n for n, _ in points]
                seconds.loglog(sizes, [p["seconds"] for _, p in points], marker="o", label=label)
                memory.loglog(sizes, [p["peak_rss_mib"] / 1024 for _, p in points], marker="o", label=label)
    seconds.set(xlabel=size, ylabel="seconds", title="time per step")
    memory.set(xlabel=size, ylabel="GiB", title="peak RSS at the step's end")
    seconds.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run_child(args: argparse.Namespace, *extra: str) -> dict:
    """One measurement in a fresh process (its peak RSS its own)."""
    command = [sys.executable, __file__, "--work", str(args.work), "--batch-size", str(args.batch_size)]
    command += ["--fanouts", *map(str, args.fanouts), "--batches", str(args.batches)]
    command += ["--epoch-batches", str(args.epoch_batches)]
    command += [] if args.eval_batch_size is None else ["--eval-batch-size", str(args.eval_batch_size)]
    command += [*extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(extra)}: failed\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def check_counts(args: argparse.Namespace) -> None:
    """One line for a count that cannot be: sizes and batch sizes >= 1, batches timed >= 0 (0: all),
    fanouts -1 (every neighbour) or >= 1 (checked here too: the datamodule's check comes after the graph is written)."""
    from nie.core.errors import ConfigError

    positive = {"--batch-size": [args.batch_size], "--eval-batch-size": [args.eval_batch_size]}
    check_at_least_one(positive | {"--sizes": args.sizes, "--fleets": args.fleets or []})
    if args.epoch_batches < 0:
        raise ConfigError(f"--epoch-batches {args.epoch_batches}: expected a number >= 0 (0: every batch)")
    if any(f == 0 or f < -1 for f in args.fanouts):
        raise ConfigError(f"--fanouts {' '.join(map(str, args.fanouts))}: expected each -1 (every neighbour) or >= 1")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="graph nodes")
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--relations", type=int, default=300)
    parser.add_argument("--modes", nargs="+", choices=["full-batch", "sampled"], default=["full-batch", "sampled"])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--fanouts", type=int, nargs="+", default=[10, 10])
    parser.add_argument(
        "--eval-batch-size", type=int, help="destination nodes per step of sampled prediction (default: --batch-size)"
    )
    parser.add_argument(
        "--epoch-batches", type=int, default=0, help="sampled training batches timed (0: all; else extrapolated)"
    )
    parser.add_argument("--exponents-from", type=int, default=100_000, help="smallest size of exponents_from")
    parser.add_argument("--load", default="", help="what else ran on the machine meanwhile (recorded)")
    parser.add_argument("--full-batch-up-to", type=int, help="largest graph also run full batch (default: all)")
    parser.add_argument("--fleets", type=int, nargs="+", help="station counts (instead of graphs)")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--batches", type=int, default=100, help="LSTM steps timed per fleet")
    parser.add_argument("--work", type=Path, default=Path("runs/scale"), help="generated data and caches")
    parser.add_argument("--out", type=Path, help="JSON of the rows and exponents")
    parser.add_argument("--figure", type=Path, help="log-log PNG of seconds and peak RSS per step")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # internal: one graph/fleet run
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    return parser


def measure_here(args: argparse.Namespace) -> dict:
    """--measure: one graph mode or fleet in this process (a child of ``run_child``)."""
    if args.mode == "fleet":
        return measure_fleet(args.measure, args.batches)
    # each mode computes the features itself
    with tempfile.TemporaryDirectory(dir=args.work) as cache:  # features computed, never read back
        return measure(
            args.measure,
            args.mode,
            args.batch_size,
            args.fanouts,
            Path(cache),
            args.epoch_batches,
            args.eval_batch_size,
        )


def refuse_bad_options(args: argparse.Namespace) -> None:
    """Exit with one line for a count that cannot be or an output that cannot be written, before any run."""
    with refused_in_one_line():
        check_counts(args)
        check_outputs({"--out": args.out, "--figure": args.figure})


def measure_all(args: argparse.Namespace, size: str) -> list[dict]:
    """Every size (or fleet) and mode in its own process, each row printed as it comes."""
    rows = []
    for count in args.fleets or args.sizes:
        if args.fleets:
            runs = [("fleet", write_fleet(args.work, count, args.years))]
        else:
            folder = write_graph(args.work, count, args.degree, args.relations)
            capped = args.full_batch_up_to is not None and count > args.full_batch_up_to
            runs = [(mode, folder) for mode in args.modes if not (capped and mode == "full-batch")]
        for mode, path in runs:
            row = {size: count, "mode": mode, **run_child(args, "--measure", str(path), "--mode", mode)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summary(args: argparse.Namespace, rows: list[dict], size: str, started: float) -> dict[str, Any]:
    """The result JSON: the machine, the rows, their growth exponents and the provenance."""
    result: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, {platform.system()}"}
    result |= {"load": args.load, "rows": rows, "exponents": exponents(rows, size)}
    result["exponents_from"] = {size: args.exponents_from, "slopes": exponents(rows, size, args.exponents_from)}
    config = {
        key: value if isinstance(value, (int, list, type(None))) else str(value) for key, value in vars(args).items()
    }
    result[PROVENANCE_KEY] = provenance(config=config, wall_seconds=time.perf_counter() - started)
    return result


def main() -> None:
    args = arguments().parse_args()
    if args.measure:
        print(json.dumps(measure_here(args)))
        return
    refuse_bad_options(args)
    size, started = "stations" if args.fleets else "nodes", time.perf_counter()
    rows = measure_all(args, size)
    result = summary(args, rows, size, started)
    print(json.dumps(result["exponents"]))
    if args.out:
        from nie.core.io import write_json

        write_json(args.out, result)
    if args.figure:
        figure(rows, size, args.figure)


if __name__ == "__main__":
    main()
