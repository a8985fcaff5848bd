"""Graphs beyond one machine: partitions written by ``train.py partition``, served by DGL's servers on
127.0.0.x, trained and tested with neighbour sampling on ``DistGraph`` by ``train.py``; the metrics
equal the single-machine sampled run's, with one partition and one trainer and with two partitions
and two trainer processes (Lightning's DDP ranks).

Each partition's server must be on its own host: DGL 2.1 names a partition's shared memory after the
graph, so two servers on one host overwrite each other's graph and features (``python
bench/dgl_partitions.py`` shows it). The two-partition test gives the second server its own
``/dev/shm`` (a user and mount namespace, ``unshare``) and its own loopback address, as a second
machine would have; the trainers run beside the first server, as DGL's launcher would start them."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from datamodules import DistributedKnowledgeGraphDataModule
from nie.core.errors import ConfigError
from tests.conftest import DEMO, ROOT, TINY, read_json, run_train

# one batch holding every training node, full neighbourhoods, no dropout: sampling and batch order
# cannot change what is learned, so the two runs differ only by the order of float sums
SAME_LEARNING = [
    "--trainer.max_epochs",
    "4",
    "--data.init_args.batch_size",
    "4096",
    "--data.init_args.fanouts",
    "[-1, -1]",
    "--model.init_args.network.init_args.feat_drop",
    "0",
]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _distributed_config(workdir: Path, part_config: Path, ip_config: Path, trainers: int = 1) -> Path:
    """The README's recipe: the graph config with its data section replaced, nothing else (the run folder
    names the partitions' fold as the single-machine run's does)."""
    config = yaml.safe_load(Path(DEMO).read_text())
    config["data"] = {
        "class_path": "datamodules.DistributedKnowledgeGraphDataModule",
        "init_args": {"partitions": str(part_config), "ip_config": str(ip_config), "batch_size": 4096},
    }
    config["data"]["init_args"]["fanouts"] = [-1, -1]
    config["model"]["init_args"]["network"]["init_args"]["feat_drop"] = 0.0
    config["trainer"].update(max_epochs=4, enable_progress_bar=False, enable_model_summary=False)
    if trainers > 1:  # DGL's launcher starts the trainers with torch.distributed.run: Lightning's DDP ranks
        config["trainer"].update(accelerator="cpu", devices=trainers, strategy="ddp")
    path = workdir / "distributed.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# the second "machine": its own /dev/shm (DGL's shared memory), as on another host
ISOLATED = [
    "unshare",
    "--user",
    "--map-root-user",
    "--mount",
    "sh",
    "-c",
    'mount -t tmpfs shm /dev/shm && exec "$0" "$@"',
]


def _can_isolate() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*ISOLATED, "true"], capture_output=True)
    return probe.returncode == 0


def _ip_config(workdir: Path, parts: int) -> Path:
    """One line per partition's machine: 127.0.0.1, 127.0.0.2, ... (all loopback here)."""
    path = workdir / "ip_config.txt"
    path.write_text("".join(f"127.0.0.{i + 1} {port}\n" for i, port in enumerate(_free_ports(parts))))
    return path


