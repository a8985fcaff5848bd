"""The prepared GPU check: kernel agreement on the device, GENI and RGTN 5-fold on FB15k, the GEFCom2014 LSTM.

    bash bench/device_prepare.sh               # here, once: data, feature cache and wheels into .device/
    bash bench/device_check.sh                 # on the GPU machine (carry .device): within 8 minutes
    bash bench/device_check.sh --smoke         # on CPU, generated data, a few minutes: the suite runs this

Each item runs the project's own commands (``train.py cv``, ``fit``, ``test``) in a fresh process
with a time limit inside one overall deadline, writes its JSON under ``--out`` (default ``$OUT``)
and prints one summary line; ``summary.json`` is rewritten after every item, so a run cut short
still reports what finished. Run folders go to a temporary directory, not under ``--out``.
``--smoke`` runs the same commands on generated graphs and series with a few epochs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nie.core.provenance import provenance, stamped  # noqa: E402
from nie.importance.agreement import agreement  # noqa: E402

ITEMS = ("kernels", "geni", "rgtn", "lstm")
LIMITS = {"geni": 120, "rgtn": 180, "lstm": 120}  # seconds per training item (fit and test together)
DEADLINE = 470  # seconds for everything: 8 minutes less start-up
GEFCOM = Path("power") / "gefcom2014_solar" / "gefcom2014_solar_hourly.csv.gz"
FB15K = ("fb15k_rel-all.txt.gz", "node_info.tsv", "rel_name.json")
TRAINING_PACKAGES = ("jsonargparse", "docstring_parser", "typeshed_client", "lightning")


def default_data() -> Path:
    """The prepared copy (``.device/data``), a ``shared/data`` inside the checkout, or the one beside it."""
    for candidate in (ROOT / ".device" / "data", ROOT / "shared" / "data", ROOT.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data"


def default_cache() -> Path:
    prepared = ROOT / ".device" / "cache"
    return prepared if prepared.is_dir() else ROOT / ".cache" / "nie"


def missing_inputs(data: Path, items: list[str]) -> list[str]:
    """What the full mode's items need and cannot find, as readable lines."""
    missing = [name for name in TRAINING_PACKAGES if importlib.util.find_spec(name) is None]
    lines = [f"packages {', '.join(missing)} (bash bench/device_prepare.sh, then carry .device)"] if missing else []
    if {"geni", "rgtn"} & set(items):
        lines += [str(data / "fb15k" / f) for f in FB15K if not (data / "fb15k" / f).is_file()]
    if "lstm" in items and not (data / GEFCOM).is_file():
        lines.append(str(data / GEFCOM))
    return lines


def cv_args(network: str, data: Path, cache: Path, smoke: bool, graph: Path | None) -> list[str]:
    """``train.py cv`` of a shipped FB15k config; smoke: on a generated graph, one fold, one validation."""
    args = ["cv", "--config", str(ROOT / "configs" / "fb15k" / f"{network}.yaml")]
    args += ["--data.init_args.cache_dir", str(cache)]
    if not smoke:
        return args + ["--data.init_args.root", str(data / "fb15k")]
    assert graph is not None
    args += ["--data.init_args.root", str(graph), "--data.init_args.dataset", "synthetic", "--folds", "0"]
    args += ["--data.init_args.structural_method", "spectral", "--trainer.max_epochs", "5"]
    if network == "rgtn":
        args += ["--data.init_args.semantic_features", "[degree]"]
    return args


def lstm_config(data: Path, smoke: bool, work: Path) -> list[str]:
    if not smoke:
        config = ROOT / "configs" / "gefcom2014" / "lstm.yaml"
        return ["--config", str(config), "--data.init_args.path", str(data / GEFCOM)]
    from tests.power_data import write_power_config

    return ["--config", str(write_power_config(work / "series"))]


