"""The message-passing primitives networks call, dispatched on the graph's backend by one table.

Adding a backend: a module with the seven functions below (same arguments) and a row in ``BACKENDS``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import ModuleType
from typing import Callable

from torch import Tensor

from nie.importance.kernels import dgl_ops, torch_ops
from nie.importance.kernels.graph import Graph, KernelBackend

OneInput = Callable[[Graph, Tensor], Tensor]
TwoInputs = Callable[[Graph, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Primitives:
    """One backend's implementation of every primitive (arguments as the functions below)."""

    per_relation: OneInput
    u_add_v: TwoInputs
    u_dot_v: TwoInputs
    edge_softmax: OneInput
    u_mul_e_sum: TwoInputs
    u_mul_e_mean: TwoInputs
    copy_u_sum: OneInput


def implemented_by(module: ModuleType) -> Primitives:
    """The primitives of one backend: the module's functions of the same names."""
    return Primitives(**{f.name: getattr(module, f.name) for f in fields(Primitives)})


BACKENDS: dict[KernelBackend, Primitives] = {"dgl": implemented_by(dgl_ops), "torch": implemented_by(torch_ops)}


def per_relation(graph: Graph, table: Tensor) -> Tensor:
    """Each edge's row of a per-relation table ``[relations, ...]``: ``[E, ...]``."""
    return BACKENDS[graph.backend].per_relation(graph, table)


def u_add_v(graph: Graph, src_term: Tensor, dst_term: Tensor) -> Tensor:
    """Per-edge ``src_term[src] + dst_term[dst]``."""
    return BACKENDS[graph.backend].u_add_v(graph, src_term, dst_term)


def u_dot_v(graph: Graph, src_feat: Tensor, dst_feat: Tensor) -> Tensor:
    """Per-edge, per-head dot product of ``[N, heads, dim]`` features: ``[E, heads, 1]``."""
    return BACKENDS[graph.backend].u_dot_v(graph, src_feat, dst_feat)


def edge_softmax(graph: Graph, logits: Tensor) -> Tensor:
    """Softmax of per-edge logits ``[E, ...]`` over each destination's in-edges.

    The torch path subtracts each segment's maximum first, so large logits do not overflow;
    nodes without in-edges own no edge and get nothing (no NaN).
    """
    return BACKENDS[graph.backend].edge_softmax(graph, logits)


def u_mul_e_sum(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    """``out[i, h] = Σ_{j→i} src_feat[j, h] * edge_weight[j→i, h]`` for features ``[N, heads or 1, dim]``
    and weights ``[E, heads, 1]``: a weighted sum per head (features shared by all heads when 1)."""
    return BACKENDS[graph.backend].u_mul_e_sum(graph, src_feat, edge_weight)


def u_mul_e_mean(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    """Like ``u_mul_e_sum`` but averaged over in-edges (0 for nodes without in-edges)."""
    return BACKENDS[graph.backend].u_mul_e_mean(graph, src_feat, edge_weight)


def copy_u_sum(graph: Graph, src_feat: Tensor) -> Tensor:
    """``out[i] = Σ_{j→i} src_feat[j]``."""
    return BACKENDS[graph.backend].copy_u_sum(graph, src_feat)
