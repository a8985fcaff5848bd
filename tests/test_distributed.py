"""DDP on CPU (2 processes): test metrics equal the single-process ones for the same checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, TINY, assert_same_metrics, read_json, run_train
from tests.power_data import write_power_config

DDP = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"]


def _ddp_test(config: str, *extra: str) -> dict:
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "test",
        "--config",
        config,
        *extra,
        "--ckpt_path",
        "best",
        *DDP,
        "--out",
        "ddp.json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return read_json("ddp.json")


@pytest.mark.slow
def test_ddp_node_importance_metrics_equal_single_process(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "3")
    run_train("test", "--config", DEMO, *TINY, "--ckpt_path", "best", "--out", "single.json")
    assert_same_metrics(read_json("single.json"), _ddp_test(DEMO, *TINY))


@pytest.mark.slow
def test_ddp_forecast_metrics_equal_single_process(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    run_train("fit", "--config", config)
    run_train("test", "--config", config, "--ckpt_path", "best", "--out", "single.json")
    assert_same_metrics(read_json("single.json"), _ddp_test(config))


@pytest.mark.slow
def test_ddp_sampled_training_and_evaluation(workdir: Path) -> None:
    sampled = [*TINY, "--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fit = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "fit", "--config", DEMO, *sampled, "--trainer.max_epochs", "2", *DDP],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    run_train("test", "--config", DEMO, *sampled, "--ckpt_path", "best", "--out", "single.json")
    assert_same_metrics(read_json("single.json"), _ddp_test(DEMO, *sampled))
