"""The splits of one configuration (a cv's folds, a backtest's origins): each fitted, chosen on validation
and tested, or read back.

Each split has its run directory, and its result is recorded there with the settings that made it
(``run_settings.split_settings``: the run's recorded settings and how it trained): a rerun with the same
settings reads it back, a split cut short continues from its
``last.ckpt`` (a killed protocol resumes), a finished split of another configuration is never replaced
silently.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from callbacks.checkpoint import HParamCheckpoint, recorded_best
from nie.cli.checkpoints import read_checkpoint, run_dir
from nie.cli.experiment import Experiment
from nie.cli.lightning_cli import CALLBACK_SECTIONS, NIECLI, check_run_folders, fill_logger_dir, validate_best
from nie.cli.outputs import stage_metrics
from nie.core.errors import ConfigError, NIEError, RunFolderError
from nie.core.io import check_writable, write_json
from nie.core.naming import run_values
from nie.core.provenance import stamped
from nie.core.resume import continue_logger_version
from nie.core.run_settings import UNRECORDED, differences, folder_settings, split_settings
from nie.core.schedule import check_schedule_validates

SPLIT_RESULT = "cv_fold.json"

MetricTable = dict[str, dict[str, Any]]  # {metric: {"mean", "std", "folds"}}, JSON-shaped
BeforeFit = Callable[[NIECLI], None]  # prepares the model (a warm start)
AfterTest = Callable[[NIECLI, Path, Optional[str]], None]  # keeps more of a split (predictions) from its best


def fold_table(per_fold: list[dict[str, float]]) -> MetricTable:
    """``{metric: {mean, std, folds}}`` over folds (population std, as the literature reports): test metrics
    by bare name, then selection scores (``best_*``), ensemble weights and timings under their own."""
    table: MetricTable = {}
    for prefix in ("test/", "best_", "weight/", "fit_test_seconds"):
        names = {k for fold in per_fold for k in fold if k.startswith(prefix) and not k.endswith("/loss")}
        for name in sorted(names):
            values = [fold[name] for fold in per_fold if name in fold]
            table[name.removeprefix("test/")] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "folds": values,
            }
    return table


def format_table(table: MetricTable) -> str:
    width = max((len(k) for k in table), default=6)
    lines = [f"{'metric':<{width}}  mean ± std      folds"]
    for name, row in table.items():
        folds = " ".join(f"{v:.4f}" for v in row["folds"])
        lines.append(f"{name:<{width}}  {row['mean']:.4f} ± {row['std']:.4f}  {folds}")
    return "\n".join(lines)


def publish(table: MetricTable, result: dict[str, Any], record: dict[str, Any], *paths: Optional[Path | str]) -> None:
    """Print a protocol's table and write its ``result``, stamped with ``record`` (its provenance), to each path."""
    print(format_table(table))
    for path in paths:
        if path:
            write_json(path, stamped(result, record))


def command_parser(name: str, doc: Optional[str], example: str = "--config") -> argparse.ArgumentParser:
    """The parser of ``train.py <name>``'s own options, its ``doc`` as help; the other arguments go to the runs."""
    return argparse.ArgumentParser(
        prog=f"train.py {name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Other arguments are those of `train.py fit` (e.g. {example}).",
    )


def protocol_arguments(
    parser: argparse.ArgumentParser, argv: list[str], usage: str
) -> tuple[argparse.Namespace, list[str]]:
    """A protocol command's own options (its ``--out`` checked writable before any compute) and the
    ``train.py fit`` arguments it runs; none of the latter is one line showing ``usage``."""
    parser.add_argument("--out", help="also write the table JSON here")
    known, rest = parser.parse_known_args(argv)
    if not rest:
        raise ConfigError(f"{parser.prog.split()[-1]} needs an experiment: {usage}")
    if known.out is not None:
        check_writable(known.out)
    return known, rest


def run_checkpoint(cli: NIECLI) -> HParamCheckpoint:
    """The checkpoint section's callback of a built experiment: the root of its run folders (its default is
    ``HParamCheckpoint``'s, the one place) and the score that selects its best (``fill_task_monitor``'s)."""
    callback = cli.trainer.checkpoint_callback
    if not isinstance(callback, HParamCheckpoint) or callback.monitor is None:
        raise ConfigError("a protocol needs the checkpoint: section's callback (trainer.enable_checkpointing true)")
    return callback


def check_folders(experiment: Experiment) -> None:
    """``check_run_folders`` on the experiment's config (its loggers' folders filled as the run will have
    them), before building it computes features and pre-training: an unwritable root is one line at once."""
    config = experiment.config.clone()
    fill_logger_dir(config)
    check_run_folders(config)


def split_identity(cli: NIECLI) -> dict[str, Any]:
    """The settings a split's result is recorded with and read back by (``run_settings.split_settings``)."""
    unrecorded = getattr(cli.trainer.checkpoint_callback, "unrecorded", UNRECORDED)
    sections = ("trainer", *CALLBACK_SECTIONS.values())
    training = {k: v for k, v in cli.config.items() if k.split(".", 1)[0] in sections}
    return split_settings(run_values(cli.model, cli.datamodule), training, unrecorded)


