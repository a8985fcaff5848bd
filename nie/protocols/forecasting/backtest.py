"""``train.py backtest``: rolling-origin evaluation of a power configuration (the field's protocol).

    python train.py backtest --config configs/gefcom2014/lstm_quantile.yaml \\
        --config configs/gefcom2014/backtest/gefcom2014_tasks.yaml [--out bt.json]

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

import argparse
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd

from callbacks.checkpoint import recorded_best
from nie.cli.experiment import Experiment
from nie.cli.lightning_cli import NIECLI
from nie.cli.outputs import run_provenance
from nie.core.errors import ConfigError
from nie.core.io import atomic_path, write_json
from nie.core.provenance import stamped
from nie.protocols.forecasting.plan import BacktestPlan, Origin, origins
from nie.protocols.splits import fold_table, format_table, protocol_arguments, run_split

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


def warm_start(path: str) -> Callable[[NIECLI], None]:
    def start_from(cli: NIECLI) -> None:
        cli.model.warm_start = path

    return start_from


def keep_forecasts(origin: pd.Timestamp) -> Callable[[NIECLI, Path, Optional[str]], None]:
    """Write the origin's test forecasts from its selected checkpoint (once; a read-back origin's come from
    its recorded best), atomically, as compressed CSV."""

    def write(cli: NIECLI, directory: Path, best: Optional[str]) -> None:
        path = directory / FORECASTS
        forecast_table = getattr(cli.datamodule, "forecast_table", None)
        if forecast_table is None or (best is not None and path.is_file()) or cli.trainer.world_size > 1:
            return
        outputs = cli.trainer.predict(cli.model, datamodule=cli.datamodule, ckpt_path=best or "best")
        table = forecast_table("test", outputs)
        table.insert(1, "origin", origin)
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, compression="gzip", float_format="%.7g")

    return write


def run_origins(
    experiment: Experiment,
    plan: BacktestPlan,
    schedule: list[Origin],
    root: Path,
    max_epochs: int,
    forecasts: list[str],
) -> list[dict[str, float]]:
    """Fit, choose and test at every origin in turn (a fine-tune starts from the previous origin's best)."""
    per_origin: list[dict[str, float]] = []
    seen: set[Path] = set()
    previous: Optional[str] = None
    for origin in schedule:
        own = experiment.with_data(**origin.data_init_args())
        own = own.with_checkpoint(root=str(root / f"{origin.origin:%Y-%m-%d}"))
        before_fit = None
        if plan.refit == "finetune" and previous is not None:
            own = own.with_trainer(max_epochs=plan.finetune_epochs or max(1, max_epochs // 3))
            before_fit = warm_start(previous)
        label, keep = f"origin {origin.origin}", keep_forecasts(origin.origin)
        metrics, directory = run_split(own, label, seen, before_fit=before_fit, after_test=keep)
        previous = recorded_best(directory)
        forecasts.append(str(directory / FORECASTS))
        per_origin.append(metrics)
    return per_origin


def backtest(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="train.py backtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Other arguments are those of `train.py fit` (e.g. --config, --backtest.refit finetune).",
    )
    started = time.perf_counter()
    usage = "python train.py backtest --config <power config> [--out bt.json]"
    known, rest = protocol_arguments(parser, argv, usage)
    experiment = Experiment.from_argv(rest)
    probe = experiment.build()
    plan, schedule = plan_of(probe)
    checkpoint_root = Path(getattr(probe.trainer.checkpoint_callback, "root", "runs"))
    # a base and its patches: apart from each other
    name = "+".join(Path(c).stem for c in experiment.configs) or "config"
    root = checkpoint_root / "backtest" / name / plan.refit
    max_epochs = probe.trainer.max_epochs or 1
    forecasts: list[str] = []
    table: dict[str, Any] = fold_table(run_origins(experiment, plan, schedule, root, max_epochs, forecasts))
    print(format_table(table))
    result = {
        "origins": [str(o.origin) for o in schedule],
        "refit": plan.refit,
        "metrics": table,
        "forecasts": forecasts,
    }
    result = stamped(result, run_provenance(probe, started))
    write_json(root / "backtest_metrics.json", result)
    if known.out:
        write_json(known.out, result)
    return result
