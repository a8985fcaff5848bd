"""EASING: heteroscedastic loss, pseudo-labels without gradient or held-out labels, two distinct
members that both learn, the chunked split, and the CLI (full-batch only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules import SyntheticKnowledgeGraphDataModule
from datamodules.kg.splits import chunked_split, literature_fold
from nie.core.errors import DataError
from nie.importance import EASING
from nie.importance.models.easing import heteroscedastic_loss, neighbourhood_entropy
from tests.conftest import DEMO, TINY, read_json, run_train, synthetic_module


def tiny_module(tmp_path, **data) -> SyntheticKnowledgeGraphDataModule:
    return synthetic_module(tmp_path, num_nodes=200, **data)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKnowledgeGraphDataModule:
    return tiny_module(tmp_path_factory.mktemp("easing"))


def test_heteroscedastic_loss_equals_a_hand_computation() -> None:
    mean, target, log_variance = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0]), torch.tensor([0.0, 1.0])
    by_hand = (0.5 * (1 * 1 + 0) + 0.5 * (np.exp(-1) * 4 + 1)) / 2
    assert heteroscedastic_loss(mean, target, log_variance).item() == pytest.approx(by_hand, rel=1e-6)


def test_neighbourhood_entropy_is_zero_for_identical_neighbours_and_grows_with_disagreement(tiny) -> None:
    graph = tiny.full_graph
    same = neighbourhood_entropy(graph, torch.ones(graph.num_dst, 3))
    torch.testing.assert_close(same, torch.full_like(same, float(np.log(1 + 1e-4))))
    varied = neighbourhood_entropy(graph, torch.randn(graph.num_dst, 3, generator=torch.Generator().manual_seed(0)))
    data = graph.without_added_loops()
    has_neighbour = torch.zeros(graph.num_dst, dtype=torch.bool)
    has_neighbour[data.dst[data.src != data.dst]] = True
    assert has_neighbour.any() and (varied[has_neighbour] > same[has_neighbour]).all()
    torch.testing.assert_close(varied[~has_neighbour], same[~has_neighbour])


@pytest.mark.parametrize("split", ["folds", "chunks"])
def test_unlabeled_nodes_exclude_every_labeled_split(tmp_path, split) -> None:
    dm = tiny_module(tmp_path, split=split, num_chunks=20, chunk_fractions=(0.2, 0.1, 0.1))
    s, labeled = dm.split, dm.graph.labeled
    unlabeled = set(dm._batches["train"].unlabeled_index.tolist())
    held_out = set(s.val.tolist()) | set(s.test.tolist())
    assert unlabeled and not unlabeled & held_out and not unlabeled & set(s.train.tolist())
    assert unlabeled | held_out | set(s.train.tolist()) == set(range(dm.graph.num_nodes))
    assert set(np.flatnonzero(~labeled).tolist()) <= unlabeled
    if split == "chunks":  # labeled nodes outside the three chunk sets are unlabeled for this repeat
        assert len(unlabeled) > (~labeled).sum()


def test_pseudo_labels_carry_no_gradient_and_read_only_the_unlabeled_nodes(tiny) -> None:
    torch.manual_seed(0)
    net = EASING(tiny.spec, pseudo_passes=2).train()
    batch = tiny._batches["train"]
    mean, log_variance = net.pseudo_labels(batch, batch.unlabeled_index)
    assert not mean.requires_grad and not log_variance.requires_grad
    assert mean.shape == log_variance.shape == batch.unlabeled_index.shape
    terms = net.training_loss(batch)
    assert set(terms) == {"loss", "supervised", "agreement", "unlabeled"}
    assert batch.labels.shape == batch.target_index.shape == (len(tiny.split.train),)


def test_the_two_members_have_distinct_parameters(tiny) -> None:
    torch.manual_seed(0)
    first, second = EASING(tiny.spec).members
    assert not {p.data_ptr() for p in first.parameters()} & {p.data_ptr() for p in second.parameters()}
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        if a.dim() >= 2:  # every randomly initialised weight matrix differs
            assert not torch.equal(a, b), name


def member_errors(net: EASING, batch) -> list[float]:
    target = (batch.labels - net.label_mean) / net.label_std
    with torch.no_grad():
        return [float(((mean[batch.target_index] - target) ** 2).mean()) for mean, _ in net.member_outputs(batch)]


def test_a_short_fit_lowers_the_loss_of_both_members(tiny) -> None:
    torch.manual_seed(0)
    net = EASING(tiny.spec, pseudo_passes=2, feat_drop=0.0, attn_drop=0.0)
    batch = tiny._batches["train"]
    optimizer = torch.optim.Adam(net.parameters(), lr=0.005)
    before = member_errors(net.eval(), batch)
    net.train()
    for _ in range(40):
        loss = net.training_loss(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = member_errors(net.eval(), batch)
    assert after[0] < 0.7 * before[0] and after[1] < 0.7 * before[1]


def test_chunked_split_sizes_disjointness_and_repeats() -> None:
    labeled = np.random.default_rng(0).random(5000) > 0.1
    n = labeled.sum()
    a = chunked_split(labeled, 0)
    for part in (a.train, a.val, a.test):
        assert abs(len(part) - 0.1 * n) <= n / 1000 * 2  # 100 chunks of ~n/1000 nodes
        assert labeled[part].all()
    parts = np.concatenate([a.train, a.val, a.test, a.unlabeled])
    assert len(np.unique(parts)) == len(parts) == 5000
    b, again = chunked_split(labeled, 1), chunked_split(labeled, 0)
    np.testing.assert_array_equal(a.test, again.test)
    assert not np.array_equal(a.test, b.test)
    folds = literature_fold(labeled, 0)
    assert len(folds.unlabeled) == (~labeled).sum()
    with pytest.raises(DataError, match=r"chunk_fractions=\[0.5, 0.5, 0.5\]"):
        chunked_split(labeled, 0, (0.5, 0.5, 0.5))
    with pytest.raises(DataError, match="num_chunks=9000"):
        chunked_split(labeled, 0, num_chunks=9000)


def test_easing_runs_through_the_cli_and_refuses_sampling(workdir, monkeypatch) -> None:
    """A CLI fit trains on EASING's own loss (its terms reach TensorBoard) and ranks the validation nodes;
    neighbour sampling is refused before any training."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (workdir / "easing.yaml").write_text(
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.EASING\n"
        "      init_args: {hidden: 4, heads: 2, decoder_heads: 2, pseudo_passes: 1}\n"
        "data:\n  init_args:\n    semantic_features: [degree]\n"
        "trainer:\n  max_epochs: 2\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, pseudo_passes]}\n"
    )
    args = ["--config", DEMO, "--config", str(workdir / "easing.yaml"), *TINY]
    run_train("fit", *args)
    metrics = read_json(next(workdir.glob("runs/easing/**/val_metrics.json")))
    assert metrics["val/spearman"] > 0.3  # the planted importance is learned (~0.8 after these 2 epochs)
    (version,) = workdir.glob("runs/tensorboard/version_*")
    tags = set().union(*(EventAccumulator(str(f)).Reload().Tags()["scalars"] for f in version.glob("events.*")))
    assert {"train/loss", "train/supervised", "train/agreement", "train/unlabeled"} <= tags
    (workdir / "sampled").mkdir()
    monkeypatch.chdir(workdir / "sampled")  # not the fitted run's folder, whose settings differ
    with pytest.raises(SystemExit, match="EASING needs the whole graph in every step: leave data.batch_size unset"):
        run_train("fit", *args, "--data.init_args.batch_size", "64", "--data.init_args.fanouts", "[5, 5]")