def earlier_run(cli: NIECLI, directory: Path, label: str) -> Optional[str]:
    """The checkpoint a split continues: its ``last.ckpt`` when a run there was cut short (no result
    recorded), none when it starts afresh (or ``checkpoint.overwrite`` replaces a finished one)."""
    last = directory / "last.ckpt"
    if getattr(cli.trainer.checkpoint_callback, "overwrite", False) or not last.is_file():
        return None
    print(f"{label}: continuing the run cut short in {directory}")
    continue_logger_version(cli.trainer, read_checkpoint(last, "last.ckpt", trusted=True))
    return str(last)


def split_record(record: Path) -> Optional[dict[str, Any]]:
    """A split's recorded result (``{settings, metrics, dir}``), or None if the file is not one (damaged, edited
    by hand, written by another program)."""
    try:
        saved = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    shaped = isinstance(saved, dict) and isinstance(saved.get("metrics"), dict)
    return saved if shaped and isinstance(saved.get("settings", {}), dict) else None


def unchecked(directory: Path, made_with: dict[str, Any]) -> str:
    """What reading back a split recorded without its settings leaves unchecked: the settings its folder's
    ``settings.json`` does not hold (a section's options as ``section.*``)."""
    held = folder_settings(directory) or {}
    missing = sorted({k.split(".")[0] + ".*" if "." in k else k for k in made_with if k not in held})
    return f"read back with only its folder's settings checked; not checked: {', '.join(missing) or 'none'}"


def read_back(
    cli: NIECLI, directory: Path, label: str, made_with: dict[str, Any], after_test: Optional[AfterTest]
) -> Optional[dict[str, float]]:
    """The metrics a finished split made with these settings (``made_with``) recorded; None if there is none,
    or one of other settings that ``checkpoint.overwrite`` replaces (refused without it)."""
    record = directory / SPLIT_RESULT
    if not record.is_file():
        return None
    saved = split_record(record)
    overwrite = getattr(cli.trainer.checkpoint_callback, "overwrite", False)
    if saved is None and not overwrite:
        raise RunFolderError(
            f"{label}: {record}: not a finished split's record (a JSON object with its settings and metrics); "
            "delete it to score the run there again, or replace the run with --checkpoint.overwrite true"
        )
    changed = differences(saved.get("settings", {}), made_with) if saved is not None else []
    if saved is None or (changed and overwrite):
        return None
    if changed:
        raise RunFolderError(
            f"{label}: {directory} holds a finished run of another configuration ({SPLIT_RESULT}: "
            f"{'; '.join(changed)}): keep both with another --checkpoint.root DIR, "
            "or replace it with --checkpoint.overwrite true"
        )
    if "settings" not in saved:
        warnings.warn(f"{record}: recorded before splits kept their settings: {unchecked(directory, made_with)}")
    print(f"{label}: done earlier, read back from {record}")
    if after_test is not None and isinstance(cli.trainer.checkpoint_callback, HParamCheckpoint):
        after_test(cli, directory, recorded_best(directory))  # the directory is the callback's run_dir
    metrics: dict[str, float] = saved["metrics"]
    return metrics


def fit_and_test(
    cli: NIECLI,
    directory: Path,
    label: str,
    start: float,
    before_fit: Optional[BeforeFit],
    after_test: Optional[AfterTest],
) -> dict[str, float]:
    """Fit (continuing a run cut short), then score the best checkpoint on validation and test."""
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
    return metrics


def best_predictions(cli: NIECLI, path: Path, best: Optional[str]) -> Optional[list[Any]]:
    """The selected checkpoint's predictions a split keeps at ``path`` (``best``: a read-back split's); None
    where they are kept already or the run spans processes (a DDP predict holds one shard per process)."""
    if (best is not None and path.is_file()) or cli.trainer.world_size > 1:
        return None
    return cli.trainer.predict(cli.model, datamodule=cli.datamodule, ckpt_path=best or "best")


@dataclass
class Splits:
    """The splits of one configuration run so far: what each scored and its run directory."""

    labels: list[str] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)

    def run(
        self,
        experiment: Experiment,
        label: str,
        before_fit: Optional[BeforeFit] = None,
        after_test: Optional[AfterTest] = None,
    ) -> Path:
        """Run (or read back) one split of ``experiment``; ``after_test(cli, directory, best)`` gets ``best``
        None after a fresh run, where the trainer still holds the best checkpoint. Returns its directory."""
        start = time.perf_counter()  # building the CLI sets up the data (features, pre-training)
        check_folders(experiment)
        cli = experiment.build()
        directory = run_dir(cli.trainer, cli.model, cli.datamodule)
        if directory in self.directories:
            raise ConfigError(f"{label}: shares the run directory {directory} with another split; name the split in it")
        made_with = split_identity(cli)
        metrics = read_back(cli, directory, label, made_with, after_test)
        if metrics is None:
            metrics = fit_and_test(cli, directory, label, start, before_fit, after_test)
            write_json(directory / SPLIT_RESULT, {"settings": made_with, "metrics": metrics, "dir": str(directory)})
        self.labels.append(label)
        self.metrics.append(metrics)
        self.directories.append(directory)
        return directory

    def table(self) -> MetricTable:
        return fold_table(self.metrics)
