"""The message-passing primitives of the graph networks, on DGL's fused kernels or in plain torch.

Every network passes messages only through the functions here, on a :class:`Graph`: per-edge
terms from source/destination features, an edge softmax over each node's in-edges, and weighted
sums (or means) of source features into destination nodes. Each function has two implementations:

``dgl``    DGL's fused kernels (``dgl.ops``): no per-edge message tensors are materialised;
           needs DGL, and a CUDA build of it for GPU tensors.
``torch``  sparse CSR products (``torch.sparse.mm``, ``sampled_addmm``) for the weighted sums and
           per-edge dot products, ``index_add_``/``scatter_reduce`` for the rest: any device, any
           PyTorch ≥ 2.2, no DGL import.

A graph carries the backend it runs on, so networks never choose; ``resolve_backend`` picks it
once per run (``auto``: DGL where it works on the device, torch elsewhere).
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Optional

import torch
from torch import Tensor

from nie.core.errors import ConfigError

# CSR tensors are "beta" in PyTorch 2.x; the products used here are long-standing and tested against DGL
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

Backend = Literal["auto", "dgl", "torch"]
DGL_INSTALL = "pip install dgl==2.1.0 (CPU), or a CUDA build: pip install dgl==2.1.0 -f https://data.dgl.ai/wheels/cu121/repo.html"


@dataclass
class Graph:
    """Directed multi-relational edges ``src → dst`` with relation ids, as index tensors.

    ``num_src``/``num_dst`` differ only for sampled blocks (destination nodes are the first
    ``num_dst`` source nodes). ``added_loop`` marks self-loops added for message passing.
    """

    src: Tensor
    dst: Tensor
    rel: Tensor
    num_src: int
    num_dst: int
    added_loop: Optional[Tensor] = None
    backend: Literal["dgl", "torch"] = "torch"
    dgl_graph: Any = field(default=None, repr=False)  # DGL's view of the same edges, built on demand
    head_patterns: dict[int, "HeadPattern"] = field(default_factory=dict, repr=False)  # torch's CSR layouts

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    @property
    def device(self) -> torch.device:
        return self.src.device

    def to(self, device: torch.device | str) -> "Graph":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        dgl_graph = None if self.dgl_graph is None else self.dgl_graph.to(device)
        return replace(
            self,
            src=move(self.src),
            dst=move(self.dst),
            rel=move(self.rel),
            added_loop=move(self.added_loop),
            dgl_graph=dgl_graph,
            head_patterns={},
        )

    def with_backend(self, backend: Literal["dgl", "torch"]) -> "Graph":
        """The same graph on ``backend``; for torch, edges sorted by destination (the scatters into
        destinations then write memory in order: ~3x faster on CPU)."""
        if backend == "dgl" or bool((self.dst[1:] >= self.dst[:-1]).all()):
            return replace(self, backend=backend, head_patterns={})
        order = torch.argsort(self.dst, stable=True)
        loops = None if self.added_loop is None else self.added_loop[order]
        return Graph(self.src[order], self.dst[order], self.rel[order], self.num_src, self.num_dst, loops, backend)

    def in_degrees(self) -> Tensor:
        return torch.bincount(self.dst, minlength=self.num_dst)

    def out_degrees(self) -> Tensor:
        return torch.bincount(self.src, minlength=self.num_src)

    def without_added_loops(self) -> "Graph":
        """The edges the data gave (self-loops added for message passing removed)."""
        if self.added_loop is None or not bool(self.added_loop.any()):
            return self
        keep = ~self.added_loop
        return Graph(self.src[keep], self.dst[keep], self.rel[keep], self.num_src, self.num_dst, None, self.backend)

    def dgl(self) -> Any:
        """The same edges as a DGL graph (same edge order; relation ids in ``edata["rel"]``)."""
        if self.dgl_graph is None:
            import dgl

            if self.num_src != self.num_dst:
                raise ValueError("a sampled block is created by DGL's sampler, not rebuilt from edges")
            self.dgl_graph = dgl.graph((self.src, self.dst), num_nodes=self.num_src)
            self.dgl_graph.edata["rel"] = self.rel
        return self.dgl_graph

    @classmethod
    def from_dgl_block(cls, block: Any) -> "Graph":
        """Wrap a sampled DGL block (sampling needs DGL, so its kernels run on DGL)."""
        src, dst = block.edges()
        return cls(src, dst, block.edata["rel"], block.num_src_nodes(), block.num_dst_nodes(), None, "dgl", block)

    def head_pattern(self, heads: int) -> "HeadPattern":
        if heads not in self.head_patterns:
            self.head_patterns[heads] = HeadPattern(self, heads)
        return self.head_patterns[heads]


class HeadPattern:
    """The edges as a sparse [num_dst·heads, num_src·heads] CSR pattern, one block per head: entry
    (dst·H + h, src·H + h) holds edge (src → dst)'s value for head h. With it a multi-head weighted
    sum is one CSR × dense product and a multi-head per-edge dot product one sampled product,
    without materialising [E, heads, dim] message tensors. Values are given edge-major ([E, H]
    flattened) and permuted into CSR order here."""

    def __init__(self, graph: Graph, heads: int) -> None:
        h = torch.arange(heads, device=graph.device)
        rows = (graph.dst.unsqueeze(1) * heads + h).reshape(-1)
        cols = (graph.src.unsqueeze(1) * heads + h).reshape(-1)
        self.shape = (graph.num_dst * heads, graph.num_src * heads)
        self.order, self.crow, self.col = self._csr(rows, cols, self.shape[0])
        self.t_order, self.t_crow, self.t_col = self._csr(cols, rows, self.shape[1])

    @staticmethod
    def _csr(rows: Tensor, cols: Tensor, num_rows: int) -> tuple[Tensor, Tensor, Tensor]:
        order = torch.argsort(rows, stable=True)
        crow = torch.zeros(num_rows + 1, dtype=torch.int64, device=rows.device)
        crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_rows), 0)
        return order, crow, cols[order]

    def matrix(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.crow, self.col, values[self.order], self.shape)

    def transposed(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.t_crow, self.t_col, values[self.t_order], self.shape[::-1])

    def sample(self, dst_rows: Tensor, src_rows: Tensor) -> Tensor:
        """Per entry, edge-major: dst_rows[dst·H + h] · src_rows[src·H + h]."""
        pattern = torch.sparse_csr_tensor(
            self.crow, self.col, torch.zeros_like(self.col, dtype=dst_rows.dtype), self.shape
        )
        sampled = torch.sparse.sampled_addmm(pattern, dst_rows, src_rows.T, beta=0.0).values()
        return torch.empty_like(sampled).index_copy_(0, self.order, sampled)


class _WeightedSum(torch.autograd.Function):
    """out[i, h] = Σ_{j→i} w[j→i, h] · x[j, h] for x [N_src, H, D], w [E, H]."""

    @staticmethod
    def forward(ctx, x: Tensor, weights: Tensor, pattern: HeadPattern) -> Tensor:
        ctx.save_for_backward(x, weights)
        ctx.pattern = pattern
        heads, dim = x.shape[1:]
        return (pattern.matrix(weights.reshape(-1)) @ x.reshape(-1, dim)).view(-1, heads, dim)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        x, weights = ctx.saved_tensors
        pattern, dim = ctx.pattern, x.shape[-1]
        grad_rows = grad.reshape(-1, dim).contiguous()
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = (pattern.transposed(weights.reshape(-1)) @ grad_rows).view_as(x)
        if ctx.needs_input_grad[1]:
            grad_w = pattern.sample(grad_rows, x.reshape(-1, dim)).view_as(weights)
        return grad_x, grad_w, None


class _EdgeDot(torch.autograd.Function):
    """s[j→i, h] = x_src[j, h] · x_dst[i, h] for [N, H, D] inputs: [E, H]."""

    @staticmethod
    def forward(ctx, src_feat: Tensor, dst_feat: Tensor, pattern: HeadPattern) -> Tensor:
        ctx.save_for_backward(src_feat, dst_feat)
        ctx.pattern = pattern
        dim = src_feat.shape[-1]
        return pattern.sample(dst_feat.reshape(-1, dim), src_feat.reshape(-1, dim)).view(-1, src_feat.shape[1])

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        src_feat, dst_feat = ctx.saved_tensors
        pattern, dim = ctx.pattern, src_feat.shape[-1]
        values = grad.reshape(-1)
        grad_src = grad_dst = None
        if ctx.needs_input_grad[0]:
            grad_src = (pattern.transposed(values) @ dst_feat.reshape(-1, dim)).view_as(src_feat)
        if ctx.needs_input_grad[1]:
            grad_dst = (pattern.matrix(values) @ src_feat.reshape(-1, dim)).view_as(dst_feat)
        return grad_src, grad_dst, None


# ------------------------------------------------------------------------------------ backend choice
def dgl_importable() -> bool:
    try:
        importlib.import_module("dgl")
        return True
    except Exception:  # noqa: BLE001 - a broken DGL install (e.g. a torch it was not built for) raises anything
        return False


def dgl_supports(device: torch.device) -> bool:
    """Whether the installed DGL can build a graph on ``device`` (the PyPI build is CPU-only)."""
    if not dgl_importable():
        return False
    if device.type == "cpu":
        return True
    import dgl

    try:
        dgl.graph(([0], [1])).to(device)
        return True
    except Exception:  # noqa: BLE001 - DGL raises its own error types for a CPU-only build
        return False


def resolve_backend(requested: Backend, device: torch.device) -> Literal["dgl", "torch"]:
    """The backend a run uses on ``device``; ``dgl`` where it cannot work stops with one line."""
    if requested == "torch":
        return "torch"
    if requested == "auto":
        return "dgl" if dgl_supports(device) else "torch"
    if not dgl_importable():
        raise ConfigError(
            f"data.backend: dgl on {device}, but DGL cannot be imported here: {DGL_INSTALL}; "
            "or set data.backend: torch (or auto)"
        )
    if not dgl_supports(device):
        raise ConfigError(
            f"data.backend: dgl on {device}, but the installed DGL has no support for that device: "
            f"{DGL_INSTALL}; or set data.backend: torch (or auto)"
        )
    return "dgl"


# ------------------------------------------------------------------------------------- primitives
def _expand(index: Tensor, like: Tensor) -> Tensor:
    return index.view(-1, *([1] * (like.dim() - 1))).expand_as(like)


def _segment_sum(values: Tensor, index: Tensor, size: int) -> Tensor:
    out = torch.zeros((size, *values.shape[1:]), dtype=values.dtype, device=values.device)
    return out.index_add_(0, index, values)


def per_relation(graph: Graph, table: Tensor) -> Tensor:
    """Each edge's row of a per-relation table ``[relations, ...]``: ``[E, ...]``.

    The torch path uses ``index_select``, whose backward is an ``index_add_``; plain indexing's
    backward sorts the indices first (a third of a GENI step on FB15k).
    """
    return table[graph.rel] if graph.backend == "dgl" else table.index_select(0, graph.rel)


def u_add_v(graph: Graph, src_term: Tensor, dst_term: Tensor) -> Tensor:
    """Per-edge ``src_term[src] + dst_term[dst]``."""
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.u_add_v(graph.dgl(), src_term, dst_term)
    return src_term.index_select(0, graph.src) + dst_term.index_select(0, graph.dst)


def u_dot_v(graph: Graph, src_feat: Tensor, dst_feat: Tensor) -> Tensor:
    """Per-edge, per-head dot product of ``[N, heads, dim]`` features: ``[E, heads, 1]``."""
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.u_dot_v(graph.dgl(), src_feat, dst_feat)
    pattern = graph.head_pattern(src_feat.shape[1])
    return _EdgeDot.apply(src_feat.contiguous(), dst_feat.contiguous(), pattern).unsqueeze(-1)


class _SegmentSoftmax(torch.autograd.Function):
    """Softmax over edges grouped by destination, with the closed-form backward
    ∂L/∂logit_e = a_e·(g_e − Σ_{e' into the same node} a_e'·g_e'), which saves only the weights."""

    @staticmethod
    def forward(ctx, logits: Tensor, dst: Tensor, num_dst: int) -> Tensor:
        index = _expand(dst, logits)
        shape = (num_dst, *logits.shape[1:])
        # subtracting each segment's maximum changes nothing but keeps exp() finite
        peak = torch.full(shape, float("-inf"), dtype=logits.dtype, device=logits.device)
        peak = peak.scatter_reduce(0, index, logits, "amax")
        weights = torch.exp(logits - peak.index_select(0, dst))
        weights /= _segment_sum(weights, dst, num_dst).index_select(0, dst)
        ctx.save_for_backward(weights, dst)
        ctx.num_dst = num_dst
        return weights

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        weights, dst = ctx.saved_tensors
        weighted = weights * grad
        return weighted - weights * _segment_sum(weighted, dst, ctx.num_dst).index_select(0, dst), None, None


def edge_softmax(graph: Graph, logits: Tensor) -> Tensor:
    """Softmax of per-edge logits ``[E, ...]`` over each destination's in-edges.

    The torch path subtracts each segment's maximum first, so large logits do not overflow;
    nodes without in-edges own no edge and get nothing (no NaN).
    """
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.edge_softmax(graph.dgl(), logits)
    return _SegmentSoftmax.apply(logits, graph.dst, graph.num_dst)


def u_mul_e_sum(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    """``out[i, h] = Σ_{j→i} src_feat[j, h] * edge_weight[j→i, h]`` for features ``[N, heads or 1, dim]``
    and weights ``[E, heads, 1]``: a weighted sum per head (features shared by all heads when 1)."""
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.u_mul_e_sum(graph.dgl(), src_feat, edge_weight)
    heads = edge_weight.shape[1]
    src_feat = src_feat.expand(-1, heads, -1).contiguous()
    return _WeightedSum.apply(src_feat, edge_weight.squeeze(-1).contiguous(), graph.head_pattern(heads))


def u_mul_e_mean(graph: Graph, src_feat: Tensor, edge_weight: Tensor) -> Tensor:
    """Like ``u_mul_e_sum`` but averaged over in-edges (0 for nodes without in-edges)."""
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.u_mul_e_mean(graph.dgl(), src_feat, edge_weight)
    total = u_mul_e_sum(graph, src_feat, edge_weight)
    degree = graph.in_degrees().clamp_min(1).to(total.dtype)
    return total / degree.view(-1, *([1] * (total.dim() - 1)))


def copy_u_sum(graph: Graph, src_feat: Tensor) -> Tensor:
    """``out[i] = Σ_{j→i} src_feat[j]``."""
    if graph.backend == "dgl":
        import dgl

        return dgl.ops.copy_u_sum(graph.dgl(), src_feat)
    return _segment_sum(src_feat.index_select(0, graph.src), graph.dst, graph.num_dst)
