"""Render results JSON files (from `train.py cv --out` / `train.py test --out`) as Markdown table rows.

python bench/tables.py results/fb15k_*.json          # cv: mean ± std per metric
python bench/tables.py --test results/gefcom2014_*.json
python bench/tables.py --folds geni results/fb15k_geni_folds/fold*.json   # finished folds of a cv
python bench/tables.py --paired results/fb15k_geni.json results/fb15k_licap_geni.json   # B - A per fold
python bench/tables.py --origins results/backtest/gefcom2014_*.json   # backtests side by side, per origin
python bench/tables.py --rescore results/backtest/gefcom2014_lightgbm*.json   # kept forecasts scored again
python bench/tables.py --gefcom ../shared/data/power/gefcom2014_solar/leaderboard_solar.csv \
    results/backtest/gefcom2014_*month_ahead*.json --figure gefcom.png   # per task beside the top five, rating

The tables of RESULTS.md and BENCHMARKS.md between <!-- table: NAME --> and <!-- /table --> are generated
from the JSONs bench/tables.yaml names (bench/results_tables.py):
python bench/tables.py --render      # rewrite them
python bench/tables.py --check       # exit 1 naming each row (and its JSON) that differs
python bench/tables.py --stale       # tables without JSONs, typed cells, rows whose code changed since their commit
python bench/tables.py --backfill results/x.json   # record the commit that committed a JSON without provenance
python bench/tables.py --check --root DIR   # the same for another checkout (bench/tables.yaml, documents, results)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NIE_COLUMNS = ("ndcg@100", "spearman", "overlap@100", "rmse")
POWER_COLUMNS = (
    "test/rmse",
    "test/mae",
    "test/skill",
    "test/station_1/rmse",
    "test/station_2/rmse",
    "test/station_3/rmse",
)


def cv_row(name: str, table: dict) -> str:
    cells = [f"{table[c]['mean']:.4f} ± {table[c]['std']:.4f}" if c in table else "–" for c in NIE_COLUMNS]
    seconds = table.get("fit_test_seconds", {}).get("folds", [])
    return f"| {name} | " + " | ".join(cells) + f" | {sum(seconds) / 60:.1f} |"


def test_row(name: str, metrics: dict) -> str:
    return f"| {name} | " + " | ".join(f"{metrics[c]:.4f}" if c in metrics else "–" for c in POWER_COLUMNS) + " |"


def paired_rows(base: dict, other: dict) -> list[str]:
    """Per metric: the fold-by-fold differences other − base, their mean, and how many folds improve
    (RMSE improves downwards)."""
    rows = []
    for column in NIE_COLUMNS:
        if column not in base or column not in other:
            continue
        diffs = [b - a for a, b in zip(base[column]["folds"], other[column]["folds"], strict=True)]
        better = sum(d < 0 if column == "rmse" else d > 0 for d in diffs)
        cells = " ".join(f"{d:+.4f}" for d in diffs)
        rows.append(f"| {column} | {sum(diffs) / len(diffs):+.4f} | {cells} | {better} of {len(diffs)} |")
    return rows


def origin_rows(names: list[str], backtests: list[dict], metric: str = "pinball", last: int = 3) -> list[str]:
    """One row per origin with each backtest's test ``metric``, then the means over every origin and over
    the ``last`` ones; a backtest without an origin has a dash there."""
    origins = sorted({o for b in backtests for o in b["origins"]})
    values = [dict(zip(b["origins"], b["metrics"][metric]["folds"])) for b in backtests]
    rows = ["| origin | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for origin in origins:
        rows.append(
            f"| {origin[:10]} | " + " | ".join(f"{v[origin]:.5f}" if origin in v else "–" for v in values) + " |"
        )
    for label, chosen in ((f"mean of all {len(origins)}", origins), (f"mean of the last {last}", origins[-last:])):
        means = [sum(v[o] for o in chosen) / len(chosen) if all(o in v for o in chosen) else None for v in values]
        rows.append(f"| {label} | " + " | ".join("–" if m is None else f"{m:.5f}" for m in means) + " |")
    return rows


def generated_tables(args: argparse.Namespace) -> int:
    """--render, --check, --stale, --backfill: the documents' generated tables; the exit status."""
    from bench.results_tables import TableError, differences, load_spec, render
    from bench.stale_results import stale

    try:
        if args.backfill:
            from bench.backfill_provenance import backfill

            for path in args.files:
                print(f"{path}: {backfill(path)}")
            return 0
        root = args.root
        spec = load_spec(root / "bench" / "tables.yaml")
        lines = render(spec, root) if args.render else differences(spec, root) if args.check else stale(spec, root)
    except TableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if lines:
        print("\n".join(lines))
    return 1 if args.check and lines else 0


