"""``train.py cv``: k-fold cross-validation, one fresh model, datamodule and trainer per fold.

Each fold runs ``fit`` then ``test`` on its best checkpoint. Finished folds are skipped on a
rerun when their saved result was made by the same configuration, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Optional

from nie.cli.checkpoints import run_dir
from nie.cli.exits import attributed
from nie.cli.experiment import Experiment
from nie.cli.lightning_cli import NIECLI
from nie.cli.outputs import resolved_config, run_provenance
from nie.cli.parsing import split_configs
from nie.core.errors import ConfigError
from nie.core.io import write_json
from nie.core.naming import network_class
from nie.core.provenance import provenance, stamped
from nie.core.run_settings import data_identity
from nie.protocols.importance.ensemble import (
    FOLD_PREDICTIONS,
    EnsembleSection,
    MemberFacts,
    MemberRun,
    check_members,
    combine_members,
    ensemble_section,
    member_args,
    member_names,
    save_fold_predictions,
)
from nie.protocols.splits import MetricTable, fold_table, format_table, protocol_arguments, run_split


def keep_fold_predictions(cli: NIECLI, directory: Path, best: Optional[str]) -> None:
    """The fold's predictions for ensembles (written once; a read-back fold gets them from its best)."""
    if best is None:
        save_fold_predictions(cli, directory / FOLD_PREDICTIONS, "best")
    elif not (directory / FOLD_PREDICTIONS).is_file():
        save_fold_predictions(cli, directory / FOLD_PREDICTIONS, best)


def run_fold(experiment: Experiment, fold: int, seen: set[Path]) -> tuple[dict[str, float], Path]:
    return run_split(experiment.with_data(fold=fold), f"fold {fold}", seen, after_test=keep_fold_predictions)


def cv_table_path(directories: list[Path]) -> Path:
    """Where a configuration's cv table goes: beside its folds, named by what their run directories share
    below the common one (``runs/geni/fb15k/cv_metrics-lr0.05-heads4.json``), so configurations that
    differ only in the leaf name keep their own tables."""
    if len(directories) == 1:
        return directories[0] / "cv_metrics.json"
    common = Path(os.path.commonpath(directories))
    levels = zip(*(d.relative_to(common).parts for d in directories))
    shared = [parts[0] for parts in levels if len(set(parts)) == 1]
    return common / ("-".join(["cv_metrics", *shared]) + ".json")


def run_folds(experiment: Experiment, probe: NIECLI, folds: Optional[list[int]]) -> MemberRun:
    """Every requested fold of one configuration (all ``data.num_folds`` by default); ``probe`` is the
    configuration built as given (what the provenance records)."""
    num_folds = probe.datamodule.hparams.get("num_folds")
    if num_folds is None:
        raise ConfigError("cv needs a datamodule with a num_folds argument")
    folds = folds if folds else list(range(num_folds))
    seen: set[Path] = set()
    runs = [run_fold(experiment, fold, seen) for fold in folds]
    return MemberRun(folds, [m for m, _ in runs], [d for _, d in runs], probe)


def write_tables(runs: list[MemberRun], record: dict[str, Any]) -> None:
    """Each configuration's table beside its folds (``cv_table_path``), with the command's provenance."""
    for run in runs:
        write_json(cv_table_path(run.directories), stamped(fold_table(run.metrics), record))


def probe(cli: NIECLI) -> MemberFacts:
    """What selection and ensembles check of one configuration before anything trains (built, not trained)."""
    checkpoint = cli.trainer.checkpoint_callback
    network = network_class(getattr(cli.model, "network_factory", None))
    return MemberFacts(
        run_dir=run_dir(cli.trainer, cli.model, cli.datamodule),
        root=Path(getattr(checkpoint, "root", "runs")),
        monitor=getattr(checkpoint, "monitor", None) or "val/loss",
        mode=getattr(checkpoint, "mode", "min"),
        label_transform=cli.datamodule.hparams.get("label_transform"),
        predicts_labels=getattr(network, "predicts_labels", True),
    )


@dataclass(frozen=True)
class Member:
    """One configuration of a cv, parsed once and built once (``cli``: what its provenance records)."""

    experiment: Experiment
    cli: NIECLI
    facts: MemberFacts


def member(args: list[str], source: str = "") -> Member:
    """One configuration parsed and built; its errors name ``source`` (an ensemble member)."""

    def build() -> Member:
        experiment = Experiment.from_argv(args)
        cli = experiment.build()
        return Member(experiment, cli, probe(cli))

    return attributed(source, build) if source else build()


@dataclass(frozen=True)
class CvPlan:
    """A cv checked before anything trains: one configuration, or an ensemble's members (``section``)."""

    section: Optional[EnsembleSection]
    members: list[Member]


def plan(args: list[str]) -> CvPlan:
    """Check a cv before anything trains: the config (or every ensemble member) parses and builds, and
    ensemble members can be combined."""
    section = ensemble_section(args)
    if section is None:
        return CvPlan(None, [member(args)])
    names, extra = member_names(section["members"]), split_configs(args)[1]
    members = []
    for name, own in zip(names, section["members"]):
        source = f"ensemble {section['path']}: member {name}"
        members.append(member(attributed(source, partial(member_args, own, extra)), source))
    check_members(section, names, [m.facts for m in members])
    return CvPlan(section, members)


def run_plan(plan: CvPlan, folds: Optional[list[int]]) -> tuple[MetricTable, dict[str, Any]]:
    """Run (or read back) every fold of a planned cv; print its table and write it, with the command's
    provenance, beside the folds. Returns the table and the provenance record."""
    started = time.perf_counter()
    runs = [run_folds(m.experiment, m.cli, folds) for m in plan.members]
    if plan.section is None:
        table = fold_table(runs[0].metrics)
        record = run_provenance(runs[0].cli, started)
    else:
        section, first = plan.section, plan.members[0].facts
        table = fold_table(combine_members(section, runs, first.monitor, first.mode))
        record = ensemble_provenance(section, runs, started)
        # the ensemble's own table, apart from every member's
        write_json(first.root / "ensembles" / Path(section["path"]).stem / "cv_metrics.json", stamped(table, record))
    write_tables(runs, record)
    print(format_table(table))
    return table, record


def cross_validate(argv: list[str]) -> MetricTable:
    """Run (or read back) every fold; print the table and write it, with the command's provenance,
    beside the folds and to ``--out``. Returns the table (without the provenance)."""
    parser = argparse.ArgumentParser(
        prog="train.py cv", description=__doc__, epilog="Other arguments are those of `train.py fit` (e.g. --config)."
    )
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all data.num_folds)")
    known, rest = protocol_arguments(
        parser, argv, "python train.py cv --config configs/<experiment>.yaml [--out cv.json]"
    )
    table, record = run_plan(plan(rest), known.folds)
    if known.out:
        write_json(known.out, stamped(table, record))
    return table


def ensemble_provenance(section: EnsembleSection, runs: list[MemberRun], started: float) -> dict[str, Any]:
    """An ensemble's provenance: every member's resolved config and data, in the members' order."""
    configs = {"ensemble": str(section["path"]), "members": [resolved_config(run.cli) for run in runs]}
    data = [data_identity(run.cli.datamodule) for run in runs]
    return provenance(config=configs, data=data, wall_seconds=time.perf_counter() - started)
