"""The graph datamodule's batches: neighbour-sampled mini-batches (with full fan-out they predict exactly
what full-batch does) and the typed settings it reads its arguments through."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Optional, get_type_hints

import pytest
import torch
from torch import Tensor

from datamodules import SyntheticKnowledgeGraphDataModule
from datamodules.kg.datamodule import SampledBatches
from nie.core.baseline import Baseline
from nie.core.errors import ConfigError
from nie.importance import layerwise
from nie.importance.agreement import ARGUMENTS, EXCLUDED, exported_networks
from nie.importance.contracts import LayerByLayer, full_batch_only
from nie.importance.layerwise import network_outputs
from nie.importance.spec import GraphBatch
from nie.importance.task import split_outputs
from tests.conftest import DEMO, TINY, refused_line, run_train, synthetic_module


def _datamodule(tmp_path: Path, **kwargs) -> SyntheticKnowledgeGraphDataModule:
    return synthetic_module(tmp_path, **kwargs)


# every exported network that trains on mini-batches: not one that needs the full graph (full_batch_only),
# nor a baseline (a statistic of the whole graph, fit once)
SAMPLED = sorted(
    name
    for name, cls in exported_networks().items()
    if name not in EXCLUDED and not issubclass(cls, Baseline) and not full_batch_only(cls)
)


def _network(name: str, dm: SyntheticKnowledgeGraphDataModule) -> torch.nn.Module:
    torch.manual_seed(0)
    return exported_networks()[name](dm.spec, **{**ARGUMENTS.get(name, {}), "num_layers": 2}).eval()


@pytest.mark.parametrize("name", SAMPLED)
def test_full_fanout_sampling_equals_full_batch(tmp_path: Path, name: str) -> None:
    """Training blocks with every neighbour predict what the full graph does (the blocks' forward is right)."""
    full = _datamodule(tmp_path)
    sampled = _datamodule(tmp_path, batch_size=37, fanouts=[-1, -1])
    net = _network(name, full)
    stage = sampled._batches["test"]
    seen = []
    with torch.no_grad():
        reference = split_outputs(net(full._batches["predict"]))[0]
        for batch in SampledBatches(stage, sampled.full_graph, sampled.labels, [-1, -1], 37, False, False, False):
            got = split_outputs(net(batch))[0]
            torch.testing.assert_close(got, reference[batch.output_nodes], rtol=1e-4, atol=1e-4)
            seen.append(batch.output_nodes)
    assert sorted(torch.cat(seen).tolist()) == sorted(full.split.test.tolist())  # every test node, once


def _evaluated_module(tmp_path: Path) -> SyntheticKnowledgeGraphDataModule:
    """A sampled run's datamodule whose two inputs differ in width (a network splitting them is tested)."""
    dm = SyntheticKnowledgeGraphDataModule(
        num_nodes=300,
        num_relations=4,
        features=["degree"],
        semantic_features=["degree", "structural"],
        structural_method="spectral",
        structural_dim=5,
        cache_dir=str(tmp_path),
        batch_size=37,
        fanouts=[3, 3],
        eval_batch_size=7,
    )
    dm.setup()
    return dm


@pytest.mark.parametrize("name", SAMPLED)
def test_every_sampled_network_evaluates_layer_by_layer_as_its_forward_pass(tmp_path: Path, name: str) -> None:
    """A sampled run's evaluation batch is the full graph; the network's layers computed 7 nodes at a time
    give its forward pass's prediction (no network of the package falls back to the whole graph at once)."""
    dm = _evaluated_module(tmp_path)
    (batch,) = list(dm.test_dataloader())
    assert batch.graphs == [dm.full_graph] and torch.equal(
        batch.output_nodes[batch.target_index], torch.from_numpy(dm.split.test)
    )
    assert dm.spec.in_dim != dm.spec.semantic_dim
    net = _network(name, dm)
    assert isinstance(net, LayerByLayer)
    with torch.no_grad():
        reference = split_outputs(net(batch))[0]
        by_layers = network_outputs(net, batch, step=7)
    torch.testing.assert_close(by_layers, reference, rtol=1e-4, atol=1e-4)


def test_layer_by_layer_refuses_a_network_in_training_mode(tmp_path: Path) -> None:
    """Per-step batch statistics and dropout would not be the graph's: evaluation only."""
    dm = _evaluated_module(tmp_path)
    (batch,) = list(dm.test_dataloader())
    with pytest.raises(RuntimeError, match="eval mode"):
        network_outputs(_network("GENI", dm).train(), batch, step=7)


def test_a_network_without_layers_is_evaluated_on_the_whole_graph(tmp_path: Path) -> None:
    class Degree(torch.nn.Module):
        def forward(self, batch: GraphBatch) -> Tensor:
            return batch.in_degree.float()

    dm = _evaluated_module(tmp_path)
    (batch,) = list(dm.test_dataloader())
    torch.testing.assert_close(network_outputs(Degree(), batch, step=7), batch.in_degree.float())


def test_a_sampled_block_is_not_taken_for_the_whole_graph(tmp_path: Path) -> None:
    """A block whose sources are its destinations has the whole graph's shape; it is still a block."""
    dm = _evaluated_module(tmp_path)
    blocks = next(iter(SampledBatches(dm._batches["train"], dm.full_graph, dm.labels, [-1], 300, False, False, False)))
    assert blocks.graphs[0].is_block and not dm.full_graph.is_block


def test_the_task_evaluates_a_sampled_run_layer_by_layer(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the command line: a sampled fit's validation and test go through ``layer_by_layer`` with
    data.eval_batch_size nodes per step; a full-batch fit never does."""
    steps: list[int] = []
    original = layerwise.layer_by_layer

    def recorded(network: torch.nn.Module, batch: GraphBatch, step: int, device: torch.device) -> Tensor:
        steps.append(step)
        return original(network, batch, step, device)  # type: ignore[arg-type]

    monkeypatch.setattr(layerwise, "layer_by_layer", recorded)
    sampled = ["--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]"]
    run_train(
        "fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", *sampled, "--data.init_args.eval_batch_size", "50"
    )
    assert steps and set(steps) == {50}
    steps.clear()
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--checkpoint.root", "runs_full")
    assert steps == []


@pytest.mark.parametrize(
    "arguments", [{"eval_batch_size": 0, "batch_size": 8, "fanouts": [3, 3]}, {"eval_batch_size": 8}]
)
def test_bad_evaluation_batch_size_is_one_line(tmp_path: Path, arguments: dict) -> None:
    with pytest.raises(ConfigError, match="data.eval_batch_size"):
        _datamodule(tmp_path, **arguments)


def test_training_batches_hold_only_training_seeds(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, batch_size=50, fanouts=[3, 3])
    train = set(dm.split.train.tolist())
    batches = list(dm.train_dataloader())
    assert all(len(b.output_nodes) == 50 for b in batches)  # drop_last keeps every batch full
    assert all(set(b.output_nodes.tolist()) <= train for b in batches)
    assert any(
        not set(b.graphs[0].dgl().srcdata["_ID"].tolist()) <= train for b in batches
    )  # other nodes as neighbours


def test_batch_smaller_than_ranking_list_is_rejected(workdir: Path) -> None:
    with pytest.raises(SystemExit, match="data.batch_size=20 is smaller than model.ltr_list_size=100"):
        run_train(
            "fit",
            "--config",
            DEMO,
            *TINY,
            "--trainer.max_epochs",
            "1",
            "--data.init_args.batch_size",
            "20",
            "--data.init_args.fanouts",
            "[5, 5]",
            "--model.init_args.ltr_weight",
            "0.3",
        )


def test_sampled_fit_runs_through_the_cli(workdir: Path) -> None:
    run_train(
        "fit",
        "--config",
        DEMO,
        *TINY,
        "--trainer.max_epochs",
        "2",
        "--data.init_args.batch_size",
        "64",
        "--data.init_args.fanouts",
        "[5, 5]",
    )
    assert any(Path("runs/geni/synthetic/fold0/lr0.005-heads4").glob("epoch=*.ckpt"))


@pytest.mark.parametrize("baseline", ["PageRank", "PersonalizedPageRank", "InDegree"])
def test_graph_baseline_with_batch_size_is_refused_before_the_run_folder(workdir: Path, baseline: str) -> None:
    line = refused_line(
        "fit",
        "--config",
        DEMO,
        *TINY,
        "--model.init_args.network",
        f"nie.importance.{baseline}",
        "--data.init_args.batch_size",
        "64",
        "--data.init_args.fanouts",
        "[5, 5]",
        "--checkpoint.hparams",
        "[lr]",
    )
    assert f"{baseline} needs the whole graph in every step: leave data.batch_size unset" in line
    assert not Path("runs").exists()


def test_batch_size_without_fanouts_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs data.fanouts"):
        _datamodule(tmp_path, batch_size=10)


def test_gpu_without_cuda_dgl_sampling_refuses_full_batch_uses_torch_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    import dgl

    from datamodules.kg.datamodule import require_sampling_support
    from nie.importance.kernels import resolve_backend

    def no_cuda(self, device, **kwargs):
        raise dgl.DGLError("Device API cuda is not enabled")

    monkeypatch.setattr(dgl.DGLGraph, "to", no_cuda)
    cuda = torch.device("cuda", 0)
    with pytest.raises(ConfigError, match="needs a DGL build with support for it: .*pip install dgl==2.1.0 -f"):
        require_sampling_support(cuda)
    require_sampling_support(torch.device("cpu"))  # DGL's CPU build samples on CPU
    assert resolve_backend("auto", cuda) == "torch"
    assert resolve_backend("auto", torch.device("cpu")) == "torch"  # full graphs: the faster kernels
    assert resolve_backend("auto", torch.device("cpu"), sampled=True) == "dgl"  # DGL's blocks
    with pytest.raises(
        ConfigError, match=r"data.backend: dgl on cuda:0.*no support for that device.*data.backend: torch"
    ):
        resolve_backend("dgl", cuda)


def test_typed_settings_follow_hparams(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, fold=2)
    dm.hparams.fold = 3  # read afresh: the settings follow hparams
    assert dm.settings.fold == 3 and dm.settings.dataset == "synthetic" and dm.settings.root == str(dm.folder)


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--eval-batch-size", "0", "expected a number >= 1"),
        ("--eval-batch-size", "-5", "expected a number >= 1"),
        ("--epoch-batches", "-1", "expected a number >= 0 (0: every batch)"),
        ("--fanouts", "0", "expected each -1 (every neighbour) or >= 1"),
    ],
)
def test_scale_bench_refuses_a_bad_count_in_one_line(tmp_path: Path, option: str, value: str, expected: str) -> None:
    """bench/scale.py refuses before generating anything (run as a script: tests never import the benches)."""
    script = Path(__file__).resolve().parents[1] / "bench" / "scale.py"
    done = subprocess.run(
        [sys.executable, str(script), "--sizes", "50", "--work", str(tmp_path), option, value],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and not list(tmp_path.iterdir())
    assert done.stderr.strip() == f"error: {option} {value}: {expected}"


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--sizes", "5", "0"], "--sizes 0: expected a number >= 1"),
        (["--out", "{blocker}/x.json"], "--out {blocker}/x.json: {blocker} is a file, not a folder"),
        (["--out", "{tmp}"], "--out {tmp}: is a folder; give a file path"),
        (["--graph", "{tmp}/absent"], "{tmp}/absent: data folder not found (see docs/data.md)"),
    ],
)
def test_eval_batch_bench_refuses_in_one_line(tiny_graph_dir: Path, arguments: list[str], expected: str) -> None:
    """bench/eval_batch.py refuses a size, an unwritable --out or a missing graph in one line, writing nothing."""
    tmp = tiny_graph_dir.parent
    (tmp / "blocker").write_text("")
    before = sorted(tmp.rglob("*"))
    names = {"blocker": str(tmp / "blocker"), "tmp": str(tmp)}
    graph, rest = (arguments[1], []) if arguments[0] == "--graph" else (str(tiny_graph_dir), arguments)
    script = Path(__file__).resolve().parents[1] / "bench" / "eval_batch.py"
    command = [sys.executable, str(script), graph.format(**names), "--sizes", "5", "--stand-in-features"]
    done = subprocess.run(command + [a.format(**names) for a in rest], capture_output=True, text=True)
    assert done.returncode != 0 and sorted(tmp.rglob("*")) == before
    assert done.stderr.strip() == f"error: {expected.format(**names)}"


def test_every_graph_batch_field_but_graphs_is_a_tensor() -> None:
    """``GraphBatch.to`` moves every other field by name, which mypy cannot check: a non-tensor field would
    fail only when a batch is moved to a device."""
    hints = get_type_hints(GraphBatch)
    for field in fields(GraphBatch):
        assert field.name == "graphs" or hints[field.name] in (Tensor, Optional[Tensor]), field.name
