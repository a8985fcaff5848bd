"""GAT and RGCN baselines with a regression head, on the project's kernels (``nie.importance.kernels``).

RGCN aggregates per basis first and transforms after: on FB15k (592k edges, 1,346 relations)
``dgl.nn.RelGraphConv`` spends ~50 s per training step on CPU in the backward pass through its
per-relation ``gather_mm``; this order takes ~2 s (bench/nie_epoch.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.importance import kernels
from nie.importance.contracts import ImportanceNetwork, split_outputs
from nie.importance.kernels import Graph
from nie.importance.layerwise import run_layers
from nie.importance.spec import GraphBatch, GraphSpec


def output_head(in_dim: int, spec: GraphSpec) -> nn.Linear:
    """Linear score head whose bias starts at the mean training label (no slow drift from 0)."""
    head = nn.Linear(in_dim, 1)
    nn.init.constant_(head.bias, spec.label_mean)
    return head


class GATLayer(nn.Module):
    """Graph attention (Veličković et al.): a shared projection, logit(j→i) = LeakyReLU(a_l·Wh_j + a_r·Wh_i)
    softmaxed over i's in-edges, attention-weighted sum per head, a projected residual and a bias."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        heads: int,
        feat_drop: float = 0.0,
        attn_drop: float = 0.0,
        negative_slope: float = 0.2,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.heads, self.out_dim = heads, out_dim
        self.project = nn.Linear(in_dim, heads * out_dim, bias=False)
        self.attn_src = nn.Parameter(torch.empty(1, heads, out_dim))
        self.attn_dst = nn.Parameter(torch.empty(1, heads, out_dim))
        self.residual = (
            (nn.Linear(in_dim, heads * out_dim, bias=False) if in_dim != heads * out_dim else nn.Identity())
            if residual
            else None
        )
        self.bias = nn.Parameter(torch.zeros(heads * out_dim))
        self.feat_drop, self.attn_drop = nn.Dropout(feat_drop), nn.Dropout(attn_drop)
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        gain = nn.init.calculate_gain("relu")
        for p in (self.project.weight, self.attn_src, self.attn_dst):
            nn.init.xavier_normal_(p, gain=gain)
        if isinstance(self.residual, nn.Linear):
            nn.init.xavier_normal_(self.residual.weight, gain=gain)

    @override
    def forward(self, graph: Graph, x: Tensor) -> Tensor:
        """Per-head outputs ``[num_dst, heads, out_dim]``."""
        x = self.feat_drop(x)
        h = self.project(x).view(-1, self.heads, self.out_dim)
        logits = kernels.u_add_v(graph, (h * self.attn_src).sum(-1), (h[: graph.num_dst] * self.attn_dst).sum(-1))
        weights = self.attn_drop(kernels.edge_softmax(graph, self.leaky_relu(logits))).unsqueeze(-1)
        out = kernels.u_mul_e_sum(graph, h, weights)
        if self.residual is not None:
            out = out + self.residual(x[: graph.num_dst]).view_as(out)
        return out + self.bias.view(1, self.heads, self.out_dim)


class ScoredLayers(ImportanceNetwork):
    """Layers over node features and a linear score head (``contracts.LayerByLayer``); subclasses define
    ``layers``, ``head`` and ``layer``."""

    num_layers: int
    head: nn.Linear

    def layer_inputs(self, x: Tensor, x_semantic: Tensor | None) -> Tensor:
        return x

    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        raise NotImplementedError

    def readout(self, values: Tensor, in_degree: Tensor) -> Tensor:
        scores: Tensor = self.head(values).squeeze(-1)
        return scores

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        return split_outputs(run_layers(self, batch))[0]


class GAT(ScoredLayers):
    """Stacked graph attention layers (heads concatenated, ELU) and a linear score head; ignores
    relation types."""

    name = "gat"

    def __init__(
        self,
        spec: GraphSpec,
        num_layers: int = 2,
        hidden: int = 8,
        heads: int = 8,
        feat_drop: float = 0.3,
        attn_drop: float = 0.0,
        negative_slope: float = 0.2,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers  # ``contracts.Layered``
        dims = [spec.in_dim] + [hidden * heads] * num_layers
        self.layers = nn.ModuleList(
            GATLayer(dims[i], hidden, heads, feat_drop, attn_drop, negative_slope, residual) for i in range(num_layers)
        )
        self.head = output_head(dims[-1], spec)

    @override
    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        out: Tensor = F.elu(self.layers[depth](graph, values).flatten(1))
        return out


class BasisRelationalConv(nn.Module):
    """h_i = W_0 x_i + mean_{j→i} Σ_b a_{r(j,i), b} V_b x_j  (Schlichtkrull et al., basis decomposition).

    Messages are weighted per basis and averaged first ([N, B, in]; DGL fuses this without
    materialising per-edge tensors), then transformed by the B bases at once.
    """

    def __init__(self, in_dim: int, out_dim: int, num_relations: int, num_bases: int) -> None:
        super().__init__()
        self.coefficients = nn.Parameter(torch.empty(num_relations, num_bases))
        self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
        self.self_loop = nn.Linear(in_dim, out_dim)
        nn.init.xavier_uniform_(self.coefficients)
        nn.init.xavier_uniform_(self.bases, gain=nn.init.calculate_gain("relu"))

    @override
    def forward(self, graph: Graph, x: Tensor) -> Tensor:
        per_basis = kernels.u_mul_e_mean(
            graph, x.unsqueeze(1), kernels.per_relation(graph, self.coefficients).unsqueeze(-1)
        )
        neighbours = torch.einsum("nbi,bio->no", per_basis, self.bases)
        out: Tensor = neighbours + self.self_loop(x[: graph.num_dst])
        return out


class RGCN(ScoredLayers):
    """Stacked basis-decomposed relational convolutions (ReLU, dropout) and a linear score head."""

    name = "rgcn"

    def __init__(
        self, spec: GraphSpec, num_layers: int = 2, hidden: int = 32, num_bases: int = 10, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.num_layers = num_layers  # ``contracts.Layered``
        dims = [spec.in_dim] + [hidden] * num_layers
        self.layers = nn.ModuleList(
            BasisRelationalConv(dims[i], dims[i + 1], spec.num_relations, min(num_bases, spec.num_relations))
            for i in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.head = output_head(dims[-1], spec)

    @override
    def layer(self, depth: int, graph: Graph, values: Tensor) -> Tensor:
        out: Tensor = self.dropout(F.relu(self.layers[depth](graph, values)))
        return out
