"""The message-passing primitives of the graph networks, on DGL's fused kernels or in plain torch.

Every network passes messages only through the functions here, on a :class:`Graph`: per-edge
terms from source/destination features, an edge softmax over each node's in-edges, and weighted
sums (or means) of source features into destination nodes. Each function has two implementations:

``dgl``    DGL's fused kernels (``dgl.ops``): no per-edge message tensors are materialised;
           needs DGL, and a CUDA build of it for GPU tensors.
``torch``  sparse CSR products (``torch.sparse.mm``, ``sampled_addmm``) for every sum over edges
           and per-edge dot product, ``index_select`` for gathers: any device, any PyTorch ≥ 2.2,
           no DGL import.

A graph carries the backend it runs on, so networks never choose; ``resolve_backend`` picks it
once per run (``auto``: torch for full-batch runs, DGL for sampled ones); ``primitives`` holds the table
of backend name → implementation.
"""

from nie.importance.kernels.backend import DGL_INSTALL, Backend, dgl_importable, dgl_supports, resolve_backend
from nie.importance.kernels.graph import Graph
from nie.importance.kernels.primitives import (
    copy_u_sum,
    edge_softmax,
    per_relation,
    u_add_v,
    u_dot_v,
    u_mul_e_mean,
    u_mul_e_sum,
)

__all__ = [
    "DGL_INSTALL",
    "Backend",
    "Graph",
    "copy_u_sum",
    "dgl_importable",
    "dgl_supports",
    "edge_softmax",
    "per_relation",
    "resolve_backend",
    "u_add_v",
    "u_dot_v",
    "u_mul_e_mean",
    "u_mul_e_sum",
]
