"""``train.py cv``: k-fold cross-validation, one fresh model, datamodule and trainer per fold.

Each fold runs ``fit`` then ``test`` on its best checkpoint. A finished fold is read back on a rerun when
its recorded settings (``run_settings.split_settings``) are the config's, so a killed run resumes.
"""

from __future__ import annotations

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
from nie.importance.contracts import predicts_labels
from nie.protocols.importance.ensemble import (
    EnsemblePlan,
    MemberFacts,
    check_members,
    combine_members,
    ensemble_section,
    keep_fold_predictions,
    member_args,
    member_names,
    weight_metrics,
)
from nie.protocols.splits import (
    MetricTable,
    Splits,
    check_folders,
    command_parser,
    fold_table,
    protocol_arguments,
    publish,
    run_checkpoint,
)


def cross_validate(experiment: Experiment, folds: Optional[list[int]] = None) -> Splits:
    """Run (or read back) every requested fold of ``experiment`` (default: all ``data.num_folds``)."""
    num_folds = experiment.config.get("data.init_args.num_folds")
    if num_folds is None:
        raise ConfigError("cv needs a datamodule with a num_folds argument")
    splits = Splits()
    for fold in folds or range(num_folds):
        splits.run(experiment.with_data(fold=fold), f"fold {fold}", after_test=keep_fold_predictions)
    return splits


def cv_table_path(directories: list[Path]) -> Path:
    """Where a configuration's cv table goes: beside its folds, named by what their run directories share
    below the common one (``runs/geni/fb15k/cv_metrics-lr0.05-heads4.json``), so configurations that
    differ only in the leaf name keep their own tables (one fold: ``cv_metrics.json`` in its folder)."""
    common = Path(os.path.commonpath(directories))
    levels = zip(*(d.relative_to(common).parts for d in directories))
    shared = [parts[0] for parts in levels if len(set(parts)) == 1]
    return common / ("-".join(["cv_metrics", *shared]) + ".json")


@dataclass(frozen=True)
class Member:
    """One configuration of a cv, parsed once and built once (``cli``: what its provenance records)."""

    experiment: Experiment
    cli: NIECLI
    facts: MemberFacts


def member(args: list[str], source: str = "") -> Member:
    """One configuration parsed and built, with what selection and ensembles check of it before anything
    trains; its errors name ``source`` (an ensemble member)."""

    def build() -> Member:
        experiment = Experiment.from_argv(args)
        check_folders(experiment)
        cli = experiment.build()
        checkpoint = run_checkpoint(cli)
        facts = MemberFacts(
            run_dir=run_dir(cli.trainer, cli.model, cli.datamodule),
            root=checkpoint.root,
            monitor=str(checkpoint.monitor),  # run_checkpoint: set
            mode=checkpoint.mode,
            label_transform=cli.datamodule.hparams.get("label_transform"),
            predicts_labels=predicts_labels(network_class(getattr(cli.model, "network_factory", None))),
        )
        return Member(experiment, cli, facts)

    return attributed(source, build) if source else build()


@dataclass(frozen=True)
class CvPlan:
    """A cv checked before anything trains: one configuration, or an ensemble's members (``ensemble``, read
    from the config file ``source``)."""

    members: list[Member]
    ensemble: Optional[EnsemblePlan] = None
    source: str = ""


def plan(args: list[str]) -> CvPlan:
    """Check a cv before anything trains: the config (or every ensemble member) parses and builds, and
    ensemble members can be combined."""
    ensemble = ensemble_section(args)
    if ensemble is None:
        return CvPlan([member(args)])
    (path,), extra = split_configs(args)
    names, members = member_names(ensemble.members), []
    for name, own in zip(names, ensemble.members):
        source = f"ensemble {path}: member {name}"
        members.append(member(attributed(source, partial(member_args, own, extra)), source))
    attributed(f"ensemble {path}", partial(check_members, names, [m.facts for m in members]))
    if ensemble.weights == "validation":
        first = members[0]
        weighting = partial(
            weight_metrics, first.cli.model.make_metrics, ensemble, first.facts.monitor, first.facts.mode
        )
        attributed(f"ensemble {path}", weighting)  # weights_on's scores known, before any member trains
    return CvPlan(members, ensemble, path)


def run_plan(plan: CvPlan, folds: Optional[list[int]], out: Optional[str] = None) -> tuple[MetricTable, dict[str, Any]]:
    """Run (or read back) every fold of a planned cv; print its table and write it, with the command's
    provenance, beside the folds (an ensemble's also under ``<root>/ensembles/``) and to ``out``. Returns
    the table and the provenance record."""
    started = time.perf_counter()
    runs = [cross_validate(m.experiment, folds) for m in plan.members]
    first = plan.members[0]
    if plan.ensemble is None:
        table, record, own = runs[0].table(), run_provenance(first.cli, started), None
    else:
        combine = partial(combine_members, plan.ensemble, runs, first.cli.model.make_metrics, first.facts)
        table = fold_table(attributed(f"ensemble {plan.source}", combine))
        configs = {"ensemble": plan.source, "members": [resolved_config(m.cli) for m in plan.members]}
        data = [data_identity(m.cli.datamodule) for m in plan.members]
        record = provenance(config=configs, data=data, wall_seconds=time.perf_counter() - started)
        own = first.facts.root / "ensembles" / Path(plan.source).stem / "cv_metrics.json"
    for run in runs:
        write_json(cv_table_path(run.directories), stamped(run.table(), record))
    publish(table, table, record, own, out)
    return table, record


def cv_command(argv: list[str]) -> MetricTable:
    """``train.py cv``: run (or read back) every fold; print the table and write it, with the command's
    provenance, beside the folds and to ``--out``. Returns the table (without the provenance)."""
    parser = command_parser("cv", __doc__)
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all data.num_folds)")
    usage = "python train.py cv --config configs/<experiment>.yaml [--out cv.json]"
    known, rest = protocol_arguments(parser, argv, usage)
    return run_plan(plan(rest), known.folds, known.out)[0]
