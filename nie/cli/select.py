"""``train.py select``: cross-validate candidate configurations and rank them on validation only.

    python train.py select --candidates configs/fb15k/rgtn.yaml configs/fb15k/geni.yaml+patch.yaml \\
        configs/fb15k/best.yaml --out results/selection/ranking.json

A candidate is a config, or configs joined by ``+`` (a base and its patches); ensemble configs are
candidates too. Every candidate is parsed and built (ensembles: every member, and checked) before the
first one trains. Each runs through ``train.py cv`` (finished folds are read back), and the ranking
orders them by the mean over folds of the selected checkpoints' validation score, in the direction of
the checkpoint monitor's mode (``val/rmse``: lowest first). The ranking file
records every candidate's validation mean and std; the test table is written for the chosen
candidate only, so no test fold takes part in the choice.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

from nie.cli.exits import attributed
from nie.cli.importance.cv import cross_validate_with_provenance, plan
from nie.cli.lightning_cli import build_cli
from nie.core.errors import ConfigError
from nie.core.io import check_writable, write_json
from nie.core.provenance import provenance, stamped


def candidate_args(candidate: str) -> list[str]:
    """``--config`` arguments for ``base.yaml+patch.yaml``, in order."""
    args = []
    for config in candidate.split("+"):
        if not Path(config).is_file():
            raise ConfigError(f"select: candidate {candidate!r}: config file {config} not found")
        args += ["--config", config]
    return args


def select(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(
        prog="train.py select", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", nargs="+", required=True, help="configs (base+patch joined by '+')")
    parser.add_argument("--folds", type=int, nargs="*", help="folds to run (default: all)")
    parser.add_argument("--out", required=True, help="the ranking JSON")
    started = time.perf_counter()
    known, rest = parser.parse_known_args(argv)
    check_writable(known.out)
    args = {c: [*candidate_args(c), *rest] for c in known.candidates}
    facts = {c: attributed(f"select: candidate {c!r}", partial(plan, build_cli, a)) for c, a in args.items()}
    scores = {(f.monitor, f.mode) for f in facts.values()}
    if len(scores) != 1:
        raise ConfigError(
            f"select: candidates are validated on different scores {sorted(scores)}; compare like with like"
        )
    ((monitor, mode),) = scores
    key = f"best_{monitor}"
    folds = ["--folds", *map(str, known.folds)] if known.folds else []
    runs = {c: cross_validate_with_provenance([*a, *folds]) for c, a in args.items()}
    tables = {c: table for c, (table, _) in runs.items()}
    unscored = [c for c, t in tables.items() if key not in t]
    if unscored:
        raise ConfigError(f"select: candidate {unscored[0]!r} reports no {key} (its checkpoint never scored {monitor})")
    ranking = sorted(
        (
            {"candidate": c, "mean": t[key]["mean"], "std": t[key]["std"], "folds": t[key]["folds"]}
            for c, t in tables.items()
        ),
        key=lambda row: row["mean"],
        reverse=mode == "max",
    )
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
