"""Session 15 review follow-ups: user mistakes refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

import yaml

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
