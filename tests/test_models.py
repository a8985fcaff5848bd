"""GENI's mechanics, the listwise loss, and that a short fit lowers the loss for every exported network."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from datamodules import SyntheticKnowledgeGraphDataModule
from nie.core.baseline import Baseline
from nie.core.naming import network_name
from nie.importance import GENI, RGTN
from nie.importance.agreement import ARGUMENTS, EXCLUDED, build, exported_networks, networks
from nie.importance.contracts import OwnsTrainingLoss
from nie.importance.losses import listnet_loss
from nie.importance.models.attention import PredicateAttention
from nie.importance.spec import GraphSpec
from nie.importance.task import split_outputs
from tests.conftest import synthetic_module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SyntheticKnowledgeGraphDataModule:
    return synthetic_module(tmp_path_factory.mktemp("c"))


def test_geni_attention_sums_to_one_over_in_edges(tiny) -> None:
    g = tiny._batches["train"].graphs[0]
    layer = PredicateAttention(heads=3, dim=1, predicate_dim=5)
    scores = torch.randn(g.num_dst, 3)
    attention = layer.attention(g, scores.unsqueeze(-1), torch.randn(tiny.spec.num_relations, 5))
    totals = torch.zeros(g.num_dst, 3).index_add_(0, g.dst, attention)
    torch.testing.assert_close(totals, torch.ones_like(totals))


def test_predicate_embeddings_change_attention(tiny) -> None:
    g = tiny._batches["train"].graphs[0]
    layer = PredicateAttention(heads=2, dim=1, predicate_dim=4)
    scores = torch.randn(g.num_dst, 2)
    a = layer.attention(g, scores.unsqueeze(-1), torch.zeros(tiny.spec.num_relations, 4))
    b = layer.attention(g, scores.unsqueeze(-1), torch.randn(tiny.spec.num_relations, 4))
    assert not torch.allclose(a, b)


def test_centrality_adjustment_starts_as_scaling_by_log_degree(tiny) -> None:
    torch.manual_seed(0)
    batch = tiny._batches["train"]
    net = GENI(tiny.spec, num_layers=2, heads=2, feat_drop=0.0).eval()
    plain = GENI(tiny.spec, num_layers=2, heads=2, feat_drop=0.0, centrality_adjustment=False).eval()
    plain.load_state_dict(net.state_dict())
    assert torch.equal(net.gamma, torch.ones(2)) and torch.equal(net.beta, torch.zeros(2))
    with torch.no_grad():
        expected = F.leaky_relu(plain(batch) * torch.log(batch.in_degree + net.epsilon))
        # with equal heads' γ = 1 and β = 0 the mean over heads factors out
        torch.testing.assert_close(net(batch), expected, rtol=1e-4, atol=1e-4)


def test_listnet_prefers_correct_order_and_does_not_saturate() -> None:
    target = torch.linspace(5, 15, 100)  # log page views: large values
    generator = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    right = listnet_loss(target.clone(), target, generator=generator())
    wrong = listnet_loss(target.flip(0), target, generator=generator())
    assert right < wrong
    pred = (target * 10).requires_grad_()  # far larger scores still give a usable gradient
    listnet_loss(pred, target, generator=generator()).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().max() > 1e-4


def training_error(net: torch.nn.Module, batch) -> float:
    """MSE on the training nodes in evaluation mode (no dropout: the network's own error, not a noisy draw)."""
    net.eval()
    with torch.no_grad():
        main, _ = split_outputs(net(batch))
    net.train()
    return F.mse_loss(main[batch.target_index], batch.labels).item()


# The error left after 15 Adam steps, as a share of the initial error, stays below this (measured with
# seeds 0-2: GENI 0.71-0.76, it starts from centrality-scaled scores and learns slowest; EASING 0.35-0.62;
# the others 0.18-0.45); a network not listed is held to DEFAULT_AT_MOST
AT_MOST = {"GENI": 0.85, "EASING": 0.75, "GAT": 0.5, "SKES": 0.55, "RGCN": 0.4, "RGTN": 0.4}
DEFAULT_AT_MOST = 0.6
# networks with trainable parameters (the baselines are fit once, never stepped)
TRAINABLE = sorted(n for n, cls in exported_networks().items() if n not in EXCLUDED and not issubclass(cls, Baseline))


def test_every_exported_network_is_enrolled_or_excluded_with_a_reason() -> None:
    """The contract, kernel and sampling tests take their networks from ``nie.importance``'s exports: each
    builds on a spec with its ``ARGUMENTS`` or is ``EXCLUDED`` with a reason (a new network needing
    arguments fails here, by name)."""
    exported = exported_networks()
    assert {"GENI", "GAT", "RGCN", "RGTN", "PageRank"} <= set(exported)
    assert set(ARGUMENTS) | set(EXCLUDED) <= set(exported) and all(EXCLUDED.values())
    assert set(AT_MOST) <= set(TRAINABLE)
    for name, cls in exported.items():
        if name not in EXCLUDED:
            assert network_name(cls) in networks() and isinstance(build(name), torch.nn.Module), name


def training_loss(net: torch.nn.Module, batch) -> torch.Tensor:
    """The network's own training loss where it declares one (``OwnsTrainingLoss``), else the MSE."""
    if isinstance(net, OwnsTrainingLoss):
        return net.training_loss(batch)["loss"]
    main, _ = split_outputs(net(batch))
    return F.mse_loss(main[batch.target_index], batch.labels)


@pytest.mark.parametrize("name", TRAINABLE)
def test_short_fit_decreases_loss(tiny, name: str) -> None:
    torch.manual_seed(0)
    batch = tiny._batches["train"]
    net = exported_networks()[name](tiny.spec, **ARGUMENTS.get(name, {}))
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    before = training_error(net, batch)
    for _ in range(15):
        loss = training_loss(net, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert training_error(net, batch) < AT_MOST.get(name, DEFAULT_AT_MOST) * before


def test_rgtn_without_semantic_features_says_how_to_install() -> None:
    from nie.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r'pip install -e "\.\[text\]"'):
        RGTN(GraphSpec(num_nodes=3, num_relations=1, in_dim=4))
