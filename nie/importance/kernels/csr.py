"""The torch backend's autograd functions: CSR products and a segment softmax with closed-form backwards.

Each saves only what its backward needs and never materialises per-edge, per-head message tensors.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import torch
from torch import Tensor

# CSR tensors are "beta" in PyTorch 2.x; the products used here are long-standing and tested against DGL
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


class HeadPattern:
    """The edges as a sparse [num_dst·heads, num_src·heads] CSR pattern, one block per head: entry
    (dst·H + h, src·H + h) holds edge (src → dst)'s value for head h. With it a multi-head weighted
    sum is one CSR × dense product and a multi-head per-edge dot product one sampled product,
    without materialising [E, heads, dim] message tensors. Values are given edge-major ([E, H]
    flattened) and permuted into CSR order here."""

    def __init__(self, src: Tensor, dst: Tensor, num_src: int, num_dst: int, heads: int) -> None:
        h = torch.arange(heads, device=src.device)
        rows = (dst.unsqueeze(1) * heads + h).reshape(-1)
        cols = (src.unsqueeze(1) * heads + h).reshape(-1)
        self.shape = (num_dst * heads, num_src * heads)
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


def expand_index(index: Tensor, like: Tensor) -> Tensor:
    """``index`` [E] broadcast to the shape of ``like`` [E, ...] (for ``scatter_reduce``)."""
    return index.view(-1, *([1] * (like.dim() - 1))).expand_as(like)


def segment_sum(values: Tensor, index: Tensor, size: int) -> Tensor:
    """Rows of ``values`` summed into ``size`` rows by ``index``."""
    out = torch.zeros((size, *values.shape[1:]), dtype=values.dtype, device=values.device)
    return out.index_add_(0, index, values)


class WeightedSum(torch.autograd.Function):
    """out[i, h] = Σ_{j→i} w[j→i, h] · x[j, h] for x [N_src, H, D], w [E, H]."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weights: Tensor, pattern: HeadPattern) -> Tensor:
        ctx.save_for_backward(x, weights)
        ctx.pattern = pattern
        heads, dim = x.shape[1:]
        return (pattern.matrix(weights.reshape(-1)) @ x.reshape(-1, dim)).view(-1, heads, dim)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        x, weights = ctx.saved_tensors
        pattern, dim = ctx.pattern, x.shape[-1]
        grad_rows = grad.reshape(-1, dim).contiguous()
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = (pattern.transposed(weights.reshape(-1)) @ grad_rows).view_as(x)
        if ctx.needs_input_grad[1]:
            grad_w = pattern.sample(grad_rows, x.reshape(-1, dim)).view_as(weights)
        return grad_x, grad_w, None


class EdgeDot(torch.autograd.Function):
    """s[j→i, h] = x_src[j, h] · x_dst[i, h] for [N, H, D] inputs: [E, H]."""

    @staticmethod
    def forward(ctx: Any, src_feat: Tensor, dst_feat: Tensor, pattern: HeadPattern) -> Tensor:
        ctx.save_for_backward(src_feat, dst_feat)
        ctx.pattern = pattern
        dim = src_feat.shape[-1]
        return pattern.sample(dst_feat.reshape(-1, dim), src_feat.reshape(-1, dim)).view(-1, src_feat.shape[1])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], Optional[Tensor], None]:
        src_feat, dst_feat = ctx.saved_tensors
        pattern, dim = ctx.pattern, src_feat.shape[-1]
        values = grad.reshape(-1)
        grad_src = grad_dst = None
        if ctx.needs_input_grad[0]:
            grad_src = (pattern.transposed(values) @ dst_feat.reshape(-1, dim)).view_as(src_feat)
        if ctx.needs_input_grad[1]:
            grad_dst = (pattern.matrix(values) @ src_feat.reshape(-1, dim)).view_as(dst_feat)
        return grad_src, grad_dst, None


class SegmentSoftmax(torch.autograd.Function):
    """Softmax over edges grouped by destination, with the closed-form backward
    ∂L/∂logit_e = a_e·(g_e − Σ_{e' into the same node} a_e'·g_e'), which saves only the weights."""

    @staticmethod
    def forward(ctx: Any, logits: Tensor, dst: Tensor, num_dst: int) -> Tensor:
        index = expand_index(dst, logits)
        shape = (num_dst, *logits.shape[1:])
        # subtracting each segment's maximum changes nothing but keeps exp() finite
        peak = torch.full(shape, float("-inf"), dtype=logits.dtype, device=logits.device)
        peak = peak.scatter_reduce(0, index, logits, "amax")
        weights = torch.exp(logits - peak.index_select(0, dst))
        weights /= segment_sum(weights, dst, num_dst).index_select(0, dst)
        ctx.save_for_backward(weights, dst)
        ctx.num_dst = num_dst
        return weights

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        weights, dst = ctx.saved_tensors
        weighted = weights * grad
        return weighted - weights * segment_sum(weighted, dst, ctx.num_dst).index_select(0, dst), None, None