BENCHMARK = "Benchmark - Solar"  # the organisers' row of leaderboard_solar.csv


def rescore(path: str | Path) -> dict[str, float]:
    """One origin's kept forecasts (``forecasts.csv.gz`` of ``train.py backtest``) scored again: the pinball
    loss over every level, hour and station (``test/pinball``) and the worst level's reliability gap on
    producing hours (``test/reliability_gap``)."""
    import pandas as pd

    table = pd.read_csv(path).dropna(subset=["actual"])
    columns = [c for c in table.columns if c.startswith("q") and c[1:].replace(".", "", 1).isdigit()]
    levels = np.array([float(c[1:]) for c in columns])
    forecast, actual = table[columns].to_numpy(np.float64), table["actual"].to_numpy(np.float64)[:, None]
    error = actual - forecast
    pinball = np.maximum(levels * error, (levels - 1) * error).mean()
    producing = actual[:, 0] > 0
    shares = (actual[producing] <= forecast[producing]).mean(axis=0)
    return {"pinball": float(pinball), "reliability_gap": float(np.abs(shares - levels).max())}


def read_leaderboard(path: Path) -> dict[str, list[float | None]]:
    """``leaderboard_solar.csv``: per team its 12 task scores (None where it did not submit)."""
    import csv

    with path.open() as handle:
        return {
            row["team"]: [float(v) if v else None for k, v in row.items() if k != "team"]
            for row in csv.DictReader(handle)
        }


def rating(scores: Sequence[float | None], benchmark: Sequence[float | None]) -> float | None:
    """GEFCom2014's rating (Hong et al. 2016): per task the skill 1 - score / benchmark, averaged with weights
    1, 2, ..., n (the last task counts n times the first); None when a task is missing."""
    pairs = [(s, b) for s, b in zip(scores, benchmark) if s is not None and b is not None]
    if len(pairs) < len(scores):
        return None
    weights = range(1, len(pairs) + 1)
    return sum(w * (1 - s / b) for w, (s, b) in zip(weights, pairs)) / sum(weights)


def top_teams(leaderboard: dict, top: int) -> list[str]:
    """The ``top`` teams with every task scored, best rating first."""
    benchmark = leaderboard[BENCHMARK]
    rated = {t: rating(v, benchmark) for t, v in leaderboard.items() if t != BENCHMARK}
    return sorted((t for t, r in rated.items() if r is not None), key=lambda t: -(rated[t] or 0))[:top]


