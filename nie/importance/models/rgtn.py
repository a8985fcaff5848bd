"""RGTN (Huang et al., KDD 2021): relational graph transformers on structure and text, co-attention fusion.

Returns the fused score and the two branch scores; the task's loss is
(1 - λ)·MSE(fused) + λ·mean(MSE(branches)) + α·ListNet(fused).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.core.errors import ConfigError
from nie.importance import kernels
from nie.importance.contracts import ImportanceNetwork
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch, GraphSpec, required_semantic


def require_semantic_features(spec: GraphSpec, network: str) -> None:
    """Networks with a semantic branch stop at build time, saying how to get its input."""
    if spec.semantic_dim == 0:
        raise ConfigError(
            f"{network} needs semantic features: set data.semantic_features: [semantic] "
            '(text embeddings need the text extra: pip install -e ".[text]")'
        )


class RelationalTransformerLayer(nn.Module):
    """Multi-head dot-product attention over in-edges, plus a per-head relation bias; add & norm, FFN."""

    def __init__(
        self, in_dim: int, hidden: int, heads: int, predicate_dim: int, feat_drop: float = 0.3, attn_drop: float = 0.0
    ) -> None:
        super().__init__()
        width = hidden * heads
        self.heads, self.hidden = heads, hidden
        self.query = nn.Linear(in_dim, width, bias=False)
        self.key = nn.Linear(in_dim, width, bias=False)
        self.value = nn.Linear(in_dim, width, bias=False)
        self.relation_bias = nn.Linear(predicate_dim, heads)
        self.out = nn.Linear(width, width, bias=False)
        self.residual = nn.Linear(in_dim, width, bias=False) if in_dim != width else nn.Identity()
        self.ffn = nn.Sequential(
            nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width), nn.Dropout(feat_drop)
        )
        self.norm1, self.norm2 = nn.BatchNorm1d(width), nn.BatchNorm1d(width)
        self.feat_drop, self.attn_drop = nn.Dropout(feat_drop), nn.Dropout(attn_drop)

    @override
    def forward(self, graph: Graph, x: Tensor, predicate_table: Tensor) -> Tensor:
        x = self.feat_drop(x)
        x_dst = x[: graph.num_dst]
        query = self.query(x_dst).view(-1, self.heads, self.hidden)
        key = self.key(x).view(-1, self.heads, self.hidden)
        value = self.value(x).view(-1, self.heads, self.hidden)
        score = kernels.u_dot_v(graph, key, query).squeeze(-1) / self.hidden**0.5
        score = score + kernels.per_relation(graph, self.relation_bias(predicate_table))
        weights = self.attn_drop(kernels.edge_softmax(graph, score)).unsqueeze(-1)
        h = self.out(kernels.u_mul_e_sum(graph, value, weights).flatten(1))
        h = self.norm1(h + self.residual(x_dst))
        out: Tensor = self.norm2(h + self.ffn(h))
        return out


class RelationalGraphTransformer(nn.Module):
    """One branch of RGTN: relation-aware graph-transformer layers over one kind of input feature."""

    def __init__(
        self,
        in_dim: int,
        num_layers: int,
        hidden: int,
        heads: int,
        predicate_dim: int,
        feat_drop: float,
        attn_drop: float,
    ) -> None:
        super().__init__()
        dims = [in_dim] + [hidden * heads] * num_layers
        self.layers = nn.ModuleList(
            RelationalTransformerLayer(dims[i], hidden, heads, predicate_dim, feat_drop, attn_drop)
            for i in range(num_layers)
        )

    @override
    def forward(self, graphs: list[Graph], x: Tensor, embed: nn.Embedding) -> Tensor:
        for layer, graph in zip(self.layers, graphs):
            x = layer(graph, x, embed.weight)  # per-relation biases, gathered per edge
        return x


class CoAttention(nn.Module):
    """Self-attention across the two views of each node (structure, text), FFN, residual, norm."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.ffn = nn.Sequential(nn.Linear(width, width // 2), nn.ReLU(), nn.Linear(width // 2, width), nn.Dropout(0.1))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.scale = width**0.5

    @override
    def forward(self, views: Tensor) -> Tensor:  # [N, 2, width]
        q, k, v = self.qkv(views).chunk(3, dim=-1)
        mixed = torch.softmax(q @ k.transpose(1, 2) / self.scale, dim=-1) @ v
        out: Tensor = self.norm(self.ffn(mixed) + mixed)
        return out


