"""The primitives in plain torch: CSR products (``csr``) for every sum over edges and for per-edge
dot products, ``index_select`` for per-edge gathers. Any device, any PyTorch ≥ 2.2, no DGL.

Graphs on this backend have their edges sorted by destination (``Graph.with_backend``), which saves
permuting values; a graph built in another order works too (``EdgeLayout.order``).
"""

from __future__ import annotations

from torch import Tensor
from torch.autograd import Function

from nie.importance.kernels.csr import EdgeDot, EdgeLayout, Gather, Incidence, ScatterSum, SegmentSoftmax, WeightedSum
from nie.importance.kernels.graph import Graph


def _apply(function: type[Function], *args: Tensor | Incidence | EdgeLayout) -> Tensor:
    """``function.apply(*args)``, typed: torch leaves ``apply`` untyped (each forward here returns a Tensor)."""
    result: Tensor = function.apply(*args)
    return result


def per_relation(graph: Graph, table: Tensor) -> Tensor:
    return _apply(Gather, table, graph.layout().relations(table.shape[0]))


def u_add_v(graph: Graph, src_term: Tensor, dst_term: Tensor) -> Tensor:
    layout = graph.layout()
    return _apply(Gather, src_term, layout.by_src) + _apply(Gather, dst_term, layout.by_dst)


def u_dot_v(graph: Graph, src_feat: Tensor, dst_feat: Tensor) -> Tensor:
    return _apply(EdgeDot, src_feat, dst_feat, graph.layout()).unsqueeze(-1)


def edge_softmax(graph: Graph, logits: Tensor) -> Tensor:
    return _apply(SegmentSoftmax, logits, graph.layout())


def u_mul_e_sum(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    layout = graph.layout()
    if src_feat.shape[-1] == 1:  # one value per head (GENI's scores): [E, H] messages are cheaper than products
        return _apply(ScatterSum, _apply(Gather, src_feat, layout.by_src) * edge_weight, layout.by_dst)
    return _apply(WeightedSum, src_feat, edge_weight.squeeze(-1), layout)


def u_mul_e_mean(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    total = u_mul_e_sum(graph, src_feat, edge_weight)
    degree = graph.layout().in_degrees.clamp_min(1).to(total.dtype)
    return total / degree.view(-1, *([1] * (total.dim() - 1)))


def copy_u_sum(graph: Graph, src_feat: Tensor) -> Tensor:
    layout = graph.layout()
    return _apply(ScatterSum, _apply(Gather, src_feat, layout.by_src), layout.by_dst)
