"""Multi-node DDP through a launcher: two torchrun "nodes" on this machine (gloo) give the test metrics
of one process; the launcher's world fills trainer.num_nodes/devices; no launcher is one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nie.core.errors import ConfigError
from nie.core.launch import fill_nodes_from_launcher, launcher_world
from tests.conftest import DEMO, ROOT, TINY, assert_same_metrics, read_json, run_train
from tests.power_data import write_power_config

TORCHRUN_ENV = {
    "MASTER_ADDR": "10.0.0.1",
    "MASTER_PORT": "29500",
    "WORLD_SIZE": "8",
    "RANK": "5",
    "LOCAL_RANK": "1",
    "LOCAL_WORLD_SIZE": "4",
}
SLURM_ENV = {"SLURM_NTASKS": "6", "SLURM_NNODES": "3", "SLURM_PROCID": "4", "SLURM_LOCALID": "0", "SLURM_NODEID": "2"}


def test_the_launchers_world_fills_the_trainer() -> None:
    assert launcher_world(TORCHRUN_ENV) == (2, 4, "torchrun")
    assert launcher_world(SLURM_ENV) == (3, 2, "srun")
    assert launcher_world({}) is None and launcher_world({"WORLD_SIZE": "2"}) is None  # partial: no launcher
    trainer: dict = {"num_nodes": 1, "devices": "auto"}
    fill_nodes_from_launcher(trainer, TORCHRUN_ENV)
    assert trainer == {"num_nodes": 2, "devices": 4}
    chosen: dict = {"num_nodes": 2, "devices": 4}  # the config's own values are kept
    fill_nodes_from_launcher(chosen, SLURM_ENV)
    assert chosen == {"num_nodes": 2, "devices": 4}


def test_several_nodes_without_a_launcher_is_one_line(workdir: Path) -> None:
    with pytest.raises(ConfigError, match="trainer.num_nodes: 2 needs one process per node"):
        fill_nodes_from_launcher({"num_nodes": 2, "devices": "auto"}, {})
    for key in list(os.environ):
        if key in TORCHRUN_ENV or key.startswith("SLURM_"):
            pytest.skip("this test process itself runs under a launcher")
    with pytest.raises(SystemExit) as raised:
        run_train("fit", "--config", DEMO, *TINY, "--trainer.num_nodes", "2")
    message = str(raised.value)
    assert message.startswith("error: trainer.num_nodes: 2 needs one process per node") and "\n" not in message
    assert "MASTER_ADDR" in message and "SLURM_NTASKS" in message
    assert not Path("runs").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _two_nodes(*args: str) -> None:
    """``train.py ARGS`` as two torchrun nodes of one process each, rendezvous on 127.0.0.1 (gloo)."""
    port, env = _free_port(), {**os.environ, "PYTHONPATH": str(ROOT)}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1"]
    launcher += ["--master-addr", "127.0.0.1", "--master-port", str(port)]
    nodes = [
        subprocess.Popen(
            [*launcher, "--node-rank", str(rank), str(ROOT / "train.py"), *args, "--trainer.accelerator", "cpu"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    for rank, (node, output) in enumerate(zip(nodes, outputs)):
        assert node.returncode == 0, f"node {rank}: {output[-3000:]}"
    # one world of two processes (num_nodes filled from the launcher), not two separate runs
    assert any("GLOBAL_RANK: 1, MEMBER: 2/2" in output for output in outputs), outputs[0][-2000:]


@pytest.mark.slow
def test_two_nodes_test_the_power_lstm_as_one_process(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    run_train("fit", "--config", config)
    run_train("test", "--config", config, "--ckpt_path", "best", "--out", "single.json")
    _two_nodes("test", "--config", config, "--ckpt_path", "best", "--out", "nodes.json")
    assert_same_metrics(read_json("single.json"), read_json("nodes.json"))


@pytest.mark.slow
def test_two_nodes_train_and_test_sampled_geni(workdir: Path) -> None:
    sampled = ["--config", DEMO, *TINY, "--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]"]
    _two_nodes("fit", *sampled, "--trainer.max_epochs", "2")  # training across the two nodes completes
    run_train("test", *sampled, "--ckpt_path", "best", "--out", "single.json")
    _two_nodes("test", *sampled, "--ckpt_path", "best", "--out", "nodes.json")
    assert_same_metrics(read_json("single.json"), read_json("nodes.json"))
