"""Session 15 review follow-ups: user mistakes refused in one line before anything is written; GraphBatch's
fields movable by name."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Optional, get_type_hints

import yaml
from torch import Tensor

from nie.importance.spec import GraphBatch
from tests.conftest import DEMO, TINY, refused_line


def test_fit_with_ckpt_path_best_is_refused_line(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--ckpt_path", "best")
    assert message == (
        "error: --ckpt_path best: fit continues from last or a checkpoint file; best is for validate, test and predict"
    )
    assert not Path("runs").exists()


def test_did_you_mean_never_suggests_the_refused_name(workdir: Path) -> None:
    Path("ensemble.yaml").write_text(yaml.safe_dump({"ensemble": {"members": [DEMO]}}))  # no data class: fit refuses
    message = refused_line("fit", "--config", "ensemble.yaml", "--data.init_args.num_nodes", "300")
    assert message.startswith("error: data: Option 'num_nodes' is not accepted")
    assert "'num_nodes' or" not in message and "mean 'num_nodes'" not in message
    assert not Path("runs").exists()


def test_every_graph_batch_field_but_graphs_is_a_tensor() -> None:
    """``GraphBatch.to`` moves every other field by name, which mypy cannot check: a non-tensor field would
    fail only when a batch is moved to a device."""
    hints = get_type_hints(GraphBatch)
    for field in fields(GraphBatch):
        assert field.name == "graphs" or hints[field.name] in (Tensor, Optional[Tensor]), field.name