def run(command: list[str], work: Path, limit: float, log: Path) -> tuple[str, float]:
    """One command in ``work`` (run directories land there), its output in ``log``: status and seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    if limit <= 0:
        return "skipped (no time left)", 0.0
    with log.open("a") as out:
        try:
            done = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=limit)
            status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode}, see {log.name})"
        except subprocess.TimeoutExpired:
            status = f"timeout after {limit:.0f} s"
    return status, time.perf_counter() - start


def figures(path: Path, keys: tuple[str, ...]) -> str:
    """The mean of each metric in a cv table, or the value in a metrics file, as 'key value, ...'."""
    if not path.is_file():
        return ""
    table = json.loads(path.read_text())
    found = {k: (table[k]["mean"] if isinstance(table[k], dict) else table[k]) for k in keys if k in table}
    return ", ".join(f"{k} {v:.4f}" for k, v in found.items())


def kernels_item(device: str, out: Path) -> tuple[str, str]:
    try:
        result = agreement(device)
    except Exception as err:  # noqa: BLE001 - a device's sparse kernels may raise anything; report it, go on
        return f"failed ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})", ""
    (out / "kernels.json").write_text(json.dumps(stamped(result, provenance(config={"device": device})), indent=1))
    worst = max(r["max_abs_difference"] for r in result["networks"].values())
    status = "ok" if result["agree"] else "failed (differences above tolerance)"
    return status, f"against {result['reference']}, largest difference {worst:.1e}"


def run_item(
    item: str, args: argparse.Namespace, out: Path, work: Path, graph: Path | None, device: str, limit: float
) -> tuple[str, str]:
    """One item's status and summary line; its command's output goes to ``out/<item>.log``."""
    python, train, log = sys.executable, str(ROOT / "train.py"), out / f"{item}.log"
    if item == "kernels":
        return kernels_item(device, out)
    if item in ("geni", "rgtn"):
        target = out / f"{item}_cv.json"
        cv = cv_args(item, args.data, args.cache, args.smoke, graph)
        status, _ = run([python, train, *cv, "--out", str(target)], work, limit, log)
        return status, figures(target, ("ndcg@100", "spearman", "fit_test_seconds"))
    config = lstm_config(args.data, args.smoke, work)
    status, fit_seconds = run([python, train, "fit", *config], work, limit, log)
    target = out / "lstm_test.json"
    test = [python, train, "test", *config, "--ckpt_path", "best", "--out", str(target)]
    if status == "ok":
        status, _ = run(test, work, limit - fit_seconds, log)
    return status, figures(target, ("test/rmse", "test/mae"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT", "device_check"), help="where the JSON files go")
    parser.add_argument("--data", type=Path, default=default_data(), help="the folder holding fb15k/ and power/")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="the feature cache (text features)")
    parser.add_argument("--smoke", action="store_true", help="CPU, generated data, a few epochs")
    parser.add_argument("--only", nargs="+", choices=ITEMS, default=list(ITEMS))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").touch()
    except OSError as err:
        print(f"error: --out {out}: cannot write there ({err.strerror})", file=sys.stderr)
        return 2
    if not args.smoke and (missing := missing_inputs(args.data.resolve(), args.only)):
        print(f"error: the device check needs: {'; '.join(missing)}", file=sys.stderr)
        return 2
    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print(f"# device check on {name}, torch {torch.__version__}, {'smoke' if args.smoke else 'full'} mode", flush=True)
    summary: dict = {"device": name, "torch": torch.__version__, "smoke": args.smoke, "items": {}}
    summary["provenance"] = provenance(config={k: str(v) for k, v in vars(args).items()})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nie-device-check-") as scratch:
        work = Path(scratch)
        graph = None
        if args.smoke:
            from datamodules.kg.synthetic import write_synthetic_graph

            graph = write_synthetic_graph(work / "graph", num_nodes=300, num_relations=4, avg_degree=5, seed=0)
        for item in args.only:
            start = time.perf_counter()
            left = DEADLINE - (start - started) if not args.smoke else float("inf")
            status, line = run_item(item, args, out, work, graph, device, min(LIMITS.get(item, left), left))
            seconds = time.perf_counter() - start
            summary["items"][item] = {"status": status, "seconds": round(seconds, 1), "figures": line}
            (out / "summary.json").write_text(json.dumps(summary, indent=1))
            print(f"{item}: {status}, {seconds:.0f} s{', ' + line if line else ''}", flush=True)
    return 0 if all(v["status"] == "ok" for v in summary["items"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
