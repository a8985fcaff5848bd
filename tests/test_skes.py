"""SKES: the optimal-transport distance, attention over views, ablation switches, full-batch only."""

from __future__ import annotations

import math

import pytest
import torch

from datamodules import SyntheticKnowledgeGraphDataModule
from nie.core.errors import ConfigError
from nie.importance import SKES
from nie.importance.models.skes import frequent_relation_paths
from nie.importance.models.transport import sinkhorn, sliced_wasserstein
from nie.importance.spec import GraphSpec
from tests.conftest import DEMO, TINY, read_json, run_train

GRAPH_SPEC = GraphSpec(20, 3, in_dim=4, semantic_dim=0, label_mean=1.0, centrality_mean=1.0)


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


def test_sliced_wasserstein_of_a_translation_has_its_closed_form() -> None:
    """Moving every point by t moves each 1-d projection by θ·t: SW2² = mean over θ of (θ·t)²."""
    torch.manual_seed(1)
    reference = torch.randn(6, 3)
    directions = torch.nn.functional.normalize(torch.randn(3, 10), dim=0)
    shift = torch.tensor([0.3, -0.2, 0.5])
    expected = torch.sqrt(((shift @ directions) ** 2).mean())
    distance = sliced_wasserstein((reference + shift).unsqueeze(0), reference, directions)
    assert distance.item() == pytest.approx(expected.item(), abs=1e-5)


def test_sinkhorn_matches_exact_transport_on_small_cases() -> None:
    # one point each: the only plan moves all mass, for any regulariser
    x, y = torch.tensor([[[1.0, 2.0]]]), torch.tensor([[4.0, 6.0]])
    for epsilon in (0.01, 1.0, 10.0):
        assert sinkhorn(x, y, epsilon, 20).item() == pytest.approx(5.0, abs=1e-5)
    # two points each: the exact plan pairs 0 with 0.1 and 1 with 1.1 (W2 = 0.1); a small regulariser gets there
    points, reference = torch.tensor([[[0.0], [1.0]]]), torch.tensor([[1.1], [0.1]])
    assert sinkhorn(points, reference, 0.005, 200).item() == pytest.approx(0.1, abs=1e-3)
    # a large one spreads the plan towards independence: the distance grows towards √(mean cost)
    independent = torch.sqrt(torch.cdist(points[0], reference).pow(2).mean())
    assert 0.1 + 1e-3 < sinkhorn(points, reference, 100.0, 50).item() <= independent.item() + 1e-5


def test_sinkhorn_settings_are_checked() -> None:
    for bad in ({"sinkhorn_epsilon": 0.0}, {"sinkhorn_epsilon": -1.0}, {"sinkhorn_iterations": 0}):
        with pytest.raises(ConfigError, match="sinkhorn_"):
            SKES(GRAPH_SPEC, distance="sinkhorn", **bad)


def test_a_non_positive_sinkhorn_regulariser_is_one_line_through_the_cli(workdir) -> None:
    (workdir / "skes.yaml").write_text(
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.SKES\n"
        "      init_args: {paths: 2, distance: sinkhorn, sinkhorn_epsilon: 0}\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, paths]}\n"
    )
    with pytest.raises(SystemExit) as raised:
        run_train("fit", "--config", DEMO, "--config", str(workdir / "skes.yaml"), *TINY)
    message = str(raised.value)
    assert message.startswith("error: model.init_args.network.init_args.sinkhorn_epsilon must be a positive")
    assert "\n" not in message


def test_attention_weights_over_views_sum_to_one(tiny) -> None:
    net = SKES(tiny.spec, paths=2).eval()
    net(tiny._batches["predict"])
    weights = net.last_attention
    assert weights.shape == (tiny.spec.num_nodes, 6)  # centrality, similarity, 2 relation paths of lengths 1 and 2
    torch.testing.assert_close(weights.sum(1), torch.ones(tiny.spec.num_nodes))


