"""Session 15 review follow-ups: user mistakes refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DEMO, TINY, refused_line


def test_fit_with_ckpt_path_best_is_refused_line(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--ckpt_path", "best")
    assert message == (
        "error: --ckpt_path best: fit continues from last or a checkpoint file; best is for validate, test and predict"
    )
    assert not Path("runs").exists()
