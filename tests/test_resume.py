"""Killed mid-run (SIGTERM or SIGKILL), rerun with --ckpt_path last: the same final metrics as a run never killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import DEMO, ROOT, TINY, read_json, run_train
from tests.power_data import write_power_config

RUN_NIE = Path("runs/geni/synthetic/fold0/lr0.005-heads4")
RUN_LSTM = Path("runs/lstm/series/lr0.005")


def _demo_copy(workdir: Path) -> Path:
    demo = workdir / "demo.yaml"
    demo.write_text(Path(DEMO).read_text())
    return demo


def _after_warm_up(config: Path, **trainer: object) -> Path:
    """The config with early stopping counting from epoch 1 (so a kill at epoch 3 meets its counters and
    the checkpoint's best after several validations) and the given trainer settings."""
    data = yaml.safe_load(config.read_text())
    data["trainer"].update(trainer)
    data["early_stopping"] = {"patience": 4, "min_epochs": 1}
    patched = config.with_name("after_warm_up.yaml")
    patched.write_text(yaml.safe_dump(data))
    return patched


def _with_killer(config: Path, epoch: int, signal_name: str) -> Path:
    data = yaml.safe_load(config.read_text())
    data["trainer"].setdefault("callbacks", []).append(
        {"class_path": "tests.killer.KillAtEpoch", "init_args": {"epoch": epoch, "signal_name": signal_name}}
    )
    killing = config.with_name("killing.yaml")
    killing.write_text(yaml.safe_dump(data))
    return killing


def _fit_in_subprocess(config: Path, *extra: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "fit", "--config", str(config), *extra],
        env=env,
        capture_output=True,
        timeout=300,
    ).returncode


def _whole_run(workdir: Path, monkeypatch, config: Path, extra: list[str], run: Path) -> tuple[dict, dict]:
    (workdir / "whole").mkdir()
    monkeypatch.chdir(workdir / "whole")
    run_train("fit", "--config", str(config), *extra)
    return read_json(run / "val_metrics.json"), torch.load(run / "last.ckpt", weights_only=False)["state_dict"]


def _assert_same_run(run: Path, whole: tuple[dict, dict]) -> None:
    metrics, weights = whole
    assert read_json(run / "val_metrics.json") == metrics
    resumed_weights = torch.load(run / "last.ckpt", weights_only=False)["state_dict"]
    for name, tensor in weights.items():  # the final weights, not only the best epoch's metrics
        assert torch.equal(resumed_weights[name], tensor), name
    versions = list(Path("runs/tensorboard").iterdir())  # the resumed run continues its curves in one folder
    assert [v.name for v in versions] == ["version_0"]


def _resume_matches(
    workdir: Path, monkeypatch, config: Path, extra: list[str], run: Path, signal_name: str, kill_epoch: int = 3
) -> None:
    whole = _whole_run(workdir, monkeypatch, config, extra, run)
    (workdir / "killed").mkdir()
    monkeypatch.chdir(workdir / "killed")
    assert _fit_in_subprocess(_with_killer(config, kill_epoch, signal_name), *extra) != 0
    saved_epoch = torch.load(run / "last.ckpt", weights_only=False)["epoch"]
    assert saved_epoch < kill_epoch + 1  # SIGTERM may finish the epoch it interrupted first
    run_train("fit", "--config", str(config), *extra, "--ckpt_path", "last")
    _assert_same_run(run, whole)


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_gnn_resumes_exactly_inside_the_warm_up(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str
) -> None:
    _resume_matches(
        workdir, monkeypatch, _demo_copy(workdir), [*TINY, "--trainer.max_epochs", "6"], RUN_NIE, signal_name
    )


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_gnn_resumes_exactly_after_the_warm_up(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str
) -> None:
    """Early stopping has counted several validations and the checkpoint callback has a best."""
    config = _after_warm_up(_demo_copy(workdir))
    _resume_matches(workdir, monkeypatch, config, [*TINY, "--trainer.max_epochs", "8"], RUN_NIE, signal_name, 4)


@pytest.mark.slow
@pytest.mark.parametrize("kill_epoch", [4, 6])
def test_gnn_resumes_exactly_with_fb15k_validation_interval(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, kill_epoch: int
) -> None:
    """FB15k validates every 5 epochs: a kill right after a validation (epoch 4 ends one) or between two."""
    demo = _demo_copy(workdir)
    interval = yaml.safe_load((ROOT / "configs/fb15k/parts/trainer.yaml").read_text())["trainer"][
        "check_val_every_n_epoch"
    ]
    config = _after_warm_up(demo, check_val_every_n_epoch=interval)
    extra = [*TINY, "--trainer.max_epochs", str(2 * interval)]
    _resume_matches(workdir, monkeypatch, config, extra, RUN_NIE, "SIGKILL", kill_epoch + 1)


@pytest.mark.slow
def test_gnn_finished_run_continues_with_more_epochs(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _after_warm_up(_demo_copy(workdir))
    whole = _whole_run(workdir, monkeypatch, config, [*TINY, "--trainer.max_epochs", "8"], RUN_NIE)
    (workdir / "continued").mkdir()
    monkeypatch.chdir(workdir / "continued")
    run_train("fit", "--config", str(config), *TINY, "--trainer.max_epochs", "4")
    run_train("fit", "--config", str(config), *TINY, "--trainer.max_epochs", "8", "--ckpt_path", "last")
    _assert_same_run(RUN_NIE, whole)


@pytest.mark.slow
def test_lstm_resumes_exactly_inside_the_warm_up(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_power_config(workdir / "data")
    _resume_matches(workdir, monkeypatch, config, ["--trainer.max_epochs", "5"], RUN_LSTM, "SIGKILL")


@pytest.mark.slow
def test_lstm_resumes_exactly_after_the_warm_up(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _after_warm_up(write_power_config(workdir / "data"))
    _resume_matches(workdir, monkeypatch, config, ["--trainer.max_epochs", "6"], RUN_LSTM, "SIGTERM", 4)


def test_checkpoints_are_written_by_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nie.core.checkpoint_io import AtomicCheckpointIO

    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"weights": torch.ones(3)}, target)
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # a kill while serialising

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        AtomicCheckpointIO().save_checkpoint({"weights": torch.zeros(3)}, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
