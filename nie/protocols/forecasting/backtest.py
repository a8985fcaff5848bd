"""``train.py backtest``: rolling-origin evaluation of a power configuration (the field's protocol).

    python train.py backtest --config configs/gefcom2014/lstm_quantile.yaml \\
        --config configs/gefcom2014/patches/gefcom2014_tasks.yaml [--out bt.json]

The config's ``backtest:`` section (``BacktestPlan``) gives the origins. At each origin the model is
fitted on the data before its validation span, chosen on that span, and tested on the span from the
origin to the next; each origin has its own run directory under
``<checkpoint root>/backtest/<config stems joined by +>/<refit>/<origin date>``, and finished origins are read back,
so a killed backtest resumes. Each origin's test forecasts (station, origin, issue and target time, the
median and every level, the actual) are kept beside its checkpoints (``forecasts.csv.gz``) and listed in
the result, so they can be rescored, combined and plotted without retraining (``bench/tables.py``).
The table (per-origin metrics, their mean and std) is printed, written beside the origins' folders
(``backtest_metrics.json``) and to ``--out``. Baselines go through the same
command (one epoch each: ``refit`` makes no difference to them).
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from callbacks.checkpoint import recorded_best
from nie.cli.experiment import Experiment
from nie.cli.lightning_cli import NIECLI
from nie.cli.outputs import run_provenance
from nie.core.errors import ConfigError
from nie.core.io import atomic_path
from nie.core.provenance import stamped
from nie.protocols.forecasting.plan import BacktestPlan, Origin, origins
from nie.protocols.splits import (
    Splits,
    best_predictions,
    check_folders,
    command_parser,
    protocol_arguments,
    publish,
    run_checkpoint,
)

FORECASTS = "forecasts.csv.gz"


def plan_of(cli: NIECLI) -> tuple[BacktestPlan, list[Origin]]:
    """The config's backtest plan and its origins, checked against the data before anything trains."""
    plan = cli.config_init.get("backtest")
    if not isinstance(plan, BacktestPlan):
        raise ConfigError("backtest needs a 'backtest:' section in the config (first_origin, step, val_span, ...)")
    time_span = getattr(cli.datamodule, "time_span", None)
    if time_span is None:
        raise ConfigError(f"backtest needs a time-series datamodule, not {type(cli.datamodule).__name__}")
    data = cli.datamodule.hparams
    return plan, origins(plan, time_span(), data["seq_len"], data["horizon"])


def warm_start(path: str, cli: NIECLI) -> None:
    cli.model.warm_start = path


def keep_forecasts(origin: pd.Timestamp, cli: NIECLI, directory: Path, best: Optional[str]) -> None:
    """Keep the origin's test forecasts from its selected checkpoint (``splits.best_predictions``) as gzip CSV."""
    forecast_table = getattr(cli.datamodule, "forecast_table", None)
    outputs = None if forecast_table is None else best_predictions(cli, directory / FORECASTS, best)
    if forecast_table is None or outputs is None:
        return
    table = forecast_table("test", outputs)
    table.insert(1, "origin", origin)
    with atomic_path(directory / FORECASTS) as tmp:
        table.to_csv(tmp, index=False, compression="gzip", float_format="%.7g")


def backtest(experiment: Experiment, out: Optional[str] = None) -> dict[str, Any]:
    """Fit, choose and test ``experiment`` at every origin of its ``backtest:`` section (a fine-tune starts
    from the previous origin's best); print the table and write the result, with its provenance, beside
    the origins' folders and to ``out``. Returns the result."""
    started = time.perf_counter()
    check_folders(experiment)
    probe = experiment.build()
    plan, schedule = plan_of(probe)
    name = "+".join(Path(c).stem for c in experiment.configs) or "config"  # a base and its patches: apart
    root = run_checkpoint(probe).root / "backtest" / name / plan.refit
    splits, previous = Splits(), None
    for origin in schedule:
        own = experiment.with_data(**origin.data_init_args()).with_checkpoint(
            root=str(root / f"{origin.origin:%Y-%m-%d}")
        )
        before_fit = None
        if plan.refit == "finetune" and previous is not None:
            own = own.with_trainer(max_epochs=plan.finetune_epochs or max(1, (probe.trainer.max_epochs or 1) // 3))
            before_fit = partial(warm_start, previous)
        directory = splits.run(own, f"origin {origin.origin}", before_fit, partial(keep_forecasts, origin.origin))
        previous = recorded_best(directory)
    table = splits.table()
    forecasts = [str(directory / FORECASTS) for directory in splits.directories]
    result = {
        "origins": [str(o.origin) for o in schedule],
        "refit": plan.refit,
        "metrics": table,
        "forecasts": forecasts,
    }
    record = run_provenance(probe, started)
    publish(table, result, record, root / "backtest_metrics.json", out)
    return stamped(result, record)


def backtest_command(argv: list[str]) -> dict[str, Any]:
    """``train.py backtest``: the backtest of the experiment ``argv`` gives, also written to ``--out``."""
    parser = command_parser("backtest", __doc__, "--config, --backtest.refit finetune")
    usage = "python train.py backtest --config <power config> [--out bt.json]"
    known, rest = protocol_arguments(parser, argv, usage)
    return backtest(Experiment.from_argv(rest), known.out)
