"""The graph every kernel runs on: edges as index tensors, the backend they run on, cached layouts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Optional

import torch
from torch import Tensor

from nie.core.seed import import_dgl
from nie.importance.kernels.csr import EdgeLayout

KernelBackend = Literal["dgl", "torch"]  # the backend a graph's kernels run on (``Backend`` adds ``auto``)


def move_optional(tensor: Optional[Tensor], device: torch.device | str) -> Optional[Tensor]:
    return None if tensor is None else tensor.to(device)


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
    backend: KernelBackend = "torch"
    dgl_graph: Any = field(default=None, repr=False)  # DGL's view of the same edges, built on demand
    edge_layout: Optional[EdgeLayout] = field(default=None, repr=False)  # torch's CSR layout, built on demand

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    @property
    def is_block(self) -> bool:
        """A sampled block (DGL's), not a whole graph."""
        return self.dgl_graph is not None and bool(self.dgl_graph.is_block)

    @property
    def device(self) -> torch.device:
        return self.src.device

    def to(self, device: torch.device | str) -> Graph:
        dgl_graph = None if self.dgl_graph is None else self.dgl_graph.to(device)
        return replace(
            self,
            src=self.src.to(device),
            dst=self.dst.to(device),
            rel=self.rel.to(device),
            added_loop=move_optional(self.added_loop, device),
            dgl_graph=dgl_graph,
            edge_layout=None,
        )

    def with_backend(self, backend: KernelBackend) -> Graph:
        """The same graph on ``backend``; for torch, edges sorted by destination, so the graph's CSR
        entries are its edges in order and per-edge values enter the products unpermuted."""
        if backend == "dgl" or bool((self.dst[1:] >= self.dst[:-1]).all()):
            return replace(self, backend=backend, edge_layout=None)
        order = torch.argsort(self.dst, stable=True)
        loops = None if self.added_loop is None else self.added_loop[order]
        return Graph(self.src[order], self.dst[order], self.rel[order], self.num_src, self.num_dst, loops, backend)

    def in_degrees(self) -> Tensor:
        return torch.bincount(self.dst, minlength=self.num_dst)

    def out_degrees(self) -> Tensor:
        return torch.bincount(self.src, minlength=self.num_src)

    def without_added_loops(self) -> Graph:
        """The edges the data gave (self-loops added for message passing removed)."""
        if self.added_loop is None or not bool(self.added_loop.any()):
            return self
        keep = ~self.added_loop
        return Graph(self.src[keep], self.dst[keep], self.rel[keep], self.num_src, self.num_dst, None, self.backend)

    def dgl(self) -> Any:
        """The same edges as a DGL graph (same edge order; relation ids in ``edata["rel"]``)."""
        if self.dgl_graph is None:
            dgl = import_dgl()
            if self.num_src != self.num_dst:
                raise ValueError("a sampled block is created by DGL's sampler, not rebuilt from edges")
            self.dgl_graph = dgl.graph((self.src, self.dst), num_nodes=self.num_src)
            self.dgl_graph.edata["rel"] = self.rel
        return self.dgl_graph

    @classmethod
    def from_dgl_block(cls, block: Any) -> Graph:
        """Wrap a sampled DGL block (sampling needs DGL, so its kernels run on DGL)."""
        src, dst = block.edges()
        return cls(src, dst, block.edata["rel"], block.num_src_nodes(), block.num_dst_nodes(), None, "dgl", block)

    def layout(self) -> EdgeLayout:
        """The edges' CSR layout (torch kernels), built once per graph."""
        if self.edge_layout is None:
            self.edge_layout = EdgeLayout(self.src, self.dst, self.rel, self.num_src, self.num_dst)
        return self.edge_layout
