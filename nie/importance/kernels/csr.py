"""The torch backend's autograd functions: CSR products with closed-form backwards.

Every sum of per-edge values into nodes is a CSR × dense product (threaded by the sparse BLAS),
not an ``index_add_`` (serial on CPU, 3-5x slower on FB15k's 607k edges). Multi-head sums and
per-edge dot products run one head at a time on the graph's own CSR, whose entries are the edges
in destination order, so per-edge values enter the product without being permuted. Nothing saves
per-edge, per-head message tensors ([E, heads, dim]).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import torch
from torch import Tensor
from typing_extensions import override

# CSR tensors are "beta" in PyTorch 2.x; the products used here are long-standing and tested against DGL
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _index_dtype(*sizes: int) -> torch.dtype:
    """int32 CSR indices where every index fits (one dtype per matrix): the sparse BLAS then runs
    without converting them (the products take half the time on FB15k)."""
    return torch.int32 if max(sizes) <= torch.iinfo(torch.int32).max else torch.int64


def _row_pointers(rows: Tensor, num_rows: int, dtype: torch.dtype) -> Tensor:
    pointers = torch.zeros(num_rows + 1, dtype=torch.int64, device=rows.device)
    pointers[1:] = torch.cumsum(torch.bincount(rows, minlength=num_rows), 0)
    return pointers.to(dtype)


class Incidence:
    """Which edges belong to each of ``num_rows`` nodes (or relations): a [rows, E] CSR of ones.

    ``incidence @ values`` sums per-edge rows into their node's row; built once per graph.
    """

    def __init__(self, index: Tensor, num_rows: int, dtype: Optional[torch.dtype] = None) -> None:
        order = torch.argsort(index, stable=True)
        self.index, self.shape = index, (num_rows, int(index.shape[0]))
        self.order = order
        dtype = dtype or _index_dtype(*self.shape)
        self.crow, self.col = _row_pointers(index, num_rows, dtype), order.to(dtype)
        self._ones: dict[torch.dtype, Tensor] = {}

    def matrix(self, dtype: torch.dtype) -> Tensor:
        if dtype not in self._ones:
            ones = torch.ones(self.shape[1], dtype=dtype, device=self.col.device)
            self._ones[dtype] = torch.sparse_csr_tensor(self.crow, self.col, ones, self.shape)
        return self._ones[dtype]

    def sum(self, values: Tensor) -> Tensor:
        """Per-edge rows ``values`` [E, ...] summed into [rows, ...]."""
        flat = values.reshape(values.shape[0], math.prod(values.shape[1:]))
        return (self.matrix(values.dtype) @ flat).view(self.shape[0], *values.shape[1:])


class EdgeLayout:
    """A graph's edges as CSR index arrays for the torch kernels, built once per graph.

    ``adjacency(w)`` is the [num_dst, num_src] matrix with edge j→i's value w at (i, j); its
    entries are the edges in destination order, which is the graph's own order on this backend
    (``Graph.with_backend`` sorts), so ``order`` is None and values go in unpermuted.
    """

    def __init__(self, src: Tensor, dst: Tensor, rel: Tensor, num_src: int, num_dst: int) -> None:
        sorted_ = bool((dst[1:] >= dst[:-1]).all())
        self.order: Optional[Tensor] = None if sorted_ else torch.argsort(dst, stable=True)
        self.shape = (num_dst, num_src)
        dtype = _index_dtype(int(src.shape[0]), num_src, num_dst)
        self.crow = _row_pointers(dst, num_dst, dtype)
        self.col = (src if self.order is None else src[self.order]).to(dtype)
        self.by_src, self.by_dst = Incidence(src, num_src, dtype), Incidence(dst, num_dst, dtype)
        # the transposed matrix: entries in source order, rows as the source incidence's
        self.t_order = self.by_src.order
        self.t_crow, self.t_col = self.by_src.crow, dst[self.t_order].to(dtype)
        self.in_degrees = self.crow.diff().long()
        self.rel = rel
        self._patterns: dict[torch.dtype, Tensor] = {}
        self._relations: dict[int, Incidence] = {}

    def in_csr_order(self, values: Tensor) -> Tensor:
        return values if self.order is None else values.index_select(0, self.order)

    def from_csr_order(self, values: Tensor) -> Tensor:
        if self.order is None:
            return values
        return torch.empty_like(values).index_copy_(0, self.order, values)

    def adjacency(self, values: Tensor) -> Tensor:
        """Per-edge values [E] (graph order) as the [num_dst, num_src] matrix."""
        return torch.sparse_csr_tensor(self.crow, self.col, self.in_csr_order(values), self.shape)

    def forward_product(self, columns: Tensor, feat: Tensor) -> Tensor:
        """out[i, h] = Σ_{j→i} columns[h, j→i] · feat[j, h] for per-head edge values [H, E] and
        features [N_src, H or 1, D]: one CSR product per head, [N_dst, H, D]."""
        return torch.stack([self.adjacency(w) @ _head(feat, h) for h, w in enumerate(columns)], 1)

    def backward_product(self, columns: Tensor, feat: Tensor) -> Tensor:
        """out[j, h] = Σ_{j→i} columns[h, j→i] · feat[i, h], the transposed products: the values are
        permuted into source order once for all heads, [N_src, H, D]."""
        by_source = columns.index_select(1, self.t_order)
        return torch.stack(
            [
                torch.sparse_csr_tensor(self.t_crow, self.t_col, w, self.shape[::-1]) @ _head(feat, h)
                for h, w in enumerate(by_source)
            ],
            1,
        )

    def relations(self, num_relations: int) -> Incidence:
        """Which edges carry each relation (for per-relation tables' gradients)."""
        if num_relations not in self._relations:
            self._relations[num_relations] = Incidence(self.rel, num_relations)
        return self._relations[num_relations]

    def sample(self, dst_feat: Tensor, src_feat: Tensor) -> Tensor:
        """Per edge (graph order) and head: dst_feat[dst, h] · src_feat[src, h] for [N, H or 1, D]
        features. One dimension per head (GENI's scores): gathered rows, cheaper than a sampled
        product; more: a sampled product per head, which never forms [E, H, D]."""
        heads = max(dst_feat.shape[1], src_feat.shape[1])
        if dst_feat.shape[-1] == 1:
            return (dst_feat.index_select(0, self.by_dst.index) * src_feat.index_select(0, self.by_src.index))[..., 0]
        dtype = dst_feat.dtype
        if dtype not in self._patterns:
            zeros = torch.zeros(self.col.shape[0], dtype=dtype, device=self.col.device)
            self._patterns[dtype] = torch.sparse_csr_tensor(self.crow, self.col, zeros, self.shape)
        per_head = [
            torch.sparse.sampled_addmm(self._patterns[dtype], _head(dst_feat, h), _head(src_feat, h).T, beta=0.0)
            for h in range(heads)
        ]
        return self.from_csr_order(torch.stack([p.values() for p in per_head]).t())


def _columns(values: Tensor) -> Tensor:
    """Per-edge, per-head values [E, H] as [H, E] rows: one copy instead of a strided one per head
    (none when they are a transposed view already, as ``EdgeLayout.sample``'s output is)."""
    return values.t().contiguous()


def _head(x: Tensor, h: int) -> Tensor:
    """Head ``h`` of [N, heads, D] features, or the one shared head."""
    return x[:, h if x.shape[1] > 1 else 0].contiguous()


class Gather(torch.autograd.Function):
    """``x[index]`` whose backward is an incidence product instead of a serial ``index_add_``."""

    @override
    @staticmethod
    def forward(ctx: Any, x: Tensor, incidence: Incidence) -> Tensor:
        ctx.incidence = incidence
        return x.index_select(0, incidence.index)

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return ctx.incidence.sum(grad.contiguous()), None


class ScatterSum(torch.autograd.Function):
    """Per-edge rows summed into their nodes (the adjoint of ``Gather``)."""

    @override
    @staticmethod
    def forward(ctx: Any, values: Tensor, incidence: Incidence) -> Tensor:
        ctx.incidence = incidence
        return incidence.sum(values.contiguous())

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad.index_select(0, ctx.incidence.index), None


class WeightedSum(torch.autograd.Function):
    """out[i, h] = Σ_{j→i} w[j→i, h] · x[j, h] for x [N_src, H or 1, D] (1: shared by heads), w [E, H]."""

    @override
    @staticmethod
    def forward(ctx: Any, x: Tensor, weights: Tensor, layout: EdgeLayout) -> Tensor:
        if x.shape[1] not in (1, weights.shape[1]):
            raise ValueError(f"features have {x.shape[1]} heads, edge weights {weights.shape[1]}: need equal or 1")
        ctx.save_for_backward(x, weights)
        ctx.layout = layout
        return layout.forward_product(_columns(weights), x)

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        x, weights = ctx.saved_tensors
        layout = ctx.layout
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = layout.backward_product(_columns(weights), grad)
            if x.shape[1] == 1:  # one head shared by all: its gradient sums theirs
                grad_x = sum(grad_x.unbind(1)).unsqueeze(1)
        if ctx.needs_input_grad[1]:
            grad_w = layout.sample(grad, x)
        return grad_x, grad_w, None


class EdgeDot(torch.autograd.Function):
    """s[j→i, h] = x_src[j, h] · x_dst[i, h] for [N, H, D] inputs: [E, H]."""

    @override
    @staticmethod
    def forward(ctx: Any, src_feat: Tensor, dst_feat: Tensor, layout: EdgeLayout) -> Tensor:
        if src_feat.shape[1:] != dst_feat.shape[1:]:
            raise ValueError(f"source features {tuple(src_feat.shape)} and destination {tuple(dst_feat.shape)} differ")
        ctx.save_for_backward(src_feat, dst_feat)
        ctx.layout = layout
        return layout.sample(dst_feat, src_feat)

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        src_feat, dst_feat = ctx.saved_tensors
        layout, columns = ctx.layout, _columns(grad)
        grad_src = grad_dst = None
        if ctx.needs_input_grad[0]:
            grad_src = layout.backward_product(columns, dst_feat)
        if ctx.needs_input_grad[1]:
            grad_dst = layout.forward_product(columns, src_feat)
        return grad_src, grad_dst, None


class SegmentSoftmax(torch.autograd.Function):
    """Softmax over edges grouped by destination, with the closed-form backward
    ∂L/∂logit_e = a_e·(g_e − Σ_{e' into the same node} a_e'·g_e'), which saves only the weights."""

    @override
    @staticmethod
    def forward(ctx: Any, logits: Tensor, layout: EdgeLayout) -> Tensor:
        by_dst = layout.by_dst
        if logits.numel() == 0:
            ctx.save_for_backward(logits)
            ctx.layout = layout
            return logits.clone()
        # Softmax is unchanged by any per-node shift; the shift only has to keep exp() finite and,
        # for each node, its largest term a normal float. The global maximum does that unless a
        # node's logits all lie ~70 below it; only then is each node's own maximum (a serial
        # scatter, ~12 ms per call on FB15k) taken.
        weights = torch.exp(logits - logits.amax())
        totals = by_dst.sum(weights)
        degree = layout.in_degrees.view(-1, *([1] * (logits.dim() - 1)))
        # a node's largest term is at least its total / in-degree; at or above finfo.tiny it is a normal float
        if bool((totals < torch.finfo(logits.dtype).tiny * degree).any()):
            index = by_dst.index.view(-1, *([1] * (logits.dim() - 1))).expand_as(logits)
            peak = torch.full_like(totals, float("-inf")).scatter_reduce(0, index, logits, "amax")
            weights = torch.exp(logits - peak.index_select(0, by_dst.index))
            totals = by_dst.sum(weights)
        weights /= totals.index_select(0, by_dst.index)
        ctx.save_for_backward(weights)
        ctx.layout = layout
        return weights

    @override
    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (weights,) = ctx.saved_tensors
        by_dst = ctx.layout.by_dst
        weighted = weights * grad
        return weighted - weights * by_dst.sum(weighted).index_select(0, by_dst.index), None
