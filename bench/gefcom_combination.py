"""Quantile-average two backtested forecasters with a weight chosen on validation (issue 38), scored per origin.

python bench/gefcom_combination.py \\
    --validation results/selection/gefcom2014_q2_month_ahead_lstm_X.json \\
                 results/selection/gefcom2014_q2_month_ahead_lightgbm_default.json \\
    --backtests results/backtest/gefcom2014_lstm_X_month_ahead.json \\
                results/backtest/gefcom2014_lightgbm_month_ahead.json \\
    --out results/backtest/gefcom2014_combination_month_ahead.json

``--validation``: one single-origin backtest per member (``configs/gefcom2014/patches/q2_2014.yaml``'s
plan); each member's forecasts of that origin's validation window are predicted from its selected checkpoint
(kept as ``val_forecasts.csv.gz`` beside its ``forecasts.csv.gz``) and the weight on the first member is the
grid value (0, 0.1, ..., 1) with the lowest mean pinball loss there. The combination is used only if it beats
the better member alone by ``--min-gain`` (a smaller difference on one window is not read as a preference).
A recalibration of the combined levels (``nie.forecasting.combination.recalibrate``) is judged the same way:
fitted on the first ``--calibration-fit`` share of the validation hours, scored on the rest; if chosen, each
origin's is fitted on that origin's own validation window. Then every origin of ``--backtests`` (the members'
kept test forecasts) is combined and scored; the combined forecasts are written beside the members' runs
(``runs/backtest/combination/<out stem>/``). The JSON reads like a backtest's (``bench/tables.py --gefcom``,
``--rescore``) plus the choice and its provenance.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nie.core.io import atomic_path, write_json  # noqa: E402
from nie.core.provenance import PROVENANCE_KEY, provenance  # noqa: E402
from nie.forecasting.combination import (  # noqa: E402
    aligned,
    level_columns,
    levels_of,
    quantile_average,
    recalibrate,
    scores,
    weight_scores,
)

VALIDATION_FORECASTS = "val_forecasts.csv.gz"
GRID = [round(0.1 * i, 1) for i in range(11)]


def validation_forecasts(kept: str) -> pd.DataFrame:
    """The validation-window forecasts of the run that kept ``kept`` (its selected checkpoint), cached beside it."""
    folder = Path(kept).parent
    path = folder / VALIDATION_FORECASTS
    if not path.is_file():
        from nie.cli.experiment import Experiment

        best = json.loads((folder / "best.json").read_text())["best_model_path"]
        cli = Experiment.recorded(folder / "config.yaml").with_trainer(logger=False).build()
        datamodule = cli.datamodule
        datamodule.setup("fit")
        datamodule.predict_dataloader = datamodule.val_dataloader  # type: ignore[method-assign]
        outputs = cli.trainer.predict(cli.model, datamodule=datamodule, ckpt_path=best)
        table = datamodule.forecast_table("val", list(outputs or []))
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, compression="gzip", float_format="%.7g")
    return pd.read_csv(path)


def members(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in paths]


def choose(args: argparse.Namespace) -> dict[str, Any]:
    """The weight (and whether to recalibrate) from the members' forecasts of the validation origin."""
    kept = [m["forecasts"][0] for m in members(args.validation)]
    first, second = (validation_forecasts(k) for k in kept)
    rows, a, b = aligned(first, second, "validation forecasts")
    levels, actual = levels_of(level_columns(rows)), rows["actual"].to_numpy(np.float64)
    grid = weight_scores(a, b, actual, levels, GRID)
    best = min(grid, key=lambda w: (grid[w], w))
    alone = min(grid[0.0], grid[1.0])
    weight = best if grid[best] <= alone - args.min_gain else (1.0 if grid[1.0] <= grid[0.0] else 0.0)
    combined = quantile_average(a, b, weight)
    order = np.argsort(pd.to_datetime(rows["target_time"]).to_numpy(), kind="stable")
    fit, held = order[: int(len(order) * args.calibration_fit)], order[int(len(order) * args.calibration_fit) :]
    plain = scores(combined[held], actual[held], levels)
    recalibrated = scores(recalibrate(combined[fit], actual[fit], combined[held], levels), actual[held], levels)
    return {
        "weight_first": weight,
        "grid_pinball": {f"{w:.1f}": s for w, s in grid.items()},
        "min_gain": args.min_gain,
        "validation_rows": len(rows),
        "validation_forecasts": kept,
        "calibration": recalibrated["pinball"] <= plain["pinball"] - args.min_gain,
        "calibration_check": {"fit_share": args.calibration_fit, "plain": plain, "recalibrated": recalibrated},
    }