class RGTN(ImportanceNetwork):
    """Structural and semantic branches, each scored, mixed by learned per-node attention."""

    name = "rgtn"

    def __init__(
        self,
        spec: GraphSpec,
        num_layers: int = 2,
        hidden: int = 8,
        heads: int = 8,
        predicate_dim: int = 10,
        feat_drop: float = 0.3,
        attn_drop: float = 0.0,
        input_drop: float = 0.0,
        epsilon: float = 1e-4,
    ) -> None:
        super().__init__()
        require_semantic_features(spec, "RGTN")
        width = hidden * heads
        self.num_layers, self.epsilon, self.input_dim = num_layers, epsilon, spec.in_dim
        self.input_drop = nn.Dropout(input_drop)
        self.predicate_embedding = nn.Embedding(spec.num_relations, predicate_dim)
        self.structural = RelationalGraphTransformer(
            spec.in_dim, num_layers, hidden, heads, predicate_dim, feat_drop, attn_drop
        )
        self.semantic = RelationalGraphTransformer(
            spec.semantic_dim, num_layers, hidden, heads, predicate_dim, feat_drop, attn_drop
        )
        self.co_attention = CoAttention(width)
        self.norm_structural, self.norm_semantic = nn.BatchNorm1d(width), nn.BatchNorm1d(width)
        self.fusion = nn.Linear(width, 1, bias=False)
        self.head_structural, self.head_semantic = nn.Linear(width, 1), nn.Linear(width, 1)
        nn.init.constant_(self.head_structural.bias, spec.label_mean / spec.centrality_mean)
        nn.init.constant_(self.head_semantic.bias, spec.label_mean)
        self.gamma, self.beta = nn.Parameter(torch.ones(1)), nn.Parameter(torch.zeros(1))

    @override
    def forward(self, batch: GraphBatch) -> tuple[Tensor, list[Tensor]]:
        graphs = batch.with_graphs(self.num_layers)
        h_s = self.structural(graphs, self.input_drop(batch.x), self.predicate_embedding)
        h_t = self.semantic(graphs, self.input_drop(batch.semantic_inputs()), self.predicate_embedding)
        return self.fuse(h_s, h_t, batch.in_degree)

    def layer_inputs(self, x: Tensor, x_semantic: Tensor | None) -> Tensor:
        """``contracts.LayerByLayer`` (evaluation: the training pass above draws its dropout masks branch by
        branch): the two branches' values side by side."""
        semantic = required_semantic(x_semantic)
        return torch.cat([self.input_drop(x), self.input_drop(semantic)], 1)

    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        split = self.input_dim if depth == 0 else values.shape[1] // 2
        table = self.predicate_embedding.weight
        structural = self.structural.layers[depth](graph, values[:, :split], table)
        semantic = self.semantic.layers[depth](graph, values[:, split:], table)
        return torch.cat([structural, semantic], 1)

    def readout(self, values: Tensor, in_degree: Tensor) -> tuple[Tensor, list[Tensor]]:
        h_s, h_t = values.chunk(2, dim=1)
        return self.fuse(h_s, h_t, in_degree)

    def fuse(self, h_s: Tensor, h_t: Tensor, in_degree: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The fused score and both branch scores from the branches' last layers."""
        mixed = self.co_attention(torch.stack([h_s, h_t], 1))
        views = torch.stack([self.norm_structural(h_s + mixed[:, 0]), self.norm_semantic(h_t + mixed[:, 1])], 1)
        weights = torch.softmax(self.fusion(views), dim=1).squeeze(-1)  # [N, 2]
        centrality = torch.log(in_degree + self.epsilon)
        score_s = F.relu(
            (centrality * self.gamma + self.beta) * F.leaky_relu(self.head_structural(views[:, 0]).squeeze(-1))
        )
        score_t = F.leaky_relu(self.head_semantic(views[:, 1]).squeeze(-1))
        fused = weights[:, 0] * score_s + weights[:, 1] * score_t
        return fused, [score_s, score_t]
