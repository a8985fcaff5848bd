"""``train.py cv``: k-fold cross-validation, one fresh model, datamodule and trainer per fold.

Each fold runs ``fit`` then ``test`` on its best checkpoint. Finished folds are skipped on a
rerun when their saved result was made by the same configuration, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from nie.cli.checkpoints import run_dir
from nie.cli.exits import attributed
from nie.cli.importance.ensemble import (
    FOLD_PREDICTIONS,
    MemberFacts,
    MemberRun,
    check_members,
    combine_members,
    ensemble_section,
    member_args,
    member_names,
    save_fold_predictions,
)
from nie.cli.lightning_cli import NIECLI, build_cli
from nie.cli.outputs import resolved_config, run_provenance
from nie.cli.parsing import split_configs
from nie.cli.splits import fold_table, format_table, protocol_arguments, run_split
from nie.core.errors import ConfigError
from nie.core.io import write_json
from nie.core.provenance import provenance, stamped
from nie.core.run_settings import data_identity


def keep_fold_predictions(cli: NIECLI, directory: Path, best: Optional[str]) -> None:
    """The fold's predictions for ensembles (written once; a read-back fold gets them from its best)."""
    if best is None:
        save_fold_predictions(cli, directory / FOLD_PREDICTIONS, "best")
    elif not (directory / FOLD_PREDICTIONS).is_file():
        save_fold_predictions(cli, directory / FOLD_PREDICTIONS, best)


def run_fold(
    make_cli: Callable[[list[str]], NIECLI], args: list[str], fold: int, seen: set[Path]
) -> tuple[dict[str, float], Path]:
    fold_args = [*args, "--data.init_args.fold", str(fold)]
    return run_split(make_cli, fold_args, f"fold {fold}", seen, after_test=keep_fold_predictions)


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


def run_folds(make_cli: Callable[[list[str]], NIECLI], args: list[str], folds: Optional[list[int]]) -> MemberRun:
    """Every requested fold of one configuration (all ``data.num_folds`` by default)."""
    probe = make_cli(args)
    num_folds = probe.datamodule.hparams.get("num_folds")
    if num_folds is None:
        raise ConfigError("cv needs a datamodule with a num_folds argument")
    folds = folds if folds else list(range(num_folds))
    seen: set[Path] = set()
    runs = [run_fold(make_cli, args, fold, seen) for fold in folds]
    return MemberRun(folds, [m for m, _ in runs], [d for _, d in runs], probe)


def write_tables(runs: list[MemberRun], record: dict) -> None:
    """Each configuration's table beside its folds (``cv_table_path``), with the command's provenance."""
    for run in runs:
        write_json(cv_table_path(run.directories), stamped(fold_table(run.metrics), record))


def probe(make_cli: Callable[[list[str]], NIECLI], args: list[str]) -> MemberFacts:
    """Parse and build one configuration without training: what selection and ensembles check first."""
    cli = make_cli(args)
    checkpoint = cli.trainer.checkpoint_callback
    factory = getattr(cli.model, "network_factory", None)
    network = next((a for a in getattr(factory, "args", ()) if isinstance(a, type)), factory)
    return MemberFacts(
        run_dir=run_dir(cli.trainer, cli.model, cli.datamodule),
        root=Path(getattr(checkpoint, "root", "runs")),
        monitor=getattr(checkpoint, "monitor", None) or "val/loss",
        mode=getattr(checkpoint, "mode", "min"),
        label_transform=cli.datamodule.hparams.get("label_transform"),
        predicts_labels=getattr(network, "predicts_labels", True),
    )


def checked_members(
    make_cli: Callable[[list[str]], NIECLI], section: dict, extra: list[str]
) -> tuple[list[list[str]], list[MemberFacts]]:
    """Every member's arguments and facts, checked together before any of them trains."""
    names = member_names(section["members"])
    members: list[list[str]] = []
    facts: list[MemberFacts] = []
    for name, member in zip(names, section["members"]):
        source = f"ensemble {section['path']}: member {name}"
        members.append(attributed(source, partial(member_args, member, extra)))
        facts.append(attributed(source, partial(probe, make_cli, members[-1])))
    check_members(section, names, facts)
    return members, facts


def plan(make_cli: Callable[[list[str]], NIECLI], args: list[str]) -> MemberFacts:
    """Check a cv before anything trains: the config (or every ensemble member) parses and builds, and
    ensemble members can be combined. Returns the facts of the (first) configuration."""
    section = ensemble_section(args)
    if section is None:
        return probe(make_cli, args)
    return checked_members(make_cli, section, split_configs(args)[1])[1][0]


def cross_validate(argv: list[str], make_cli: Optional[Callable[[list[str]], NIECLI]] = None) -> dict[str, dict]:
    """Run (or read back) every fold; print the table and write it, with the command's provenance,
    beside the folds and to ``--out``. Returns the table (without the provenance)."""
    return cross_validate_with_provenance(argv, make_cli)[0]


def cross_validate_with_provenance(
    argv: list[str], make_cli: Optional[Callable[[list[str]], NIECLI]] = None
) -> tuple[dict[str, dict], dict]:
    """``cross_validate``'s table and the provenance record written with it."""
    started = time.perf_counter()
    parser = argparse.ArgumentParser(
        prog="train.py cv", description=__doc__, epilog="Other arguments are those of `train.py fit` (e.g. --config)."
    )
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all data.num_folds)")
    known, rest = protocol_arguments(
        parser, argv, "python train.py cv --config configs/<experiment>.yaml [--out cv.json]"
    )
    make_cli = make_cli or build_cli
    section = ensemble_section(rest)
    if section is None:
        runs = [run_folds(make_cli, rest, known.folds)]
        table = fold_table(runs[0].metrics)
        record = run_provenance(runs[0].cli, started)
    else:
        members, facts = checked_members(make_cli, section, split_configs(rest)[1])
        runs = [run_folds(make_cli, args, known.folds) for args in members]
        table = fold_table(combine_members(section, runs, facts[0].monitor, facts[0].mode))
        record = ensemble_provenance(section, runs, started)
        # the ensemble's own table, apart from every member's
        write_json(facts[0].root / "ensembles" / Path(section["path"]).stem / "cv_metrics.json", stamped(table, record))
    write_tables(runs, record)
    print(format_table(table))
    if known.out:
        write_json(known.out, stamped(table, record))
    return table, record


def ensemble_provenance(section: dict, runs: list[MemberRun], started: float) -> dict:
    """An ensemble's provenance: every member's resolved config and data, in the members' order."""
    configs = {"ensemble": str(section["path"]), "members": [resolved_config(run.cli) for run in runs]}
    data = [data_identity(run.cli.datamodule) for run in runs]
    return provenance(config=configs, data=data, wall_seconds=time.perf_counter() - started)
