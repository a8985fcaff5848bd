"""Every network declares what it offers the task as ``nie.importance.contracts`` documents it."""

from __future__ import annotations

import pytest
from torch import nn

from nie.importance import EASING, GAT, GENI, RGCN, RGTN, SKES, InDegree, PageRank, PersonalizedPageRank
from nie.importance.contracts import (
    FitsOnTrainingData,
    ImportanceNetwork,
    OwnsTrainingLoss,
    full_batch_only,
    predicts_labels,
)
from nie.importance.spec import GraphSpec

SPEC = GraphSpec(num_nodes=10, num_relations=2, in_dim=4, semantic_dim=3)
NETWORKS = [GENI, GAT, RGCN, RGTN, SKES, EASING, PageRank, PersonalizedPageRank, InDegree]
BASELINES = {PageRank, PersonalizedPageRank, InDegree}


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.__name__)
def test_networks_declare_their_capabilities(network: type[nn.Module]) -> None:
    net = network(SPEC)
    assert isinstance(net, ImportanceNetwork)
    assert predicts_labels(net) == (network not in BASELINES)
    assert full_batch_only(net) == (network in (SKES, EASING))
    assert isinstance(net, OwnsTrainingLoss) == (network is EASING)
    assert isinstance(net, FitsOnTrainingData) == (network in BASELINES)
    trainable = any(p.requires_grad for p in net.parameters())
    assert trainable == (network not in BASELINES)  # only baselines are fit instead of trained


def test_a_plain_module_gets_the_defaults() -> None:
    plain = nn.Linear(2, 1)
    assert predicts_labels(plain) and not full_batch_only(plain)
    assert not isinstance(plain, OwnsTrainingLoss) and not isinstance(plain, FitsOnTrainingData)
