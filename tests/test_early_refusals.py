"""Mistakes found before anything is written or trained, and the resume hint of an interrupted fit (#35
follow-ups: a fanouts/layers mismatch, ``select --metric`` of an unknown score, Ctrl-C)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import DEMO, TINY, refused_line, run_train

SHORT = [*TINY, "--trainer.max_epochs", "2"]


def _files() -> list[str]:
    return sorted(str(p) for p in Path(".").rglob("*") if p.is_file() and ".cache" not in p.parts)


def test_fanouts_of_another_length_than_the_layers_are_refused_before_anything_is_written(workdir: Path) -> None:
    pytest.importorskip("dgl")
    sampled = ["--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5]"]  # GENI of demo.yaml: 2 layers
    message = refused_line("fit", "--config", DEMO, *SHORT, *sampled)
    assert message == (
        "error: data.fanouts has 1 entries but the network has 2 layers; "
        "set data.fanouts to 2 entries (neighbours per layer, -1 = all)"
    )
    assert _files() == []  # no settings.json, config.yaml or TensorBoard version


def test_ctrl_c_during_fit_says_how_to_resume(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from nie.importance.task import NodeImportanceTask

    def interrupt(task: NodeImportanceTask) -> None:
        if task.current_epoch == 1:  # after epoch 0 was validated and saved
            raise KeyboardInterrupt

    handler = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as patched, pytest.raises(SystemExit) as raised:
        patched.setattr(NodeImportanceTask, "on_train_epoch_end", interrupt, raising=False)
        try:
            run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "3")
        finally:
            signal.signal(signal.SIGINT, handler)  # Lightning ignores further Ctrl-C while it shuts down
    assert str(raised.value) == (
        "interrupted by Ctrl-C; last.ckpt holds the last validated epoch: rerun with --ckpt_path last to resume"
    )
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "3", "--ckpt_path", "last")  # as it says
    (last,) = Path("runs").rglob("last.ckpt")
    assert torch.load(last, weights_only=False)["epoch"] == 2  # the run went on to its third epoch


def test_select_on_a_score_no_candidate_logs_is_refused_before_training(workdir: Path) -> None:
    message = refused_line(
        "select", "--candidates", DEMO, *SHORT, "--folds", "0", "--metric", "val/ndcg@10", "--out", "ranking.json"
    )
    assert message == (
        f"error: select: --metric val/ndcg@10 is not a validation score of candidate {DEMO!r} "
        "(it logs val/ndcg@100, val/overlap@100, val/rmse, val/spearman)"
    )
    assert not Path("runs").exists() and not Path("ranking.json").exists()  # nothing trained


@pytest.mark.parametrize("command", ["cv", "select", "backtest"])
def test_an_interrupted_protocol_is_told_to_rerun_itself_not_to_pass_ckpt_path(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    import train

    def interrupted(argv: list[str]) -> None:
        raise SIGTERMException

    monkeypatch.setitem(train.PROTOCOLS, command, interrupted)
    with pytest.raises(SystemExit) as raised:
        train.main([command, "--config", "configs/demo.yaml"])
    assert str(raised.value) == (
        "interrupted by SIGTERM; rerun the same command: finished splits are read back "
        "and a split cut short continues from its last.ckpt"
    )