def gefcom_rows(names: list[str], backtests: list[dict], leaderboard: dict, top: int = 5) -> list[str]:
    """Per task (4-15), each backtest's test pinball beside the leaderboard's ``top`` teams by rating and the
    benchmark; then the means over 4-15 and 13-15 and the competition rating of every column."""
    benchmark = leaderboard[BENCHMARK]
    teams = top_teams(leaderboard, top)
    columns = {n: [float(v) for v in b["metrics"]["pinball"]["folds"]] for n, b in zip(names, backtests)}
    columns.update({t: leaderboard[t] for t in teams} | {"benchmark": benchmark})
    rows = ["| task | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for i in range(len(benchmark)):
        rows.append(f"| {i + 4} | " + " | ".join(f"{v[i]:.5f}" if i < len(v) else "–" for v in columns.values()) + " |")
    for label, part in (("4–15 mean", slice(None)), ("13–15 mean", slice(-3, None))):
        rows.append(f"| {label} | " + " | ".join(f"{np.mean(v[part]):.5f}" for v in columns.values()) + " |")
    cells = [rating(v, benchmark) if len(v) == len(benchmark) else None for v in columns.values()]
    rows.append("| rating | " + " | ".join("–" if r is None else f"{r:.3f}" for r in cells) + " |")
    return rows


def gefcom_figure(names: list[str], backtests: list[dict], leaderboard: dict, path: Path, top: int = 5) -> None:
    """Per-task pinball of each backtest against the leaderboard's ``top`` teams (and the benchmark), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nie.core.io import atomic_path

    benchmark = leaderboard[BENCHMARK]
    ranked = top_teams(leaderboard, top)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    tasks = list(range(4, 4 + len(benchmark)))
    for team in ranked:
        axis.plot(
            tasks,
            leaderboard[team],
            color="0.6",
            lw=1,
            marker=".",
            label=f"top {top} teams" if team == ranked[0] else None,
        )
    for name, result in zip(names, backtests):
        axis.plot(tasks, result["metrics"]["pinball"]["folds"], lw=2, marker="o", label=name)
    axis.set(xlabel="task", ylabel="pinball loss (99 levels)", title="GEFCom2014 solar, tasks 4-15")
    axis.legend(fontsize=8)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    for option, text in (
        ("--render", "rewrite the generated tables of RESULTS.md and BENCHMARKS.md from their JSONs"),
        ("--check", "exit 1 naming each generated row that differs from its JSON"),
        ("--stale", "list tables without JSONs, typed cells and rows whose code changed since their commit"),
        ("--backfill", "files: committed JSONs without provenance; record the commit that committed each"),
    ):
        parser.add_argument(option, action="store_true", help=text)
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="with --render, --check, --stale: the checkout whose "
        "bench/tables.yaml, documents and results JSONs are read (default: this one)",
    )
    parser.add_argument("--test", action="store_true", help="files are single-run test metrics")
    parser.add_argument("--folds", metavar="NAME", help="files are cv_fold.json records of one model: summarise them")
    parser.add_argument("--paired", action="store_true", help="two cv tables on the same folds: differences")
    parser.add_argument("--origins", action="store_true", help="backtests (train.py backtest --out): per origin")
    parser.add_argument("--rescore", action="store_true", help="backtests: their kept forecasts scored again")
    parser.add_argument("--gefcom", type=Path, metavar="LEADERBOARD", help="backtests beside leaderboard_solar.csv")
    parser.add_argument("--figure", type=Path, help="with --gefcom: the per-task figure (PNG)")
    return parser


def print_rescores(files: list[Path]) -> None:
    """--rescore: each origin's kept forecasts of each backtest, scored again."""
    for path in files:
        for origin, kept in zip(*(json.loads(path.read_text())[k] for k in ("origins", "forecasts"))):
            scores = rescore(kept)
            gap = scores["reliability_gap"]
            print(f"{path.stem} {origin[:10]} pinball {scores['pinball']:.5f} reliability_gap {gap:.3f}")


def print_gefcom(files: list[Path], leaderboard: Path, figure: Path | None) -> None:
    """--gefcom: the backtests per task beside the leaderboard (and the figure)."""
    backtests, names = [json.loads(path.read_text()) for path in files], [path.stem for path in files]
    print("\n".join(gefcom_rows(names, backtests, read_leaderboard(leaderboard))))
    if figure:
        gefcom_figure(names, backtests, read_leaderboard(leaderboard), figure)


def print_folds(name: str, files: list[Path]) -> None:
    """--folds: finished folds of one cv summarised as its row."""
    from nie.protocols.splits import fold_table

    per_fold = [json.loads(path.read_text())["metrics"] for path in files]
    table = fold_table(per_fold)
    header = ["model", *NIE_COLUMNS, "fit+test minutes (all folds)"]
    print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    print(cv_row(f"{name} ({len(per_fold)} folds)", table))


def print_summary(args: argparse.Namespace) -> None:
    """Results JSONs as table rows: per origin, paired, the folds of a cv, test metrics or cv tables."""
    if args.origins:
        backtests = [json.loads(path.read_text()) for path in args.files]
        print("\n".join(origin_rows([path.stem for path in args.files], backtests)))
    elif args.paired:
        base, other = (json.loads(path.read_text()) for path in args.files)
        print("| metric | mean difference | per fold | folds improved |\n|---|---|---|---|")
        print("\n".join(paired_rows(base, other)))
    elif args.folds:
        print_folds(args.folds, args.files)
    else:
        header = ["model", *POWER_COLUMNS] if args.test else ["model", *NIE_COLUMNS, "fit+test minutes (all folds)"]
        print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
        for path in args.files:
            data = json.loads(path.read_text())
            name = path.stem.split("_", 1)[-1]
            print(test_row(name, data) if args.test else cv_row(name, data))


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    if args.rescore:
        print_rescores(args.files)
    elif args.gefcom:
        print_gefcom(args.files, args.gefcom, args.figure)
    elif args.render or args.check or args.stale or args.backfill:
        sys.exit(generated_tables(args))
    elif not args.files:
        parser.error("give results JSON files, or one of --render, --check, --stale")
    else:
        print_summary(args)


if __name__ == "__main__":
    main()
