"""The prepared GPU check: kernel agreement on the device, GENI and RGTN 5-fold on FB15k, the GEFCom2014 LSTM.

    bash bench/device_check.sh                 # on a GPU machine: PyTorch, no DGL, no package index
    bash bench/device_check.sh --smoke         # on CPU, generated data, minutes: the suite runs this

Each item runs the project's own commands (``train.py cv``, ``fit``, ``test``) in a fresh process
with a time limit, writes its JSON under ``--out`` (default ``$OUT``) and prints one summary line;
``summary.json`` collects them. Full mode needs the FB15k and GEFCom2014 folders (``--data``) and,
for RGTN, the cached text features (``.cache/nie``; a GPU machine without the text extra cannot
compute them: carry the folder). ``--smoke`` runs the same commands on generated graphs and series
with two folds' worth of epochs, so the script cannot rot between the days a GPU is lent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.kernel_agreement import agreement  # noqa: E402

LIMITS = {"kernels": 120, "geni": 150, "rgtn": 210, "lstm": 150}  # seconds; 8 minutes in all
GEFCOM = Path("power") / "gefcom2014_solar" / "gefcom2014_solar_hourly.csv.gz"
SMOKE_LIMITS = {"kernels": 120, "geni": 240, "rgtn": 240, "lstm": 240}


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


def lstm_configs(data: Path, smoke: bool, work: Path) -> list[str]:
    if not smoke:
        config = ROOT / "configs" / "gefcom2014" / "lstm.yaml"
        return ["--config", str(config), "--data.init_args.path", str(data / GEFCOM)]
    from tests.power_data import write_power_config

    return ["--config", str(write_power_config(work / "series"))]


def run(command: list[str], work: Path, limit: int, log: Path) -> tuple[str, float]:
    """One command in ``work`` (run directories land there), its output in ``log``: status and seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    with log.open("a") as out:
        try:
            done = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=limit)
            status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode}, see {log.name})"
        except subprocess.TimeoutExpired:
            status = f"timeout after {limit} s"
    return status, time.perf_counter() - start


def figures(path: Path, keys: tuple[str, ...]) -> dict:
    """The mean of each metric in a cv table, or the value in a metrics file."""
    if not path.is_file():
        return {}
    table = json.loads(path.read_text())
    return {k: (table[k]["mean"] if isinstance(table[k], dict) else table[k]) for k in keys if k in table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT", "device_check"), help="where the JSON files go")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="the shared data folder")
    parser.add_argument("--cache", default=str(ROOT / ".cache" / "nie"), help="the feature cache (text features)")
    parser.add_argument("--smoke", action="store_true", help="CPU, generated data, a few epochs")
    parser.add_argument("--only", nargs="+", choices=list(LIMITS), default=list(LIMITS))
    args = parser.parse_args(argv)
    out, data = Path(args.out).resolve(), Path(args.data).resolve()
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    limits = SMOKE_LIMITS if args.smoke else LIMITS
    graph = None
    if args.smoke:
        from datamodules.kg.synthetic import write_synthetic_graph

        graph = write_synthetic_graph(work / "graph", num_nodes=300, num_relations=4, avg_degree=5, seed=0)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print(f"# device check on {name}, torch {torch.__version__}, {'smoke' if args.smoke else 'full'} mode", flush=True)
    summary = {"device": name, "torch": torch.__version__, "smoke": args.smoke, "items": {}}
    python, train = sys.executable, str(ROOT / "train.py")
    for item in args.only:
        log = out / f"{item}.log"
        if item == "kernels":
            start = time.perf_counter()
            result = agreement(device)
            (out / "kernels.json").write_text(json.dumps(result, indent=1))
            worst = max(r["max_abs_difference"] for r in result["networks"].values())
            status = "ok" if result["agree"] else "failed (differences above tolerance)"
            line, seconds = f"against {result['reference']}, worst difference {worst:.1e}", time.perf_counter() - start
        elif item in ("geni", "rgtn"):
            target = out / f"{item}_cv.json"
            command = [python, train, *cv_args(item, data, Path(args.cache), args.smoke, graph), "--out", str(target)]
            status, seconds = run(command, work, limits[item], log)
            found = figures(target, ("ndcg@100", "spearman", "fit_test_seconds"))
            line = ", ".join(f"{k} {v:.4f}" for k, v in found.items())
        else:
            config = lstm_configs(data, args.smoke, work)
            status, fit_seconds = run([python, train, "fit", *config], work, limits[item], log)
            target = out / "lstm_test.json"
            test = [python, train, "test", *config, "--ckpt_path", "best", "--out", str(target)]
            status, seconds = run(test, work, limits[item], log) if status == "ok" else (status, 0.0)
            seconds += fit_seconds
            line = ", ".join(f"{k} {v:.4f}" for k, v in figures(target, ("test/rmse", "test/mae")).items())
        summary["items"][item] = {"status": status, "seconds": round(seconds, 1), "figures": line}
        print(f"{item}: {status}, {seconds:.0f} s{', ' + line if line else ''}", flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0 if all(v["status"] == "ok" for v in summary["items"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
