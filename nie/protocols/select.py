"""``train.py select``: cross-validate candidate configurations and rank them on validation only.

    python train.py select --candidates configs/fb15k/rgtn.yaml configs/fb15k/geni.yaml+patch.yaml \\
        configs/fb15k/ensembles/best.yaml --out results/selection/ranking.json

A candidate is a config, or configs joined by ``+`` (a base and its patches); ensemble configs are
candidates too. Every candidate is parsed and built (ensembles: every member, and checked) before the
first one trains. Each runs through ``train.py cv`` (finished folds are read back), and the ranking
orders them by the mean over folds of the selected checkpoints' validation score, in the direction of
the checkpoint monitor's mode (``val/rmse``: lowest first); ``--metric`` ranks on other validation
scores of the selected checkpoints instead (``--metric val/ndcg@100``; several: their mean per fold,
``--metric val/ndcg@100 val/spearman``), highest first unless ``--mode min``; scores to raise and to lower
together, or ranked against their own direction, are refused. The ranking file
records every candidate's validation mean and std; the test table is written for the chosen
candidate only, so no test fold takes part in the choice.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any, Optional

import numpy as np

from nie.cli.exits import attributed
from nie.core.contracts import NamesScores
from nie.core.errors import ConfigError
from nie.core.io import check_writable, write_json
from nie.core.provenance import provenance, stamped
from nie.protocols.importance.cv import plan, run_plan
from nie.protocols.splits import MetricTable, command_parser


def candidate_args(candidate: str) -> list[str]:
    """``--config`` arguments for ``base.yaml+patch.yaml``, in order."""
    args = []
    for config in candidate.split("+"):
        if not Path(config).is_file():
            raise ConfigError(f"select: candidate {candidate!r}: config file {config} not found")
        args += ["--config", config]
    return args


def ranking_keys(
    metric: Optional[list[str]], monitor: str, mode: str, chosen_mode: Optional[str]
) -> tuple[list[str], str]:
    """The ``best_*`` entries a candidate is ranked on and the direction: the checkpoint monitor's, or
    ``--metric``'s validation scores (highest first unless ``--mode min``)."""
    if not metric:
        if chosen_mode not in (None, mode):
            raise ConfigError(f"select: --mode {chosen_mode} would rank {monitor} the wrong way round; leave it out")
        return [f"best_{monitor}"], mode
    bad = [m for m in metric if not m.startswith("val/")]
    if bad:
        raise ConfigError(f"select: --metric {bad[0]} is not a validation score; expected e.g. val/ndcg@100")
    return [f"best_{m}" for m in metric], chosen_mode or ("max" if metric != [monitor] else mode)


def check_direction(task: object, metric: Optional[list[str]], mode: str) -> None:
    """Refuse ``--metric`` scores to raise and to lower together (their mean ranks nothing), or ranked
    against their own direction (``--metric val/rmse`` without ``--mode min``), as ``weights_on`` is."""
    make_metrics = getattr(task, "make_metrics", None)
    if not metric or make_metrics is None:
        return
    collection = make_metrics()
    raised = {collection[m.split("/", 1)[1]].higher_is_better for m in metric if m.split("/", 1)[1] in collection}
    if len(raised) > 1:
        raise ConfigError(f"select: --metric mixes scores to raise and to lower ({' '.join(metric)}); rank on one kind")
    if raised in ({True}, {False}) and mode != ("max" if True in raised else "min"):
        kind, fix = ("raise", "leave out --mode") if True in raised else ("lower", "add --mode min")
        mode_words = {"max": "highest first", "min": "lowest first"}
        raise ConfigError(
            f"select: --metric {' '.join(metric)}: scores to {kind}, ranked {mode_words[mode]} (the worst first); {fix}"
        )


def check_scored(candidate: str, task: object, metric: Optional[list[str]]) -> None:
    """Refuse, before anything trains, a ``--metric`` the candidate's task never logs (when it names its scores)."""
    if not metric or not isinstance(task, NamesScores):
        return
    names = task.score_names()
    unknown = [m for m in metric if m not in names]
    if unknown:
        raise ConfigError(
            f"select: --metric {unknown[0]} is not a validation score of candidate {candidate!r} "
            f"(it logs {', '.join(sorted(names))})"
        )


def rank(tables: dict[str, MetricTable], keys: list[str], mode: str) -> list[dict[str, Any]]:
    """Candidates best first by the mean over folds of each fold's mean of the ``keys`` entries."""
    unscored = [(c, k) for c, t in tables.items() for k in keys if k not in t]
    if unscored:
        (candidate, missing), *_ = unscored
        raise ConfigError(f"select: candidate {candidate!r} reports no {missing} (its validation never scored it)")
    rows = []
    for candidate, table in tables.items():
        folds = [float(v) for v in np.mean([table[k]["folds"] for k in keys], axis=0)]
        rows.append(
            {"candidate": candidate, "mean": float(np.mean(folds)), "std": float(np.std(folds)), "folds": folds}
        )
    return sorted(rows, key=lambda row: row["mean"], reverse=mode == "max")


def select(argv: list[str]) -> dict[str, Any]:
    parser = command_parser("select", __doc__, "--trainer.max_epochs 5")
    parser.add_argument("--candidates", nargs="+", required=True, help="configs (base+patch joined by '+')")
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all)")
    parser.add_argument("--out", required=True, help="the ranking JSON")
    parser.add_argument(
        "--metric", nargs="+", help="validation score(s) to rank on, e.g. val/ndcg@100; several: their mean"
    )
    parser.add_argument("--mode", choices=["max", "min"], help="--metric's direction (default max)")
    started = time.perf_counter()
    known, rest = parser.parse_known_args(argv)
    check_writable(known.out)
    plans = {
        c: attributed(f"select: candidate {c!r}", partial(plan, [*candidate_args(c), *rest])) for c in known.candidates
    }
    scores = {(p.members[0].facts.monitor, p.members[0].facts.mode) for p in plans.values()}
    if len(scores) != 1:
        raise ConfigError(
            f"select: candidates are validated on different scores {sorted(scores)}; compare like with like"
        )
    ((monitor, mode),) = scores
    keys, mode = ranking_keys(known.metric, monitor, mode, known.mode)
    for candidate, planned in plans.items():
        for member in planned.members:
            check_scored(candidate, member.cli.model, known.metric)
            check_direction(member.cli.model, known.metric, mode)
    key = keys[0] if len(keys) == 1 else "(the mean of " + " and ".join(keys) + ")"  # per fold, then over folds
    runs = {c: run_plan(p, known.folds) for c, p in plans.items()}
    tables = {c: table for c, (table, _) in runs.items()}
    ranking = rank(tables, keys, mode)
    chosen = ranking[0]["candidate"]
    test = {k: v for k, v in tables[chosen].items() if "/" not in k or k.startswith("weight/")}
    result = {
        "selected_by": f"mean {key} over folds ({mode})",
        "ranking": ranking,
        "chosen": chosen,
        "test": test,
    }
    configs, data = ({c: record[k] for c, (_, record) in runs.items()} for k in ("config", "data"))
    result = stamped(result, provenance(config=configs, data=data, wall_seconds=time.perf_counter() - started))
    print("\n".join(f"{i + 1}. {r['candidate']}  {r['mean']:.4f} ± {r['std']:.4f}" for i, r in enumerate(ranking)))
    write_json(known.out, result)
    return result