def test_relation_pairs_are_the_most_frequent_two_hop_paths(tiny) -> None:
    graph = tiny.full_graph.without_added_loops()
    (first, second), *_ = frequent_relation_paths(graph, 3, length=2)
    into = ((graph.rel == first).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.dst, graph.num_dst)).sum(0)
    out_of = ((graph.rel == second).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.src, graph.num_src)).sum(0)
    best = (into * out_of).sum()
    for r1 in range(4):
        for r2 in range(4):
            i = ((graph.rel == r1).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.dst, graph.num_dst)).sum(0)
            o = ((graph.rel == r2).float().unsqueeze(1) * torch.nn.functional.one_hot(graph.src, graph.num_src)).sum(0)
            assert (i * o).sum() <= best


def test_relation_paths_of_three_hops_count_walks_exactly_on_a_small_graph() -> None:
    """Edges 0 -a-> 1 -b-> 2 -a-> 3 and 1 -a-> 2: one edge, a (3) before b (1); two, (a, a) twice and
    (a, b), (b, a) once; three, (a, b, a) and (a, a, a) once each; four, none."""
    from nie.importance.kernels import Graph

    graph = Graph(torch.tensor([0, 1, 2, 1]), torch.tensor([1, 2, 3, 2]), torch.tensor([0, 1, 0, 0]), 4, 4)
    assert frequent_relation_paths(graph, 2, length=1) == [(0,), (1,)]
    assert frequent_relation_paths(graph, 1, length=2) == [(0, 0)]
    assert sorted(frequent_relation_paths(graph, 4, length=3)) == [(0, 0, 0), (0, 1, 0)]  # only these have walks
    assert frequent_relation_paths(graph, 4, length=4) == []


@pytest.mark.parametrize(
    "ablation", [{}, {"distance": "none"}, {"distance": "sinkhorn"}, {"fusion": "mean"}, {"views": ["similarity"]}]
)
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


@pytest.mark.parametrize("backend", ["torch", "dgl"])
def test_one_hop_of_propagation_by_hand(backend: str) -> None:
    """Edges 0→1 (relation 0), 2→1 (relation 1), 1→2 (relation 0); gates σ(0) = ½ and σ(ln 3) = ¾."""
    from nie.importance.kernels import Graph
    from nie.importance.models.skes import gated_mean

    graph = Graph(torch.tensor([0, 2, 1]), torch.tensor([1, 1, 2]), torch.tensor([0, 1, 0]), 3, 3)
    graph = graph.with_backend(backend)
    gate = torch.sigmoid(torch.tensor([0.0, float(torch.log(torch.tensor(3.0)))]))[graph.rel]
    feat = torch.tensor([[1.0], [2.0], [4.0]])
    first = gated_mean(graph, feat, gate)
    second = gated_mean(graph, first, gate)
    # hop 1: node 1 = (½·1 + ¾·4) / (½ + ¾) = 2.8, node 2 = 2, node 0 has no in-edge: 0
    torch.testing.assert_close(first.squeeze(1), torch.tensor([0.0, 2.8, 2.0]))
    # hop 2: node 1 = (½·0 + ¾·2) / 1.25 = 1.2, node 2 = 2.8
    torch.testing.assert_close(second.squeeze(1), torch.tensor([0.0, 1.2, 2.8]))


def test_layerwise_tokens_share_one_projection_and_attention_sums_to_one(tiny) -> None:
    shared = SKES(tiny.spec, paths=2, propagation=True, layers=2).eval()
    separate = SKES(tiny.spec, paths=2, propagation=True, layers=2, shared_projection=False)
    names = ["centrality@0", "centrality@1", "centrality@2", "similarity@0", "similarity@1", "similarity@2"]
    assert shared.token_names == [*names, "path1.1", "path1.2", "path2.1", "path2.2"]
    assert shared.separate is None and len(separate.separate) == len(shared.token_names)
    projection = sum(p.numel() for p in shared.shared.parameters())
    total = sum(p.numel() for p in shared.parameters())
    assert sum(p.numel() for p in separate.parameters()) - total == projection * (len(shared.token_names) - 1)
    shared(tiny._batches["predict"])
    weights = shared.last_attention
    assert weights.shape == (tiny.spec.num_nodes, 10)
    torch.testing.assert_close(weights.sum(1), torch.ones(tiny.spec.num_nodes))
    # the relation gates learn: the loss reaches them through every propagated hop
    shared.train()
    batch = tiny._batches["train"]
    torch.nn.functional.mse_loss(shared(batch)[batch.target_index], batch.labels).backward()
    assert all(gate.grad is not None and gate.grad.abs().sum() > 0 for gate in shared.relation_gates.values())


