"""Behaviour unchanged: the same commands give identical metrics in an old checkout and this one, and this code
reads a run folder the old code wrote (or refuses it in one line).

    git worktree add --detach /tmp/old <commit>     # outside the repository; it may share this venv
    OMP_NUM_THREADS=1 python bench/compare_behaviour.py --old /tmp/old --out /tmp/behaviour [--data DIR]

Each checkout runs its own ``train.py`` in its own root (``PYTHONPATH`` = that root, so the code is its own),
on the same data (``--data``, default ``../shared/data``), one command at a time, everything written under
``--out`` (run folders, feature caches, logs). The checks:

* ``geni``: GENI fold 0 ``cv`` on FB15k (``configs/fb15k/geni.yaml``): the selected checkpoint's validation
  scores, its test scores and its file name (the epoch) must be identical. If they differ, the new code runs
  again with the old code's structural features copied into its cache (``geni_old_features``), which tells a
  change of the features apart from one of the training path.
* ``persistence``: GEFCom2014 persistence ``fit`` then ``test --ckpt_path best --out``: test metrics.
* the old run folders read by this code (on a copy): ``test --ckpt_path`` the old persistence checkpoint,
  ``predict.py`` on the old GENI and persistence ``last.ckpt`` against the old code's ``predict.py`` output,
  ``fit --ckpt_path last`` continuing the old GENI fold, ``cv`` reading the old fold back.

A step whose output exists is not run again (delete ``--out`` to start over). Wall time: ~6 min per GENI
run on one thread. Prints one line per check and writes ``<out>/summary.json``; exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

NEW = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(NEW))

from nie.core.io import write_json  # noqa: E402
from nie.core.provenance import PROVENANCE_KEY, provenance  # noqa: E402

GENI = ["--config", "configs/fb15k/geni.yaml"]
PERSISTENCE = ["--config", "configs/gefcom2014/persistence.yaml"]
LEAF = Path("geni/fb15k/fold0/lr0.05-num_layers3-heads4")
UNCOMPARED = {"provenance", "fit_test_seconds"}  # who ran it and how long: not behaviour


def run(tree: Path, argv: list[str], log: Path) -> tuple[int, str]:
    """``python <argv>`` in ``tree`` with that tree's code; the exit code and the output's last line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with log.open("w") as out:
        code = subprocess.run(
            [sys.executable, *argv], cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    print(f"  {tree.name}: {' '.join(argv[:2])} ... exit {code} in {time.time() - start:.0f} s (log {log})")
    return code, lines[-1] if lines else ""


def data_options(data: Path, side: Path) -> dict[str, list[str]]:
    """Each experiment's data (absolute, the same for both trees) and its outputs under ``side``."""
    runs = ["--checkpoint.root", str(side / "runs"), "--trainer.logger.init_args.save_dir", str(side / "runs")]
    return {
        "geni": [
            *GENI,
            "--data.init_args.root",
            str(data / "fb15k"),
            "--data.init_args.cache_dir",
            str(side / "cache"),
            *runs,
        ],
        "persistence": [
            *PERSISTENCE,
            "--data.init_args.path",
            str(data / "power/gefcom2014_solar/gefcom2014_solar_hourly.csv.gz"),
            *runs,
        ],
    }


def metrics(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in UNCOMPARED}


def compare(name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Identical values under identical keys, or the keys that differ (with both values)."""
    differ = {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    print(f"{name}: {'identical' if not differ else 'DIFFERENT ' + json.dumps(differ)}")
    return {"same": not differ, "old": old, "new": new, "differ": differ}


def best_checkpoint(side: Path) -> str:
    found = sorted(p.name for p in (side / "runs" / LEAF).glob("epoch=*.ckpt"))
    return found[0] if len(found) == 1 else f"{len(found)} best checkpoints"


def side_runs(tree: Path, side: Path, options: dict[str, list[str]]) -> None:
    """One checkout's GENI fold 0 cv and persistence fit + test, each once (a step is done when its output
    exists); a failure stops the comparison."""
    test = ["test", *options["persistence"], "--ckpt_path", "best", "--out", str(side / "persistence.json")]
    steps = [
        (side / "geni.json", "geni", ["cv", *options["geni"], "--folds", "0", "--out", str(side / "geni.json")]),
        (side / "persistence_fit.done", "persistence_fit", ["fit", *options["persistence"]]),
        (side / "persistence.json", "persistence_test", test),
    ]
    for done, name, argv in steps:
        if done.is_file():
            continue
        code, last = run(tree, ["train.py", *argv], side / f"{name}.log")
        if code:
            raise SystemExit(f"{tree}: train.py {argv[0]} failed (exit {code}): {last} (log {side / name}.log)")
        if done.suffix == ".done":
            done.write_text("0\n")


def geni_result(side: Path) -> dict[str, Any]:
    return {**metrics(side / "geni.json"), "best_checkpoint": best_checkpoint(side)}


def with_old_features(old: Path, new: Path, variant: Path) -> None:
    """A cache for ``variant`` holding the old code's structural features under the new code's file name."""
    (old_file,), (new_file,) = (list((side / "cache").glob("structural-*.npy")) for side in (old, new))
    (variant / "cache").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(old_file, variant / "cache" / new_file.name)


def geni_checks(old_tree: Path, out: Path, data: Path) -> dict[str, Any]:
    result = {"geni": compare("geni fold 0 cv", geni_result(out / "old"), geni_result(out / "new"))}
    if not result["geni"]["same"]:
        variant = out / "new_old_features"
        if not (variant / "geni.json").is_file():
            with_old_features(out / "old", out / "new", variant)
            geni = data_options(data, variant)["geni"]
            run(
                NEW,
                ["train.py", "cv", *geni, "--folds", "0", "--out", str(variant / "geni.json")],
                variant / "geni.log",
            )
        old_result, new_result = geni_result(out / "old"), geni_result(variant)
        result["geni_old_features"] = compare("geni fold 0 cv, new code on the old features", old_result, new_result)
    return result


def predictions(tree: Path, checkpoint: Path, csv: Path) -> dict[str, Any]:
    """``predict.py`` of ``tree`` on ``checkpoint``: its CSV's rows and numbers, or its one-line refusal."""
    if not csv.is_file():
        code, last = run(tree, ["predict.py", "--ckpt", str(checkpoint), "--out", str(csv)], csv.with_suffix(".log"))
        if code:
            return {"refused": f"exit {code}: {last}"}
    frame = pd.read_csv(csv)
    return {"rows": len(frame), "columns": list(frame.columns), "values": frame.to_json(double_precision=15)}


def last_checkpoint(runs: Path, network: str) -> Path:
    (found,) = (runs / network).rglob("last.ckpt")
    return found


def outcome(argv: list[str], out: Path) -> dict[str, Any]:
    """The metrics this code's ``train.py <argv>`` wrote to ``out`` (run once), or its one-line refusal."""
    if not out.is_file():
        code, last = run(NEW, ["train.py", *argv], out.with_suffix(".log"))
        if code:
            return {"refused": f"exit {code}: {last}"}
    return metrics(out)


def old_folder_checks(old_tree: Path, out: Path, data: Path) -> dict[str, Any]:
    """The old code's run folders (a copy, with the old features in the new cache) read by this code."""
    old, copy = out / "old", out / "old_folders"
    if not (copy / "runs").is_dir():
        shutil.copytree(old / "runs", copy / "runs")
        with_old_features(old, out / "new", copy)
    options, result = data_options(data, copy), {}
    cv, test = copy / "geni_cv.json", copy / "persistence_test.json"
    result["old_geni_fold_read_back_by_cv"] = compare(
        "old GENI fold read back by cv",
        metrics(old / "geni.json"),
        outcome(["cv", *options["geni"], "--folds", "0", "--out", str(cv)], cv),
    )
    result["old_persistence_run_tested"] = compare(
        "old persistence run, test --ckpt_path best",
        metrics(old / "persistence.json"),
        outcome(["test", *options["persistence"], "--ckpt_path", "best", "--out", str(test)], test),
    )
    for network in ("geni", "persistence"):
        result[f"old_{network}_predict"] = compare(
            f"predict.py on the old {network} last.ckpt (old code, this code)",
            predictions(old_tree, last_checkpoint(old / "runs", network), old / f"{network}_predictions.csv"),
            predictions(NEW, last_checkpoint(copy / "runs", network), copy / f"{network}_predictions.csv"),
        )
    result["old_geni_resumed"] = resumed(old, copy, options["geni"])
    return result


def resumed(old: Path, copy: Path, geni: list[str]) -> dict[str, Any]:
    """``fit --ckpt_path last`` on the old GENI fold (early stopping had ended it: it ends again at once) and
    the validation scores of its best checkpoint."""
    log = copy / "geni_resume.log"
    if not log.is_file():
        exit_code, last = run(NEW, ["train.py", "fit", *geni, "--ckpt_path", "last"], log)
        (copy / "geni_resume.exit").write_text(f"{exit_code}\n{last}\n")
    code, last = (copy / "geni_resume.exit").read_text().splitlines()
    if code != "0":
        print(f"old GENI fold, fit --ckpt_path last: refused: {last}")
        return {"same": False, "refused": last}
    return compare(
        "old GENI fold, fit --ckpt_path last: best validation scores",
        metrics(old / "runs" / LEAF / "val_metrics.json"),
        metrics(copy / "runs" / LEAF / "val_metrics.json"),
    )


def commit(tree: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the code before the change")
    parser.add_argument("--out", type=Path, required=True, help="folder for every run and the summary")
    parser.add_argument("--data", type=Path, default=NEW.parent / "shared" / "data", help="holds fb15k/ and power/")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    old_tree, out, data = args.old.resolve(), args.out.resolve(), args.data.resolve()
    for tree, side in ((old_tree, out / "old"), (NEW, out / "new")):
        side_runs(tree, side, data_options(data, side))
    result = geni_checks(old_tree, out, data)
    result["persistence"] = compare(
        "persistence test", metrics(out / "old/persistence.json"), metrics(out / "new/persistence.json")
    )
    result.update(old_folder_checks(old_tree, out, data))
    commits = {name: commit(tree) for name, tree in (("old", old_tree), ("new", NEW))}
    config = {key: str(value) for key, value in vars(args).items()}
    record = provenance(config=config, wall_seconds=time.perf_counter() - started)
    write_json(out / "summary.json", {"commits": commits, **result, PROVENANCE_KEY: record})
    return 0 if all(check["same"] for check in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
