"""The two-member GENI ensemble on the demo graph that the ensemble and selection-metric tests share."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import DEMO

CV = ["--data.init_args.num_folds", "3", "--trainer.max_epochs", "3"]
MEMBERS = [["--config", DEMO], ["--config", DEMO, "--model.init_args.network.init_args.heads", "2"]]
RUNS = [Path("runs/geni/synthetic/fold{}/lr0.005-heads4"), Path("runs/geni/synthetic/fold{}/lr0.005-heads2")]


def write_ensemble(path: str, **section: object) -> str:
    Path(path).write_text(yaml.safe_dump({"ensemble": {"members": MEMBERS, **section}}))
    return path
