"""GEFCom2014 month-ahead backtests beside the leaderboard, as one JSON that RESULTS.md's table is rendered from.

python bench/gefcom_summary.py --leaderboard ../shared/data/power/gefcom2014_solar/leaderboard_solar.csv \\
    "LightGBM=results/backtest/gefcom2014_lightgbm_month_ahead.json" ... \\
    --out results/backtest/gefcom2014_month_ahead_summary.json

Each ``NAME=JSON`` is a 12-task backtest (``train.py backtest --out`` or ``bench/gefcom_combination.py``); the
leaderboard's ``--top`` teams by the competition's rating and its benchmark join them. Per entry: the 12 task
scores, their means over tasks 4-15 and 13-15, the competition's rating (``bench/tables.py``'s ``rating``),
and for backtests the mean reliability gap over the tasks, the wall time and the commit that made it. The
items sit under ``entries`` (``bench/tables.yaml`` picks one per row with ``within: entries``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tables import BENCHMARK, rating, read_leaderboard, top_teams  # noqa: E402
from nie.core.io import write_json  # noqa: E402
from nie.core.provenance import PROVENANCE_KEY, provenance  # noqa: E402


def entry(name: str, tasks: Sequence[float | None], benchmark: Sequence[float | None]) -> dict[str, Any]:
    scores = [float(v) for v in tasks if v is not None]
    return {
        "name": name,
        "tasks": list(tasks),
        "mean_4_15": float(np.mean(scores)) if len(scores) == len(tasks) else None,
        "mean_13_15": float(np.mean(scores[-3:])) if len(scores) == len(tasks) else None,
        "rating": rating(list(tasks), benchmark),
    }


def backtest_entry(name: str, path: Path, benchmark: Sequence[float | None]) -> dict[str, Any]:
    """A backtest's tasks, means and rating, its mean reliability gap, wall time (a combination's: its
    members' too) and commit."""
    result = json.loads(path.read_text())
    metrics, record = result["metrics"], result.get(PROVENANCE_KEY) or {}
    if len(metrics["pinball"]["folds"]) != len(benchmark):
        raise SystemExit(f"error: {path}: {len(metrics['pinball']['folds'])} origins, the leaderboard has 12 tasks")
    seconds = record.get("wall_seconds") or sum(metrics.get("fit_test_seconds", {}).get("folds", [0.0]))
    for member in result.get("combination", {}).get("members", []):  # a combination costs its members too
        seconds += backtest_entry(member, Path(member), benchmark)["minutes"] * 60
    return {
        **entry(name, metrics["pinball"]["folds"], benchmark),
        "source": str(path),
        "reliability_gap": float(np.mean(metrics["reliability_gap"]["folds"])),
        "minutes": seconds / 60,
        "commit": str(record.get("commit") or "–")[:7] + ("ᵇ" if record.get("backfilled") else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backtests", nargs="+", metavar="NAME=JSON")
    parser.add_argument("--leaderboard", type=Path, required=True)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    board = read_leaderboard(args.leaderboard)
    benchmark = board[BENCHMARK]
    entries = []
    for item in args.backtests:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"{item}: expected NAME=JSON")
        entries.append(backtest_entry(name, Path(path), benchmark))
    entries += [entry(team, board[team], benchmark) for team in top_teams(board, args.top)]
    entries.append(entry("benchmark", benchmark, benchmark))
    config = {"backtests": args.backtests, "leaderboard": str(args.leaderboard), "top": args.top}
    result = {"entries": entries, PROVENANCE_KEY: provenance(config=config, wall_seconds=time.perf_counter() - started)}
    write_json(args.out, result)
    for e in entries:
        print(f"{e['name']:<40} 4-15 {e['mean_4_15']:.5f} 13-15 {e['mean_13_15']:.5f} rating {e['rating']:.3f}")


if __name__ == "__main__":
    main()
