"""GAT and RGCN baselines from ``dgl.nn`` with a regression head."""

from __future__ import annotations

import torch.nn.functional as F
from dgl.nn.pytorch import GATConv, RelGraphConv
from torch import Tensor, nn

from nie.batch import GraphBatch, GraphSpec


class GAT(nn.Module):
    """Stacked ``GATConv`` (heads concatenated, ELU) and a linear score head; ignores relation types."""

    name = "gat"

    def __init__(self, spec: GraphSpec, num_layers: int = 2, hidden: int = 8, heads: int = 8,
                 feat_drop: float = 0.3, attn_drop: float = 0.0, negative_slope: float = 0.2,
                 residual: bool = True) -> None:
        super().__init__()
        dims = [spec.in_dim] + [hidden * heads] * num_layers
        self.layers = nn.ModuleList(
            GATConv(dims[i], hidden, heads, feat_drop, attn_drop, negative_slope, residual=residual,
                    allow_zero_in_degree=True)
            for i in range(num_layers)
        )
        self.head = nn.Linear(dims[-1], 1)

    def forward(self, batch: GraphBatch) -> Tensor:
        h = batch.x
        for layer, graph in zip(self.layers, batch.with_graphs(len(self.layers))):
            h = F.elu(layer(graph, h).flatten(1))
        return self.head(h).squeeze(-1)


class RGCN(nn.Module):
    """Stacked ``RelGraphConv`` (basis decomposition over relations) and a linear score head."""

    name = "rgcn"

    def __init__(self, spec: GraphSpec, num_layers: int = 2, hidden: int = 64, num_bases: int = 30,
                 dropout: float = 0.2, self_loop: bool = True) -> None:
        super().__init__()
        dims = [spec.in_dim] + [hidden] * num_layers
        self.layers = nn.ModuleList(
            RelGraphConv(dims[i], dims[i + 1], spec.num_relations, regularizer="basis",
                         num_bases=min(num_bases, spec.num_relations), activation=F.relu,
                         self_loop=self_loop, dropout=dropout)
            for i in range(num_layers)
        )
        self.head = nn.Linear(dims[-1], 1)

    def forward(self, batch: GraphBatch) -> Tensor:
        h = batch.x
        for layer, graph in zip(self.layers, batch.with_graphs(len(self.layers))):
            h = layer(graph, h, graph.edata["rel"], norm=None)
        return self.head(h).squeeze(-1)
