"""GENI (Park et al., KDD 2019): a GNN that aggregates importance *scores*, not embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.importance.contracts import ImportanceNetwork, split_outputs
from nie.importance.kernels import Graph
from nie.importance.layerwise import run_layers
from nie.importance.models.attention import PredicateAttention
from nie.importance.spec import GraphBatch, GraphSpec


class GENI(ImportanceNetwork):
    """Score networks per head → ``num_layers`` score aggregations → centrality-adjusted mean.

    Final score = LeakyReLU(mean_h (γ_h·c_i + β_h)·s_{h,i}) with c_i = log(in-degree_i + ε),
    γ initialised to 1 and β to 0 (so the adjustment starts as scaling by c_i).
    """

    name = "geni"

    def __init__(
        self,
        spec: GraphSpec,
        num_layers: int = 3,
        heads: int = 4,
        predicate_dim: int = 10,
        scoring_hidden: int | None = None,
        feat_drop: float = 0.3,
        attn_drop: float = 0.0,
        negative_slope: float = 0.2,
        centrality_adjustment: bool = True,
        epsilon: float = 1e-4,
    ) -> None:
        super().__init__()
        hidden = scoring_hidden or max(1, spec.in_dim // 2)
        self.num_layers, self.heads, self.epsilon = num_layers, heads, epsilon
        self.feat_drop = nn.Dropout(feat_drop)
        self.score_hidden = nn.Linear(spec.in_dim, heads * hidden)  # the heads' first layers, side by side
        self.score_out_weight = nn.Parameter(torch.empty(heads, hidden))
        # start near the mean training label: final ≈ c_i · s with s ≈ bias, so bias = mean / mean(c)
        start = spec.label_mean / spec.centrality_mean if centrality_adjustment else spec.label_mean
        self.score_out_bias = nn.Parameter(torch.full((heads,), start))
        nn.init.xavier_uniform_(self.score_out_weight)
        self.predicate_embedding = nn.Embedding(spec.num_relations, predicate_dim)
        # a score aggregation layer is predicate attention over one-dimensional "features"
        self.layers = nn.ModuleList(
            PredicateAttention(heads, 1, predicate_dim, negative_slope, attn_drop) for _ in range(num_layers)
        )
        self.centrality_adjustment = centrality_adjustment
        self.gamma = nn.Parameter(torch.ones(heads))
        self.beta = nn.Parameter(torch.zeros(heads))

    def layer_inputs(self, x: Tensor, x_semantic: Tensor | None) -> Tensor:
        """``contracts.LayerByLayer``: each head's initial score."""
        hidden = F.relu(self.score_hidden(self.feat_drop(x))).view(x.shape[0], self.heads, -1)
        return (hidden * self.score_out_weight).sum(-1) + self.score_out_bias

    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        scores = F.elu(self.layers[depth](graph, values.unsqueeze(-1), self.predicate_embedding.weight).squeeze(-1))
        if depth < self.num_layers - 1:  # heads share one score between layers
            scores = scores.mean(-1, keepdim=True).expand(-1, self.heads)
        return scores

    def readout(self, values: Tensor, in_degree: Tensor) -> Tensor:
        if not self.centrality_adjustment:
            return values.mean(-1)
        centrality = torch.log(in_degree + self.epsilon).unsqueeze(-1)
        return F.leaky_relu(((centrality * self.gamma + self.beta) * values).mean(-1))

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        return split_outputs(run_layers(self, batch))[0]