def combine_origin(kept: list[str], choice: dict[str, Any], origin: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """One origin's combined test forecasts (recalibrated on its own validation window when chosen)."""
    first, second = (pd.read_csv(k) for k in kept)
    rows, a, b = aligned(first, second, f"origin {origin}")
    columns = level_columns(rows)
    levels, weight = levels_of(columns), choice["weight_first"]
    combined = quantile_average(a, b, weight)
    if choice["calibration"]:
        first, second = (validation_forecasts(k) for k in kept)
        fit_rows, fit_a, fit_b = aligned(first, second, f"origin {origin} validation")
        fit = quantile_average(fit_a, fit_b, weight)
        combined = recalibrate(fit, fit_rows["actual"].to_numpy(np.float64), combined, levels)
    table = rows.copy()
    table[columns] = np.clip(combined, 0, None)
    table["forecast"] = table[columns[int(np.argmin(np.abs(levels - 0.5)))]]
    return table, {"first": len(first), "second": len(second), "combined": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validation", nargs=2, type=Path, required=True, help="the two single-origin backtests")
    parser.add_argument("--backtests", nargs=2, type=Path, required=True, help="the two backtests to combine")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--min-gain", type=float, default=1e-4, help="validation pinball a choice must win by")
    parser.add_argument("--calibration-fit", type=float, default=2 / 3, help="share of validation hours to fit on")
    args = parser.parse_args()
    started = time.perf_counter()
    choice = choose(args)
    first, second = members(args.backtests)
    if first["origins"] != second["origins"]:
        sys.exit(f"error: {args.backtests[0]} and {args.backtests[1]} have different origins")
    folder = ROOT / "runs" / "backtest" / "combination" / args.out.stem
    per_origin: dict[str, list[float]] = {"pinball": [], "reliability_gap": []}
    forecasts, rows = [], []
    for origin, *kept in zip(first["origins"], first["forecasts"], second["forecasts"]):
        table, counts = combine_origin(kept, choice, origin)
        path = folder / origin[:10] / "forecasts.csv.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, compression="gzip", float_format="%.7g")
        columns = level_columns(table)
        for key, value in scores(table[columns].to_numpy(), table["actual"].to_numpy(), levels_of(columns)).items():
            per_origin[key].append(value)
        forecasts.append(str(path.relative_to(ROOT)))
        rows.append(counts)
    result = {
        "origins": first["origins"],
        "refit": "combination",
        "metrics": {k: {"folds": v, "mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in per_origin.items()},
        "forecasts": forecasts,
        "combination": {**choice, "members": [str(p) for p in args.backtests], "rows": rows},
    }
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    config["validation"], config["backtests"] = [str(p) for p in args.validation], [str(p) for p in args.backtests]
    result[PROVENANCE_KEY] = provenance(config=config, wall_seconds=time.perf_counter() - started)
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in choice.items() if k != "validation_forecasts"}, indent=1))
    print(
        f"pinball per origin {[round(v, 5) for v in per_origin['pinball']]} mean {np.mean(per_origin['pinball']):.5f}"
    )


if __name__ == "__main__":
    main()
