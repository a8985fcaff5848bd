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


def _with_killer(config: Path, epoch: int, signal_name: str) -> Path:
    data = yaml.safe_load(config.read_text())
    data["trainer"]["callbacks"].append(
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


def _resume_matches(workdir: Path, monkeypatch, config: Path, extra: list[str], run: Path, signal_name: str) -> None:
    (workdir / "whole").mkdir()
    monkeypatch.chdir(workdir / "whole")
    run_train("fit", "--config", str(config), *extra)
    whole = read_json(run / "val_metrics.json")
    whole_weights = torch.load(run / "last.ckpt", weights_only=False)["state_dict"]

    (workdir / "killed").mkdir()
    monkeypatch.chdir(workdir / "killed")
    assert _fit_in_subprocess(_with_killer(config, 3, signal_name), *extra) != 0
    assert torch.load(run / "last.ckpt", weights_only=False)["epoch"] in (2, 3)  # SIGTERM finishes epoch 3 first
    run_train("fit", "--config", str(config), *extra, "--ckpt_path", "last")
    assert read_json(run / "val_metrics.json") == whole
    resumed_weights = torch.load(run / "last.ckpt", weights_only=False)["state_dict"]
    for name, tensor in whole_weights.items():  # the final weights, not only the best epoch's metrics
        assert torch.equal(resumed_weights[name], tensor), name


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_gnn_resumes_exactly(workdir: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str) -> None:
    config = workdir / "demo.yaml"
    config.write_text(Path(DEMO).read_text())
    _resume_matches(workdir, monkeypatch, config, [*TINY, "--trainer.max_epochs", "6"], RUN_NIE, signal_name)


@pytest.mark.slow
def test_lstm_resumes_exactly(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_power_config(workdir / "data")
    _resume_matches(workdir, monkeypatch, config, ["--trainer.max_epochs", "5"], RUN_LSTM, "SIGKILL")


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