def _trainer_command(script: str, config: Path, trainers: int) -> list[str]:
    if trainers == 1:
        return [sys.executable, script, "trainer", str(config), "distributed.json"]
    rendezvous = ["--master_addr", "127.0.0.1", "--master_port", str(_free_ports(1)[0])]
    launch = ["-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(trainers), *rendezvous]
    return [sys.executable, *launch, script, "trainer", str(config), "distributed.json"]


def _run_distributed(
    workdir: Path, config: Path, part_config: Path, ip_config: Path, parts: int, trainers: int = 1
) -> dict:
    """The test metrics of a run whose servers and trainers all end well."""
    trainer = _launch(workdir, config, part_config, ip_config, parts, trainers)
    assert trainer.returncode == 0, trainer.stderr[-3000:]
    return read_json(workdir / "distributed.json")


def _launch(
    workdir: Path, config: Path, part_config: Path, ip_config: Path, parts: int, trainers: int = 1
) -> subprocess.CompletedProcess:
    """Servers (serving ``part_config``) and trainers started as DGL's launcher starts them (its ``DGL_*``
    variables); the servers must end well when the trainers do."""
    base = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DGL_DIST_MODE": "distributed",
        "DGL_NUM_SERVER": "1",
        "DGL_GRAPH_FORMAT": "csc,coo",
        "OMP_NUM_THREADS": "1",
    }
    script = str(ROOT / "tests" / "dist_graph_roles.py")
    servers = [
        subprocess.Popen(
            [*(ISOLATED if i else []), sys.executable, script, "server"],
            env={
                **base,
                "DGL_ROLE": "server",
                "DGL_SERVER_ID": str(i),
                "DGL_NUM_CLIENT": str(trainers),
                "DGL_CONF_PATH": str(part_config),
                "DGL_IP_CONFIG": str(ip_config),
            },
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(parts)
    ]
    try:
        trainer = subprocess.run(
            _trainer_command(script, config, trainers),
            env={**base, "DGL_ROLE": "client", "DGL_NUM_SAMPLER": "0"},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if trainer.returncode == 0:
            for server in servers:
                assert server.wait(timeout=60) == 0
    finally:
        for server in servers:
            server.kill()
    return trainer


def _single_machine_metrics() -> dict:
    """The same experiment on one machine (its own run folder root): sampled batches of the whole graph."""
    single = [*TINY, *SAME_LEARNING, "--checkpoint.root", "single_runs"]
    run_train("fit", "--config", DEMO, *single)
    run_train("test", "--config", DEMO, *single, "--ckpt_path", "best", "--out", "single.json")
    return read_json("single.json")


def _assert_same_test_metrics(distributed: dict, single: dict, tolerance: float) -> None:
    assert {k for k in single if k.startswith("test/")} == {k for k in distributed if k.startswith("test/")}
    for key, value in single.items():
        if key.startswith("test/"):
            assert distributed[key] == pytest.approx(value, abs=tolerance), key


def test_a_partition_on_a_dgl_server_trains_like_one_machine(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "1", "--out", "parts")
    part_config = workdir / "parts" / "synthetic.json"
    ip_config = _ip_config(workdir, 1)
    config = _distributed_config(workdir, part_config, ip_config)
    distributed = _run_distributed(workdir, config, part_config, ip_config, parts=1)
    # the recipe's run folder names the fold the partitions were written for, as the single-machine run's does
    assert list(Path("runs").glob("geni/synthetic/fold0/*/best.json")), sorted(map(str, Path("runs").rglob("*")))
    _assert_same_test_metrics(distributed, _single_machine_metrics(), tolerance=1e-4)


@pytest.mark.skipif(not _can_isolate(), reason="needs unshare (user and mount namespaces) for a second host's /dev/shm")
def test_two_partitions_on_two_servers_train_with_two_trainers_like_one_machine(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "2", "--method", "random", "--out", "parts")
    part_config = workdir / "parts" / "synthetic.json"
    ip_config = _ip_config(workdir, 2)
    config = _distributed_config(workdir, part_config, ip_config, trainers=2)
    trainers = _launch(workdir, config, part_config, ip_config, parts=2, trainers=2)
    assert trainers.returncode == 0, trainers.stderr[-3000:]
    assert "distributed_backend=gloo" in trainers.stderr and "Starting with 2 processes" in trainers.stderr
    distributed = read_json(workdir / "distributed.json")
    # two DDP ranks average the gradients of equal halves of the one training batch: the same step as one
    # machine's, up to float summation order (and a repeated seed when the training nodes are odd in number)
    _assert_same_test_metrics(distributed, _single_machine_metrics(), tolerance=1e-3)


def test_partitions_without_servers_say_how_to_start_them(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "2", "--method", "random", "--out", "parts")
    dm = DistributedKnowledgeGraphDataModule(partitions="parts/synthetic.json", fanouts=[-1, -1])
    with pytest.raises(ConfigError, match="2 partitions need DGL's servers: start servers and trainers with DGL's"):
        dm.setup()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--parts", "0", "--out", "parts"], "--parts must be at least 1, got 0"),
        (["--parts", "2", "--out", "taken"], "taken"),
        (["--parts", "301", "--out", "parts"], "--parts 301: more partitions than the graph's 300 nodes"),
        (["--parts", "2", "--out", "full"], "--out full: already holds files; give a new or empty folder"),
    ],
)
def test_bad_partition_arguments_are_one_line(workdir: Path, argv: list[str], message: str) -> None:
    Path("taken").write_text("a file where the partitions' folder goes")
    Path("full").mkdir()
    Path("full/synthetic.json").write_text("{}")  # partitions a run may be using
    with pytest.raises(SystemExit) as stopped:
        run_train("partition", "--config", DEMO, *TINY, *argv)
    assert message in str(stopped.value) and "\n" not in str(stopped.value)
    assert not Path("parts").exists() and not list(Path().glob(".parts.partial-*"))  # a refused run writes nothing
    assert Path("full/synthetic.json").read_text() == "{}"


def test_an_incomplete_partition_folder_is_one_line_before_dgl_reads_it(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "1", "--out", "parts")
    Path("parts/part0/node_feat.dgl").unlink()  # a copy to a machine that stopped short
    config = _distributed_config(workdir, workdir / "parts" / "synthetic.json", _ip_config(workdir, 1))
    with pytest.raises(SystemExit) as stopped:
        run_train("fit", "--config", str(config))
    message = str(stopped.value)
    assert "parts/part0/node_feat.dgl is missing (1 of the files the config names)" in message, message
    assert "\n" not in message and not Path("runs").exists()


