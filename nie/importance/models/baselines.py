"""Non-learned baselines scored under the same protocol: PageRank, personalised PageRank, in-degree.

They rank nodes but do not predict labels, so RMSE is not reported for them. Self-loops added
by the datamodule are ignored; self-loop triples in the data are kept.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import Tensor
from typing_extensions import override

from nie.core.baseline import Baseline
from nie.core.errors import ConfigError
from nie.importance import kernels
from nie.importance.contracts import ImportanceNetwork
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch, GraphSpec, GraphTrainingData


def _data_graph(batch: GraphBatch) -> Graph:
    """The full graph as the data gave it: without the self-loops the datamodule added."""
    return batch.full_graph("a graph baseline").without_added_loops()


def pagerank(
    graph: Graph, damping: float = 0.85, teleport: Tensor | None = None, max_iter: int = 200, tol: float = 1e-10
) -> Tensor:
    """Power iteration; dangling nodes teleport (as NetworkX)."""
    n = graph.num_dst
    teleport = torch.full((n,), 1.0 / n, device=graph.device) if teleport is None else teleport / teleport.sum()
    out_degree = graph.out_degrees().float()
    dangling = out_degree == 0
    rank = teleport.clone()
    for _ in range(max_iter):
        received = kernels.copy_u_sum(graph, rank / out_degree.clamp_min(1))
        new = damping * (received + rank[dangling].sum() * teleport) + (1 - damping) * teleport
        done = (new - rank).abs().sum() < n * tol
        rank = new
        if done:
            break
    return rank


class _GraphBaseline(Baseline, ImportanceNetwork):
    """Ranks nodes by a graph statistic of the whole graph: predicts no labels (so RMSE is not reported),
    and the task refuses ``data.batch_size`` before anything is written."""

    predicts_labels = False
    full_batch_only = True


class PageRank(_GraphBaseline):
    """Importance as PageRank on the data's own edges."""

    name = "pagerank"

    def __init__(self, spec: GraphSpec, damping: float = 0.85) -> None:
        super().__init__()
        self.damping = damping

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        return pagerank(_data_graph(batch), self.damping)


class PersonalizedPageRank(_GraphBaseline):
    """PageRank teleporting to training nodes in proportion to their labels."""

    name = "ppr"

    def __init__(self, spec: GraphSpec, damping: float = 0.85) -> None:
        super().__init__()
        self.damping = damping
        self.register_buffer("teleport", torch.zeros(spec.num_nodes))

    @override
    def fit(self, datamodule: pl.LightningDataModule) -> None:
        if not isinstance(datamodule, GraphTrainingData):
            raise ConfigError(
                f"PersonalizedPageRank needs graph data with training labels, got {type(datamodule).__name__}"
            )
        nodes, labels = datamodule.training_labels()
        teleport = torch.zeros_like(self.teleport)
        teleport[nodes] = labels.clamp_min(0).float()
        self.teleport.copy_(teleport)

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        if self.teleport.sum() <= 0:
            raise RuntimeError("PersonalizedPageRank has no training labels: run fit first")
        return pagerank(_data_graph(batch), self.damping, self.teleport)


class InDegree(_GraphBaseline):
    """Importance as the number of incoming edges."""

    name = "degree"

    def __init__(self, spec: GraphSpec) -> None:
        super().__init__()

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        return _data_graph(batch).in_degrees().float()
