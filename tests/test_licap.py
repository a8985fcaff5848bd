"""LICAP: bins from training labels only, prototypes, binomial weights, stable losses, fold isolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from datamodules import SyntheticKnowledgeGraphDataModule
from nie.core.errors import ConfigError
from nie.importance.licap import LICAP
from nie.importance.licap.bins import binomial_bin_weights, top_bins
from nie.importance.licap.losses import bin_prototypes, finer_bin_loss, top_bin_loss
from tests.conftest import DEMO, TINY, read_json, run_train

FAST = dict(max_epochs=30, patience=5, hidden=4, heads=2, out_dim=8)


def test_top_bin_holds_the_highest_training_labels_and_negatives_come_from_the_rest() -> None:
    ids = torch.arange(100, 300)  # global ids of 200 training nodes
    labels = torch.linspace(0, 10, 200)[torch.randperm(200, generator=torch.Generator().manual_seed(0))]
    bins = top_bins(ids, labels, important_ratio=0.1, negative_ratio=2.0, negative_pool=1.0)
    top_labels = labels[bins.top - 100]
    assert len(bins.top) == 20 and top_labels.min() >= labels.sort(descending=True).values[19]
    assert len(bins.negatives) == 40 and not set(bins.negatives.tolist()) & set(bins.top.tolist())
    assert set(bins.negatives.tolist()) <= set(ids.tolist())


def test_finer_bins_split_the_top_bin_by_label_width_and_skip_empty_bins() -> None:
    # top 4 of 40 nodes: labels 10.0, 10.2 (bin 0), 12.5 (bin 2), 13.9 (bin 3); bin 1 is empty
    labels = torch.cat([torch.tensor([10.0, 10.2, 12.5, 13.9]), torch.linspace(0, 5, 36)])
    bins = top_bins(torch.arange(40), labels, important_ratio=0.1, bin_width=1.0)
    assert bins.num_bins == 3
    by_node = dict(zip(bins.top.tolist(), bins.bin_of_top.tolist()))
    assert by_node == {0: 0, 1: 0, 2: 1, 3: 2}
    # the distance behind the weights is in label bins (empty bin 1 still separates 0 and 2)
    w = bins.bin_weights[0]
    assert w[0] > w[1] > w[2]
    torch.testing.assert_close(bins.bin_weights.sum(1), torch.ones(3))


def test_negative_pool_takes_hard_negatives_just_below_the_border() -> None:
    labels = torch.arange(100, dtype=torch.float32)
    bins = top_bins(torch.arange(100), labels, important_ratio=0.1, negative_ratio=2.0, negative_pool=0.5)
    assert bins.negatives.min() >= 50 and bins.negatives.max() < 90


def test_binomial_weights_sum_to_one_and_fall_with_distance() -> None:
    for distances in (np.arange(6), np.array([3, 2, 1, 0, 1, 2]), np.array([0, 2, 5])):
        w = binomial_bin_weights(distances)
        assert w.sum() == pytest.approx(1.0)
        nearer = distances[:, None] < distances[None, :]
        assert np.all((w[:, None] > w[None, :])[nearer])
        assert np.all((w[:, None] == w[None, :])[distances[:, None] == distances[None, :]])


def test_prototypes_are_per_bin_means() -> None:
    emb = torch.randn(7, 5)
    bin_of = torch.tensor([0, 1, 1, 2, 0, 2, 2])
    prototypes = bin_prototypes(emb, bin_of, 3)
    for b in range(3):
        torch.testing.assert_close(prototypes[b], emb[bin_of == b].mean(0))


def _separated(top_bins_count: int = 3, per_bin: int = 5, dim: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    centres = F.normalize(torch.randn(top_bins_count + 1, dim), dim=-1) * 3
    bin_of = torch.arange(top_bins_count).repeat_interleave(per_bin)
    top = centres[bin_of] + 0.01 * torch.randn(len(bin_of), dim)
    negatives = centres[-1] + 0.01 * torch.randn(10, dim)
    return top, negatives, bin_of


def test_losses_are_finite_on_huge_inputs_and_lower_for_separated_embeddings() -> None:
    torch.manual_seed(0)
    top, negatives, bin_of = _separated()
    weights = torch.from_numpy(np.stack([binomial_bin_weights(np.abs(np.arange(3) - b)) for b in range(3)])).float()
    top_loss, finer_loss = top_bin_loss(top, negatives), finer_bin_loss(top, bin_of, weights)
    for scale in (1e-6, 1e6):  # cosine similarities: the losses do not see the scale (no overflow, no underflow)
        torch.testing.assert_close(top_bin_loss(top * scale, negatives * scale), top_loss)
        torch.testing.assert_close(finer_bin_loss(top * scale, bin_of, weights), finer_loss)
    random_top, random_negatives = torch.randn_like(top), torch.randn_like(negatives)
    assert top_bin_loss(top, negatives) < top_bin_loss(random_top, random_negatives)
    assert finer_bin_loss(top, bin_of, weights) < finer_bin_loss(random_top, bin_of, weights)


@pytest.fixture(scope="module")
def fold_module(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKnowledgeGraphDataModule:
    dm = SyntheticKnowledgeGraphDataModule(
        num_nodes=300, num_relations=4, features=["degree"], cache_dir=str(tmp_path_factory.mktemp("c"))
    )
    dm.setup()
    return dm


def test_pretraining_sees_only_the_training_fold(tmp_path, monkeypatch) -> None:
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = LICAP.pretrain

    def spy(self, graph, x, num_relations, train_ids, train_labels, seed, *run_trainer):
        seen.append((train_ids.clone(), train_labels.clone()))
        return original(self, graph, x, num_relations, train_ids, train_labels, seed, *run_trainer)

    monkeypatch.setattr(LICAP, "pretrain", spy)
    dm = SyntheticKnowledgeGraphDataModule(
        num_nodes=300, num_relations=4, features=["degree"], fold=2, cache_dir=str(tmp_path), pretraining=LICAP(**FAST)
    )
    dm.setup()
    ((ids, labels),) = seen
    assert sorted(ids.tolist()) == sorted(dm.split.train.tolist())
    assert not set(ids.tolist()) & (set(dm.split.val.tolist()) | set(dm.split.test.tolist()))
    torch.testing.assert_close(labels, dm.labels[ids])
    assert dm.spec.in_dim == FAST["out_dim"]  # mode "replace"


def test_pretrained_embeddings_are_cached_per_fold_and_deterministic(fold_module, tmp_path, monkeypatch) -> None:
    dm, licap = fold_module, LICAP(**FAST)
    calls = []
    original = LICAP.pretrain
    monkeypatch.setattr(LICAP, "pretrain", lambda self, *a: calls.append(1) or original(self, *a))
    g, x, train = dm.full_graph, dm._batches["predict"].x, torch.from_numpy(dm.split.train)
    first = licap.embeddings(g, x, dm.spec.num_relations, train, dm.labels[train], 0, tmp_path)
    cached = licap.embeddings(g, x, dm.spec.num_relations, train, dm.labels[train], 0, tmp_path)
    assert len(calls) == 1 and torch.equal(first, cached)
    torch.testing.assert_close(original(licap, g, x, dm.spec.num_relations, train, dm.labels[train], 0), first)
    other_fold = train[: len(train) // 2]
    licap.embeddings(g, x, dm.spec.num_relations, other_fold, dm.labels[other_fold], 0, tmp_path)
    assert len(calls) == 2


def test_pretraining_lowers_the_loss(fold_module) -> None:
    dm = fold_module
    train = torch.from_numpy(dm.split.train)
    licap = LICAP(**{**FAST, "max_epochs": 1})
    untrained = licap.pretrain(
        dm.full_graph, dm._batches["predict"].x, dm.spec.num_relations, train, dm.labels[train], 0
    )
    licap = LICAP(**FAST)
    trained = licap.pretrain(dm.full_graph, dm._batches["predict"].x, dm.spec.num_relations, train, dm.labels[train], 0)
    bins = top_bins(train, dm.labels[train], generator=torch.Generator().manual_seed(0))
    assert licap.loss(trained, bins) < licap.loss(untrained, bins)


def test_licap_config_switch_runs_through_the_cli(workdir) -> None:
    """``data.pretraining: LICAP`` with ``mode: concat`` reaches the network: its input is the features
    beside the ``out_dim`` pre-trained embeddings, and the run is scored and named by the stage."""
    run_train(
        "fit",
        "--config",
        DEMO,
        *TINY,
        "--trainer.max_epochs",
        "2",
        "--data.init_args.features",
        "[degree]",
        "--data.init_args.pretraining",
        "nie.importance.LICAP",
        *[a for k, v in FAST.items() for a in (f"--data.init_args.pretraining.init_args.{k}", str(v))],
        "--data.init_args.pretraining.init_args.mode",
        "concat",
    )
    metrics = read_json(next(workdir.glob("runs/**/val_metrics.json")))
    assert metrics["val/spearman"] > 0
    assert next(workdir.glob("runs/geni/licap_concat/**/best.json"))  # the stage names a directory level
    plain = SyntheticKnowledgeGraphDataModule(num_nodes=300, num_relations=4, features=["degree"])
    plain.setup()  # the same features without pre-training
    checkpoint = torch.load(next(workdir.glob("runs/geni/licap_concat/**/last.ckpt")), weights_only=False)
    in_dim = checkpoint["state_dict"]["network.score_hidden.weight"].shape[1]
    assert in_dim == plain.spec.in_dim + FAST["out_dim"]


def test_pretraining_loss_curve_reaches_the_runs_tensorboard(workdir) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_train(
        "fit",
        "--config",
        DEMO,
        *TINY,
        "--trainer.max_epochs",
        "1",
        "--data.init_args.features",
        "[degree]",
        "--data.init_args.pretraining",
        "nie.importance.LICAP",
        *[a for k, v in FAST.items() for a in (f"--data.init_args.pretraining.init_args.{k}", str(v))],
    )
    (version,) = workdir.glob("runs/tensorboard/version_*")
    curves = [EventAccumulator(str(f)).Reload() for f in version.glob("events.out.tfevents.*")]
    (loss,) = [c.Scalars("pretrain/loss") for c in curves if "pretrain/loss" in c.Tags()["scalars"]]
    assert 5 < len(loss) <= FAST["max_epochs"] and loss[-1].value < loss[0].value


@pytest.mark.parametrize(
    "bad", [dict(important_ratio=0.0), dict(important_ratio=0.6, negative_pool=0.5), dict(bin_width=0.0)]
)
def test_bad_settings_fail_at_construction(bad) -> None:
    with pytest.raises(ConfigError, match="licap"):
        LICAP(**bad)


def test_both_inputs_are_pretrained_separately_and_replaced(tmp_path, monkeypatch) -> None:
    pretrained = []
    original = LICAP.pretrain

    def spy(self, graph, x, *rest):
        pretrained.append((rest[-1], x.clone()))
        return original(self, graph, x, *rest)

    monkeypatch.setattr(LICAP, "pretrain", spy)
    licap = LICAP(**FAST, inputs=["structural", "semantic"])

    def module(**data) -> SyntheticKnowledgeGraphDataModule:
        dm = SyntheticKnowledgeGraphDataModule(  # two different inputs (equal inputs share one cache entry)
            num_nodes=300, features=["degree"], semantic_features=["degree", "degree"], cache_dir=str(tmp_path), **data
        )
        dm.setup()
        return dm

    plain, dm = module(), module(pretraining=licap)
    assert [name for name, _ in pretrained] == ["structural", "semantic"]
    torch.testing.assert_close(pretrained[0][1], plain._batches["predict"].x)
    torch.testing.assert_close(pretrained[1][1], plain._batches["predict"].x_semantic)
    assert dm.spec.in_dim == dm.spec.semantic_dim == FAST["out_dim"]
    assert not torch.equal(dm._batches["predict"].x, dm._batches["predict"].x_semantic)  # two encoders
    assert licap.run_name == "licap_structural_semantic" and LICAP(**FAST).run_name == "licap"


def test_semantic_pretraining_needs_semantic_features_and_inputs_are_named_once(tmp_path) -> None:
    with pytest.raises(ConfigError, match="semantic_features is empty"):
        SyntheticKnowledgeGraphDataModule(
            num_nodes=300, features=["degree"], cache_dir=str(tmp_path), pretraining=LICAP(**FAST, inputs=["semantic"])
        ).setup()
    with pytest.raises(ConfigError, match="once each"):
        LICAP(inputs=["semantic", "semantic"])
