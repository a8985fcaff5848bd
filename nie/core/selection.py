"""``train.py select``: cross-validate candidate configurations and rank them on validation only.

    python train.py select --candidates configs/fb15k/rgtn.yaml configs/fb15k/geni.yaml+patch.yaml \\
        configs/fb15k/best.yaml --out results/selection/ranking.json

A candidate is a config, or configs joined by ``+`` (a base and its patches); ensemble configs are
candidates too. Each runs through ``train.py cv`` (finished folds are read back), and the ranking
orders them by the mean over folds of the selected checkpoints' validation score. The ranking file
records every candidate's validation mean and std; the test table is written for the chosen
candidate only, so no test fold takes part in the choice.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nie.core.cv import cross_validate
from nie.core.errors import ConfigError
from nie.core.io import check_writable, write_json


def candidate_args(candidate: str) -> list[str]:
    """``--config`` arguments for ``base.yaml+patch.yaml``, in order."""
    args = []
    for config in candidate.split("+"):
        if not Path(config).is_file():
            raise ConfigError(f"select: candidate {candidate!r}: config file {config} not found")
        args += ["--config", config]
    return args


def validation_key(table: dict[str, dict], candidate: str) -> str:
    keys = [k for k in table if k.startswith("best_")]
    if len(keys) != 1:
        raise ConfigError(f"select: candidate {candidate!r} reports no single validation score (best_*): {keys}")
    return keys[0]


def select(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(
        prog="train.py select", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", nargs="+", required=True, help="configs (base+patch joined by '+')")
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all)")
    parser.add_argument("--mode", choices=("max", "min"), default="max", help="a higher (max) validation score wins")
    parser.add_argument("--out", required=True, help="the ranking JSON")
    known, rest = parser.parse_known_args(argv)
    check_writable(known.out)
    folds = ["--folds", *map(str, known.folds)] if known.folds else []
    tables = {c: cross_validate([*candidate_args(c), *rest, *folds]) for c in known.candidates}
    keys = {validation_key(table, c) for c, table in tables.items()}
    if len(keys) != 1:
        raise ConfigError(
            f"select: candidates are validated on different scores {sorted(keys)}; compare like with like"
        )
    (key,) = keys
    ranking = sorted(
        (
            {"candidate": c, "mean": t[key]["mean"], "std": t[key]["std"], "folds": t[key]["folds"]}
            for c, t in tables.items()
        ),
        key=lambda row: row["mean"],
        reverse=known.mode == "max",
    )
    chosen = ranking[0]["candidate"]
    test = {k: v for k, v in tables[chosen].items() if "/" not in k or k.startswith("weight/")}
    result = {
        "selected_by": f"mean {key} over folds ({known.mode})",
        "ranking": ranking,
        "chosen": chosen,
        "test": test,
    }
    print("\n".join(f"{i + 1}. {r['candidate']}  {r['mean']:.4f} ± {r['std']:.4f}" for i, r in enumerate(ranking)))
    write_json(known.out, result)
    return result
