"""Shared fixtures: tiny generated graphs and a runner for the real CLI in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamodules.kg.synthetic import write_synthetic_graph

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO = str(ROOT / "configs" / "demo.yaml")
TINY = [
    "--data.init_args.num_nodes",
    "300",
    "--data.init_args.num_relations",
    "4",
    "--trainer.enable_progress_bar",
    "false",
    "--trainer.enable_model_summary",
    "false",
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so runs/ and .cache/ never touch the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tiny_graph_dir(tmp_path: Path) -> Path:
    return write_synthetic_graph(tmp_path / "tiny", num_nodes=200, num_relations=3, avg_degree=5, seed=1)


def synthetic_module(cache_dir: str | Path, num_nodes: int = 300, **data):
    """A set-up generated graph with degree features for both branches (structural and semantic)."""
    from datamodules import SyntheticKnowledgeGraphDataModule

    dm = SyntheticKnowledgeGraphDataModule(
        num_nodes=num_nodes,
        num_relations=4,
        features=["degree"],
        semantic_features=["degree"],
        cache_dir=str(cache_dir),
        **data,
    )
    dm.setup()
    return dm


def assert_same_metrics(single: dict, distributed: dict) -> None:
    """The same metric names, each equal to 1e-6 (a distributed run against one process); the results'
    provenance (wall time, config) is not a metric."""
    single, distributed = ({k: v for k, v in d.items() if k != "provenance"} for d in (single, distributed))
    assert set(single) == set(distributed)
    for key, value in single.items():
        assert distributed[key] == pytest.approx(value, abs=1e-6), key


def run_train(*args: str) -> None:
    from train import main

    main(list(args))


def refused_line(*args: str) -> str:
    """Runs train.py with ``args`` and returns its refusal: one line starting ``error: ``."""
    with pytest.raises(SystemExit) as stop:
        run_train(*args)
    message = str(stop.value.code)
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    return message


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def needs_shared(name: str):
    return pytest.mark.skipif(not (SHARED_DATA / name).is_dir(), reason=f"{SHARED_DATA / name} not available")
