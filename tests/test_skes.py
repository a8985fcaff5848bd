"""SKES: the optimal-transport distance, attention over views, ablation switches, full-batch only."""

from __future__ import annotations

import pytest
import torch

from datamodules import SyntheticKnowledgeGraphDataModule
from nie.importance import SKES
from nie.importance.models.skes import frequent_relation_pairs, sliced_wasserstein
from tests.conftest import DEMO, TINY, read_json, run_train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKnowledgeGraphDataModule:
    dm = SyntheticKnowledgeGraphDataModule(
        num_nodes=200, num_relations=4, features=["degree"], cache_dir=str(tmp_path_factory.mktemp("skes"))
    )
    dm.setup()
    return dm


def test_sliced_wasserstein_is_zero_for_the_same_distribution_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    reference = torch.randn(8, 4)
    directions = torch.nn.functional.normalize(torch.randn(4, 16), dim=0)
    shuffled = reference[torch.randperm(8)].unsqueeze(0)  # the same points in another order
    assert sliced_wasserstein(shuffled, reference, directions).item() == pytest.approx(0.0, abs=1e-6)
    moved = (reference + 0.5).unsqueeze(0)
    assert sliced_wasserstein(moved, reference, directions).item() > 0.1


def test_attention_weights_over_views_sum_to_one(tiny) -> None:
    net = SKES(tiny.spec, paths=2).eval()
    net(tiny._batches["predict"])
    weights = net.last_attention
    assert weights.shape == (tiny.spec.num_nodes, 4)  # centrality, similarity, 2 relation paths
    torch.testing.assert_close(weights.sum(1), torch.ones(tiny.spec.num_nodes))


def test_relation_pairs_are_the_most_frequent_two_hop_paths(tiny) -> None:
    graph = tiny.full_graph.without_added_loops()
    (first, second), *_ = frequent_relation_pairs(graph, 3)
    into = ((graph.rel == first).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.dst, graph.num_dst)).sum(0)
    out_of = ((graph.rel == second).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.src, graph.num_src)).sum(0)
    best = (into * out_of).sum()
    for r1 in range(4):
        for r2 in range(4):
            i = ((graph.rel == r1).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.dst, graph.num_dst)).sum(0)
            o = ((graph.rel == r2).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.src, graph.num_src)).sum(0)
            assert (i * o).sum() <= best


@pytest.mark.parametrize("ablation", [{}, {"distance": "none"}, {"fusion": "mean"}, {"views": ["similarity"]}])
def test_every_ablation_trains(tiny, ablation) -> None:
    torch.manual_seed(0)
    net = SKES(tiny.spec, paths=2, **ablation)
    batch = tiny._batches["train"]
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(net(batch)[batch.target_index], batch.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_skes_runs_through_the_cli_and_refuses_sampling(workdir, monkeypatch) -> None:
    (workdir / "skes.yaml").write_text(
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.SKES\n      init_args: {paths: 2}\n"
        "trainer:\n  max_epochs: 2\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, paths]}\n"
    )
    args = ["--config", DEMO, "--config", str(workdir / "skes.yaml"), *TINY]
    run_train("fit", *args)
    assert read_json(next(workdir.glob("runs/skes/**/val_metrics.json")))["val/spearman"] > 0
    (workdir / "sampled").mkdir()
    monkeypatch.chdir(workdir / "sampled")  # not the fitted run's folder, whose settings differ
    with pytest.raises(SystemExit, match="SKES needs the whole graph in every step: leave data.batch_size unset"):
        run_train("fit", *args, "--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]")
