"""EASING (Chen et al., WWW 2025): semi-supervised node importance with predicted uncertainty.

Each of two co-trained members encodes a node with RGTN's structural and semantic relational
graph-transformer branches (one predicate embedding shared by both), then decodes two coupled
streams, the mean importance and its log-variance, with their own attention / feed-forward /
LayerNorm stacks. Both streams are scaled by the node's centrality: a learned γ mixes log in-degree
with the node's neighbourhood entropy (Σ of KL divergences between its softmaxed semantic features
and each in-neighbour's), so a well-connected node whose neighbours describe it differently speaks
louder.

Training (``training_loss``): labels are standardised on the training nodes; the labeled loss is
heteroscedastic, 0.5·(exp(-s)·(μ - y)² + s), with s the two members' mean log-variance. The
unlabeled nodes of the fold (``GraphBatch.unlabeled_index``: nodes without labels, never validation
or test nodes) get pseudo-labels from ``pseudo_passes`` stochastic (dropout) passes of both members
without gradient, averaged over passes and members; each member fits them with the same
heteroscedastic loss, pulls its log-variance to the pseudo log-variance, and the members'
log-variances on labeled nodes are kept consistent. Prediction: the members' mean, averaged (the
network is deterministic in evaluation, so one pass stands for the reference's repeated passes).

Choices of this project: the decoder expands the node vector into ``tokens`` tokens by a fixed random
projection (the reference default is one token, where attention reduces to its value map); heads of the
token attention split the width properly; ListNet is left to the reference's default (off).
Full-batch only: pseudo-labels need every node each step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.core.errors import ConfigError
from nie.importance.contracts import ImportanceNetwork
from nie.importance.kernels import Graph
from nie.importance.models.rgtn import RelationalGraphTransformer, require_semantic_features
from nie.importance.spec import GraphBatch, GraphSpec


def heteroscedastic_loss(mean: Tensor, target: Tensor, log_variance: Tensor) -> Tensor:
    """Mean of 0.5·(exp(-s)·(μ - y)² + s): squared error weighted by predicted precision, plus its price."""
    loss: Tensor = (0.5 * (torch.exp(-log_variance) * (mean - target) ** 2 + log_variance)).mean()
    return loss


def neighbourhood_entropy(graph: Graph, semantic: Tensor, chunk: int = 65536) -> Tensor:
    """log(1 + 1e-4 + Σ_u KL(p_v ‖ p_u)) over each node v's in-neighbours u ≠ v, p = softmax(features)."""
    p = torch.softmax(semantic.float(), dim=1)
    log_p = torch.log_softmax(semantic.float(), dim=1)
    self_term = (p * log_p).sum(1)  # Σ p_v log p_v
    data = graph.without_added_loops()
    keep = data.src != data.dst
    src, dst = data.src[keep], data.dst[keep]
    total = torch.zeros(graph.num_dst, device=semantic.device)
    for start in range(0, src.numel(), chunk):
        s, d = src[start : start + chunk], dst[start : start + chunk]
        total.index_add_(0, d, self_term[d] - (p[d] * log_p[s]).sum(1))
    return torch.log(total.clamp_min(0) + 1e-4 + 1)


