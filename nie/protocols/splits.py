"""One evaluation split of a configuration (a cv fold, a backtest origin): fit, choose on validation, test.

What both jobs' protocols share: a run directory per split, the result recorded beside its checkpoints
with the hash of the configuration that made it (a rerun of the same configuration reads it back, and a
split cut short continues from its ``last.ckpt``, so a killed protocol resumes; a finished split of
another configuration is never replaced silently), the selected checkpoint's validation scores and its
test scores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from nie.cli.checkpoints import read_checkpoint, run_dir
from nie.cli.experiment import Experiment
from nie.cli.lightning_cli import NIECLI, validate_best
from nie.cli.outputs import stage_metrics
from nie.core.errors import ConfigError, NIEError, RunFolderError
from nie.core.io import check_writable, write_json
from nie.core.resume import continue_logger_version
from nie.core.schedule import check_schedule_validates

SPLIT_RESULT = "cv_fold.json"

MetricTable = dict[str, dict[str, Any]]  # {metric: {"mean", "std", "folds"}}, JSON-shaped


def summarise(per_fold: list[dict[str, float]], prefix: str = "test/", strip: bool = True) -> MetricTable:
    """``{metric: {mean, std, folds}}`` over folds (population std, as the literature reports) for the
    entries starting with ``prefix`` (removed from the names when ``strip``)."""
    names = sorted({k for fold in per_fold for k in fold if k.startswith(prefix) and not k.endswith("/loss")})
    table: MetricTable = {}
    for name in names:
        values = [fold[name] for fold in per_fold if name in fold]
        key = name[len(prefix) :] if strip else name
        table[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values}
    return table


def fold_table(per_fold: list[dict[str, float]]) -> MetricTable:
    """The cv table: test metrics by bare name, plus selection scores and timings under their own."""
    table = summarise(per_fold)
    for extra in ("best_", "weight/", "fit_test_seconds"):
        table.update(summarise(per_fold, prefix=extra, strip=False))
    return table


def format_table(table: MetricTable) -> str:
    width = max((len(k) for k in table), default=6)
    lines = [f"{'metric':<{width}}  mean ± std      folds"]
    for name, row in table.items():
        folds = " ".join(f"{v:.4f}" for v in row["folds"])
        lines.append(f"{name:<{width}}  {row['mean']:.4f} ± {row['std']:.4f}  {folds}")
    return "\n".join(lines)


def protocol_arguments(
    parser: argparse.ArgumentParser, argv: list[str], usage: str
) -> tuple[argparse.Namespace, list[str]]:
    """A protocol command's own options (its ``--out`` checked writable before any compute) and the
    ``train.py fit`` arguments it runs; none of the latter is one line showing ``usage``."""
    parser.add_argument("--out", help="also write the table JSON here")
    known, rest = parser.parse_known_args(argv)
    if not rest:
        raise ConfigError(f"{parser.prog.split()[-1]} needs an experiment: {usage}")
    if known.out:
        check_writable(known.out)
    return known, rest


def config_hash(cli: NIECLI) -> str:
    """The configuration a split's result was made by (``checkpoint.overwrite`` left out: it says what
    happens to an earlier run, not how this one is made)."""
    config = cli.config.clone()
    config.pop("checkpoint.overwrite", None)
    dumped = cli.parser.dump(config, skip_none=False, skip_validation=True)
    return hashlib.sha256(dumped.encode()).hexdigest()


def earlier_run(cli: NIECLI, directory: Path, label: str) -> Optional[str]:
    """The checkpoint a split continues: its ``last.ckpt`` when a run there was cut short (no result
    recorded), none when it starts afresh; a finished split of another configuration is refused unless
    ``checkpoint.overwrite`` replaces it."""
    overwrite = bool(getattr(cli.trainer.checkpoint_callback, "overwrite", False))
    if (directory / SPLIT_RESULT).is_file() and not overwrite:
        raise RunFolderError(
            f"{label}: {directory} holds a finished run of another configuration ({SPLIT_RESULT}): keep both "
            "with another --checkpoint.root DIR, or replace it with --checkpoint.overwrite true"
        )
    last = directory / "last.ckpt"
    if overwrite or not last.is_file():
        return None
    print(f"{label}: continuing the run cut short in {directory}")
    continue_logger_version(cli.trainer, read_checkpoint(last, "last.ckpt", trusted=True))
    return str(last)


def run_split(
    experiment: Experiment,
    label: str,
    seen: set[Path],
    before_fit: Optional[Callable[[NIECLI], None]] = None,
    after_test: Optional[Callable[[NIECLI, Path, Optional[str]], None]] = None,
) -> tuple[dict[str, float], Path]:
    """Run (or read back) one split of ``experiment``; ``before_fit`` may prepare the model (e.g. warm-start it) and
    ``after_test(cli, directory, best)`` may save what else the split leaves (e.g. predictions; ``best``
    is None after a fresh run, where the trainer still holds the best checkpoint)."""
    start = time.perf_counter()  # building the CLI sets up the data (features, pre-training)
    cli = experiment.build()
    directory = run_dir(cli.trainer, cli.model, cli.datamodule)
    if directory in seen:
        raise ConfigError(f"{label}: shares the run directory {directory} with another split; name the split in it")
    seen.add(directory)
    record, made_by = directory / SPLIT_RESULT, config_hash(cli)
    if record.is_file():
        saved = json.loads(record.read_text())
        if saved.get("config_hash") == made_by:
            print(f"{label}: done earlier, read back from {record}")
            recorded_best = getattr(cli.trainer.checkpoint_callback, "recorded_best", None)
            if after_test is not None and recorded_best is not None:
                after_test(cli, directory, recorded_best(cli.model, cli.datamodule))
            metrics: dict[str, float] = saved["metrics"]
            return metrics, directory
    check_schedule_validates(cli.trainer)
    resume = earlier_run(cli, directory, label)
    if before_fit is not None:
        before_fit(cli)
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume)
    except NIEError:  # refused before logging (bad data, a folder holding another run): no empty version_N
        cli.discard_unused_log_dir()
        raise
    best_validation = validate_best(cli.trainer, cli.model, cli.datamodule)  # what selection compares
    cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path="best")
    test_metrics = stage_metrics(cli.trainer, "test")  # read before predicting, which clears the logged metrics
    metrics = {**test_metrics, **best_validation, "fit_test_seconds": time.perf_counter() - start}
    if after_test is not None:
        after_test(cli, directory, None)
    write_json(record, {"config_hash": made_by, "metrics": metrics, "dir": str(directory)})
    return metrics, directory
