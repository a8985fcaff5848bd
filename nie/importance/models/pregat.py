"""PreGAT: LICAP's predicate-aware GAT encoder (projection + predicate attention per layer)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.importance.kernels import Graph
from nie.importance.models.attention import PredicateAttention


class PreGAT(nn.Module):
    """Two predicate-aware attention layers: ``hidden`` × ``heads`` (concatenated, ELU), then one
    head of ``out_dim``. A learned embedding per predicate joins every attention logit."""

    def __init__(
        self,
        in_dim: int,
        num_relations: int,
        hidden: int = 8,
        heads: int = 8,
        out_dim: int = 64,
        predicate_dim: int = 10,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.predicate_embedding = nn.Embedding(num_relations, predicate_dim)
        self.project = nn.ModuleList(
            [nn.Linear(in_dim, hidden * heads, bias=False), nn.Linear(hidden * heads, out_dim, bias=False)]
        )
        self.attend = nn.ModuleList(
            [
                PredicateAttention(heads, hidden, predicate_dim, negative_slope),
                PredicateAttention(1, out_dim, predicate_dim, negative_slope),
            ]
        )
        self.shapes = [(heads, hidden), (1, out_dim)]
        for linear in self.project:
            nn.init.xavier_normal_(linear.weight, gain=nn.init.calculate_gain("relu"))

    @override
    def forward(self, graph: Graph, x: Tensor) -> Tensor:
        h = x
        for depth, (project, attend, shape) in enumerate(zip(self.project, self.attend, self.shapes)):
            h = attend(graph, project(h).view(-1, *shape), self.predicate_embedding.weight).flatten(1)
            if depth == 0:
                h = F.elu(h)
        return h