def test_a_folder_mixing_two_graphs_partitions_is_one_line(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "1", "--out", "parts")
    smaller = [*TINY[:1], "200", *TINY[2:]]
    run_train("partition", "--config", DEMO, *smaller, "--parts", "1", "--out", "other")
    shutil.copy("other/graph_spec.json", "parts/graph_spec.json")
    with pytest.raises(ConfigError, match="a graph of 300 nodes but parts/graph_spec.json describes one of 200"):
        DistributedKnowledgeGraphDataModule(partitions="parts/synthetic.json", fanouts=[5])


def test_the_partitions_fold_names_the_run(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--data.init_args.fold", "2", "--parts", "1", "--out", "parts")
    dm = DistributedKnowledgeGraphDataModule(partitions="parts/synthetic.json", fanouts=[5])
    assert (dm.hparams["fold"], dm.hparams["pretraining"], dm.hparams["dataset"]) == (2, None, "synthetic")


def test_servers_of_another_graph_are_one_line(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "1", "--out", "parts")
    smaller = [*TINY[:1], "200", *TINY[2:]]
    run_train("partition", "--config", DEMO, *smaller, "--parts", "1", "--out", "other")
    ip_config = _ip_config(workdir, 1)
    config = _distributed_config(workdir, workdir / "other" / "synthetic.json", ip_config)
    trainer = _launch(workdir, config, workdir / "parts" / "synthetic.json", ip_config, parts=1)
    errors = [line for line in trainer.stderr.splitlines() if "error" in line.lower()]
    assert trainer.returncode != 0 and len(errors) == 1, trainer.stderr[-2000:]
    assert "the servers serve a graph of 300 nodes" in errors[0] and "other/synthetic.json's 200" in errors[0]


def test_servers_that_do_not_answer_are_one_line(workdir: Path) -> None:
    run_train("partition", "--config", DEMO, *TINY, "--parts", "1", "--out", "parts")
    ip_config = _ip_config(workdir, 1)  # a free port: no server there
    config = _distributed_config(workdir, workdir / "parts" / "synthetic.json", ip_config)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DGL_DIST_MODE": "distributed", "DGL_ROLE": "client"}
    argv = ["fit", "--config", str(config), "--data.init_args.connect_timeout", "1"]
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), *argv], env=env, capture_output=True, text=True)
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert done.returncode != 0 and len(errors) == 1, done.stderr[-2000:]
    port = ip_config.read_text().split()[1]
    assert f"no answer from DGL's servers (127.0.0.1:{port}) within 1 s" in errors[0], errors


@pytest.mark.parametrize(
    "lines,message",
    [
        ("127.0.0.1 5000\n127.0.0.1 5001\n", "127.0.0.1 is named 2 times; DGL 2.1 serves one partition per host"),
        ("127.0.0.1 5000\n", "1 machine(s) for 2 partition(s)"),
        ("127.0.0.1\n127.0.0.2 x\n", "line 1 is not 'ip port'"),
    ],
)
def test_a_machine_list_that_cannot_serve_the_partitions_is_one_line(workdir: Path, lines: str, message: str) -> None:
    from datamodules.kg.distributed import read_ip_config

    Path("ip_config.txt").write_text(lines)
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_ip_config("ip_config.txt", 2)


def test_a_missing_partition_config_is_one_line(workdir: Path) -> None:
    with pytest.raises(ConfigError, match="data.partitions nowhere.json: not a readable partition config"):
        DistributedKnowledgeGraphDataModule(partitions="nowhere.json", fanouts=[5])


@pytest.mark.parametrize("batch_size,fanouts", [(0, [5]), (8, [])])
def test_a_batch_without_seeds_or_layers_is_one_line(batch_size: int, fanouts: list[int]) -> None:
    with pytest.raises(ConfigError, match="data.batch_size must be positive and data.fanouts non-empty"):
        DistributedKnowledgeGraphDataModule(partitions="parts/graph.json", fanouts=fanouts, batch_size=batch_size)


def test_training_shares_are_equal_and_cover_every_seed() -> None:
    from datamodules.kg.distributed import share

    seeds = torch.arange(10, 15)
    shares = [share(seeds, rank, 3, equal=True) for rank in range(3)]
    assert [len(s) for s in shares] == [2, 2, 2] and set(torch.cat(shares).tolist()) == set(seeds.tolist())
    uneven = [share(seeds, rank, 3, equal=False) for rank in range(3)]
    assert sorted(torch.cat(uneven).tolist()) == seeds.tolist()  # evaluation: every seed once