def test_layers_below_one_and_unknown_views_are_refused() -> None:
    with pytest.raises(ConfigError, match="layers must be at least 1"):
        SKES(GRAPH_SPEC, propagation=True, layers=0)
    with pytest.raises(ConfigError, match=r"views: unknown \['degree'\]"):
        SKES(GRAPH_SPEC, views=["centrality", "degree"])
    with pytest.raises(ConfigError, match="needs semantic features"):
        SKES(GRAPH_SPEC, views=["semantic"])


def test_predict_writes_attention_columns_for_a_layerwise_skes_on_both_views(workdir) -> None:
    """Structure plus the semantic view, propagated, through fit and predict.py: one attention
    column per token, summing to 1 per node; a graph with one relation type, no self-loops and 20 nodes
    without any edge."""
    import pandas as pd

    from predict import main as predict_main

    (workdir / "skes.yaml").write_text(
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.SKES\n"
        "      init_args: {paths: 1, propagation: true, layers: 2, views: [centrality, semantic, paths]}\n"
        "data:\n  init_args: {semantic_features: [degree], num_relations: 1, self_loops: false, isolated_nodes: 20}\n"
        "trainer:\n  max_epochs: 2\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, paths]}\n"
    )
    tiny = [a for a in TINY if a not in ("--data.init_args.num_relations", "4")]
    run_train("fit", "--config", DEMO, "--config", str(workdir / "skes.yaml"), *tiny)
    metrics = read_json(next(workdir.glob("runs/skes/**/val_metrics.json")))
    assert all(math.isfinite(v) for v in metrics.values()), metrics  # no NaN without self-loops or with one relation
    from tests.test_importance_figures import image_tags

    assert {"val/importance", "val/explanation"} <= image_tags(workdir)  # mean attention per view and hop
    predict_main(["--ckpt", str(next(workdir.glob("runs/skes/**/last.ckpt"))), "--out", "p.csv"])
    table = pd.read_csv("p.csv")
    columns = [c for c in table.columns if c.startswith("attention ")]
    views = [f"attention {v}@{h}" for v in ("centrality", "semantic") for h in range(3)]
    assert columns == [*views, "attention path1.1", "attention path2.1"]
    assert table[columns].notna().all().all()
    assert (table[columns].sum(axis=1) - 1).abs().max() < 1e-5
    assert len(table) == 300 and table.select_dtypes("number").notna().all().all()  # the isolated nodes too


def test_the_pairwise_ranking_loss_pushes_a_swapped_pair_apart() -> None:
    from nie.importance.losses import pairwise_margin_loss

    target = torch.tensor([2.0, 1.0])  # node 0 is the more important one
    pred = torch.tensor([0.3, 0.5], requires_grad=True)  # predicted the other way round
    loss = pairwise_margin_loss(pred, target, margin=0.1)
    loss.backward()
    assert loss.item() == pytest.approx(0.1 + 0.2)  # margin − (0.3 − 0.5)
    assert pred.grad[0] < 0 < pred.grad[1]  # descent raises node 0 and lowers node 1
    assert pairwise_margin_loss(torch.tensor([0.9, 0.5]), target, margin=0.1).item() == 0.0  # ordered: no loss
    assert pairwise_margin_loss(pred, torch.tensor([1.0, 1.0])).item() == 0.0  # no ordered pair


def test_generated_isolated_nodes_are_checked_and_have_no_edges(tmp_path) -> None:
    with pytest.raises(ConfigError, match="isolated_nodes must be at least 0, got -1"):
        SyntheticKnowledgeGraphDataModule(num_nodes=50, isolated_nodes=-1)
    with pytest.raises(ConfigError, match="isolated_nodes=45 leaves fewer than 10 connected nodes"):
        SyntheticKnowledgeGraphDataModule(num_nodes=50, isolated_nodes=45)
    dm = SyntheticKnowledgeGraphDataModule(num_nodes=60, isolated_nodes=5, features=["degree"], cache_dir=str(tmp_path))
    graph = dm.load()
    touched = set(graph.src.tolist()) | set(graph.dst.tolist())
    assert touched.isdisjoint(range(55, 60)) and len(touched) > 40