class TokenAttention(nn.Module):
    """Multi-head self-attention over a node's tokens with ELU'd projections, add & norm, FFN, add & norm."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ConfigError(f"EASING decoder width {width} is not divisible by decoder_heads={heads}")
        self.heads = heads
        self.qkv = nn.ModuleList(nn.Sequential(nn.Linear(width, width, bias=False), nn.ELU()) for _ in range(3))
        self.ffn = nn.Sequential(nn.Linear(width, 2 * width), nn.ELU(), nn.Linear(2 * width, width), nn.ELU())
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-6), nn.LayerNorm(width, eps=1e-6)

    @override
    def forward(self, x: Tensor) -> Tensor:  # [N, T, width]
        n, t, width = x.shape
        if t == 1:  # attention over one token is its value: skip the query and key maps
            mixed = self.qkv[2](x)
        else:
            q, k, v = (proj(x).view(n, t, self.heads, -1).transpose(1, 2) for proj in self.qkv)
            weights = torch.softmax(q @ k.transpose(-2, -1) / width**0.5, dim=-1)
            mixed = (weights @ v).transpose(1, 2).reshape(n, t, width)
        h = self.norm1(x + mixed)
        out: Tensor = self.norm2(h + self.ffn(h))
        return out


class CoupledDecoder(nn.Module):
    """Mean and log-variance streams from one node vector, coupled by the shared input and centrality scale."""

    def __init__(self, width: int, tokens: int, layers: int, heads: int) -> None:
        super().__init__()
        self.register_buffer("expand_mean", torch.randn(tokens, 1))
        self.register_buffer("expand_variance", torch.randn(tokens, 1))
        self.mean_layers = nn.ModuleList(TokenAttention(width, heads) for _ in range(layers))
        self.variance_layers = nn.ModuleList(TokenAttention(width, heads) for _ in range(layers))
        self.mean_head, self.variance_head = nn.Linear(tokens * width, 1), nn.Linear(tokens * width, 1)

    @override
    def forward(self, h: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
        streams = []
        for expand, layers, head in (
            (self.expand_mean, self.mean_layers, self.mean_head),
            (self.expand_variance, self.variance_layers, self.variance_head),
        ):
            x = expand.unsqueeze(0) * h.unsqueeze(1)  # [N, T, width]
            for layer in layers:
                x = layer(x)
            streams.append(head(F.relu(scale.unsqueeze(-1) * x.flatten(1))).squeeze(-1))
        return streams[0], streams[1]


class EasingMember(nn.Module):
    """One of the two co-trained models: RGTN branches → coupled mean / log-variance decoder."""

    def __init__(
        self,
        spec: GraphSpec,
        num_layers: int,
        hidden: int,
        heads: int,
        predicate_dim: int,
        feat_drop: float,
        attn_drop: float,
        tokens: int,
        decoder_layers: int,
        decoder_heads: int,
        gamma: float,
        beta: float,
    ) -> None:
        super().__init__()
        width = hidden * heads
        self.num_layers = num_layers
        self.predicate_embedding = nn.Embedding(spec.num_relations, predicate_dim)
        branch = (num_layers, hidden, heads, predicate_dim, feat_drop, attn_drop)
        self.structural = RelationalGraphTransformer(spec.in_dim, *branch)
        self.semantic = RelationalGraphTransformer(spec.semantic_dim, *branch)
        self.decoder = CoupledDecoder(2 * width, tokens, decoder_layers, decoder_heads)
        self.gamma, self.beta = nn.Parameter(torch.tensor(gamma)), nn.Parameter(torch.tensor(beta))

    @override
    def forward(self, batch: GraphBatch, centrality: Tensor, entropy: Tensor) -> tuple[Tensor, Tensor]:
        """Standardised mean importance and its log-variance for every output node."""
        graphs = batch.with_graphs(self.num_layers)
        h = torch.cat(
            [
                self.structural(graphs, batch.x, self.predicate_embedding),
                self.semantic(graphs, batch.semantic_inputs(), self.predicate_embedding),
            ],
            dim=1,
        )
        scale = centrality * self.gamma + entropy * (1 - self.gamma) + 2 * self.beta
        out: tuple[Tensor, Tensor] = self.decoder(h, scale)
        return out


class EASING(ImportanceNetwork):
    """Two co-trained uncertainty-aware members; predicts their averaged mean importance.

    Args:
        num_layers, hidden, heads, predicate_dim, feat_drop, attn_drop: each RGTN branch.
        tokens, decoder_layers, decoder_heads: the coupled decoder.
        gamma, beta: initial centrality mixing weight and offset (both learned).
        pseudo_passes: stochastic passes per member for the pseudo-labels (0: supervised only).
        pseudo_every: refresh the pseudo-labels every this many training steps (the reference: 1, each
            step; more saves their passes on a CPU; a resumed run refreshes at its first step).
        unlabeled_weight: weight of the unlabeled terms.
    """

    name = "easing"
    full_batch_only = True

    def __init__(
        self,
        spec: GraphSpec,
        num_layers: int = 2,
        hidden: int = 8,
        heads: int = 8,
        predicate_dim: int = 10,
        feat_drop: float = 0.3,
        attn_drop: float = 0.3,
        tokens: int = 1,
        decoder_layers: int = 2,
        decoder_heads: int = 8,
        gamma: float = 0.9,
        beta: float = 0.0,
        pseudo_passes: int = 5,
        pseudo_every: int = 1,
        unlabeled_weight: float = 1.0,
    ) -> None:
        super().__init__()
        require_semantic_features(spec, "EASING")
        member = (num_layers, hidden, heads, predicate_dim, feat_drop, attn_drop, tokens, decoder_layers)
        self.members = nn.ModuleList(EasingMember(spec, *member, decoder_heads, gamma, beta) for _ in range(2))
        self.label_mean, self.label_std = spec.label_mean, spec.label_std
        if pseudo_every < 1:
            raise ConfigError(f"EASING pseudo_every={pseudo_every}: expected a positive number of training steps")
        self.pseudo_passes, self.pseudo_every, self.unlabeled_weight = pseudo_passes, pseudo_every, unlabeled_weight
        self._structure: dict[tuple[int, int, str], tuple[Tensor, Tensor]] = {}
        self._pseudo: tuple[int, Tensor, Tensor] | None = None  # (steps since refresh, mean, log-variance)

    def structure(self, batch: GraphBatch) -> tuple[Tensor, Tensor]:
        """Log in-degree and neighbourhood entropy (no gradient; computed once per graph)."""
        graph = batch.full_graph("EASING")
        key = (graph.num_dst, graph.num_edges, str(graph.device))
        if key not in self._structure:
            with torch.no_grad():
                centrality = torch.log(batch.in_degree + 1e-4)
                self._structure = {key: (centrality, neighbourhood_entropy(graph, batch.semantic_inputs()))}
        return self._structure[key]

    def member_outputs(self, batch: GraphBatch) -> list[tuple[Tensor, Tensor]]:
        centrality, entropy = self.structure(batch)
        return [member(batch, centrality, entropy) for member in self.members]

    @override
    def forward(self, batch: GraphBatch) -> Tensor:
        means = torch.stack([mean for mean, _ in self.member_outputs(batch)]).mean(0)
        return means * self.label_std + self.label_mean

    @torch.no_grad()
    def pseudo_labels(self, batch: GraphBatch, nodes: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of ``nodes`` over stochastic passes of both members (no gradient)."""
        means, variances = [], []
        for _ in range(self.pseudo_passes):
            for mean, log_variance in self.member_outputs(batch):
                means.append(mean[nodes])
                variances.append(log_variance[nodes])
        return torch.stack(means).mean(0), torch.stack(variances).mean(0)

    def current_pseudo_labels(self, batch: GraphBatch, nodes: Tensor) -> tuple[Tensor, Tensor]:
        """The pseudo-labels of ``nodes``, refreshed every ``pseudo_every`` calls."""
        pseudo = self._pseudo
        if pseudo is None or pseudo[1].shape != nodes.shape or pseudo[0] >= self.pseudo_every:
            pseudo = (0, *self.pseudo_labels(batch, nodes))
        age, mean, log_variance = pseudo
        self._pseudo = (age + 1, mean, log_variance)
        return mean, log_variance

    def training_loss(self, batch: GraphBatch) -> dict[str, Tensor]:
        """Labeled heteroscedastic loss, pseudo-label terms on the unlabeled nodes, variance agreement."""
        labeled, unlabeled = batch.target_index, batch.unlabeled_index
        if unlabeled is None:
            raise ConfigError("EASING needs the fold's unlabeled nodes: full-batch training (data.batch_size unset)")
        target = (batch.target_labels() - self.label_mean) / self.label_std
        outputs = self.member_outputs(batch)
        variance = torch.stack([log_variance[labeled] for _, log_variance in outputs]).mean(0)
        supervised = torch.stack([heteroscedastic_loss(mean[labeled], target, variance) for mean, _ in outputs]).sum()
        agreement = F.mse_loss(outputs[1][1][labeled], outputs[0][1][labeled])
        terms: dict[str, Tensor] = {"supervised": supervised, "agreement": agreement}
        loss = supervised + agreement
        if self.pseudo_passes > 0 and unlabeled.numel() > 0:
            pseudo_mean, pseudo_variance = self.current_pseudo_labels(batch, unlabeled)
            terms["unlabeled"] = torch.stack(
                [
                    heteroscedastic_loss(mean[unlabeled], pseudo_mean, pseudo_variance)
                    + F.mse_loss(log_variance[unlabeled], pseudo_variance)
                    for mean, log_variance in outputs
                ]
            ).sum()
            loss = loss + self.unlabeled_weight * terms["unlabeled"]
        return {"loss": loss, **terms}
