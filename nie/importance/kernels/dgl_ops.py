"""The primitives on DGL's fused kernels (``dgl.ops``): no per-edge message tensors are materialised.

DGL is imported on the first call (through ``nie.core.seed.import_dgl``, so it is seeded); needs a
CUDA build of DGL for GPU tensors.
"""

from __future__ import annotations

from typing import Any, Protocol

from torch import Tensor

from nie.core.seed import import_dgl
from nie.importance.kernels.graph import Graph


class _DglOps(Protocol):
    """The part of ``dgl.ops`` used here (DGL ships no type information); ``graph`` is a ``DGLGraph``."""

    def u_add_v(self, graph: Any, lhs: Tensor, rhs: Tensor) -> Tensor: ...
    def u_dot_v(self, graph: Any, lhs: Tensor, rhs: Tensor) -> Tensor: ...
    def edge_softmax(self, graph: Any, logits: Tensor) -> Tensor: ...
    def u_mul_e_sum(self, graph: Any, lhs: Tensor, rhs: Tensor) -> Tensor: ...
    def u_mul_e_mean(self, graph: Any, lhs: Tensor, rhs: Tensor) -> Tensor: ...
    def copy_u_sum(self, graph: Any, feat: Tensor) -> Tensor: ...


def _ops() -> _DglOps:
    ops: _DglOps = import_dgl().ops
    return ops


def per_relation(graph: Graph, table: Tensor) -> Tensor:
    return table.index_select(0, graph.rel)  # plain indexing's backward sorts the indices


def u_add_v(graph: Graph, src_term: Tensor, dst_term: Tensor) -> Tensor:
    return _ops().u_add_v(graph.dgl(), src_term, dst_term)


def u_dot_v(graph: Graph, src_feat: Tensor, dst_feat: Tensor) -> Tensor:
    return _ops().u_dot_v(graph.dgl(), src_feat, dst_feat)


def edge_softmax(graph: Graph, logits: Tensor) -> Tensor:
    return _ops().edge_softmax(graph.dgl(), logits)


def u_mul_e_sum(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    return _ops().u_mul_e_sum(graph.dgl(), src_feat, edge_weight)


def u_mul_e_mean(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    return _ops().u_mul_e_mean(graph.dgl(), src_feat, edge_weight)


def copy_u_sum(graph: Graph, src_feat: Tensor) -> Tensor:
    return _ops().copy_u_sum(graph.dgl(), src_feat)
