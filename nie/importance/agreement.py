"""Whether the two message-passing backends agree, network by network: outputs and gradients of the torch
kernels on a device against a CPU reference.

The reference is DGL's kernels on CPU where DGL imports, else the torch kernels on CPU (a GPU machine
without DGL). The graph is small, random, with repeated edges and a node without in-edges; float32, no
TF32, dropout off (CPU and GPU draw different masks). The networks are every one ``nie.importance``
exports, so a new network is checked without being listed; ``tests/test_kernels.py`` and the device
check (``bench/device_check.py``) both run it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
from torch import nn

import nie.importance
from nie.core.naming import network_name
from nie.importance.contracts import split_outputs
from nie.importance.kernels import Graph, dgl_importable
from nie.importance.models.pregat import PreGAT
from nie.importance.spec import GraphBatch, GraphSpec

NUM_NODES, NUM_RELATIONS = 40, 5
TOLERANCE = 1e-5  # absolute and relative, as torch.testing.assert_close
SPEC = GraphSpec(NUM_NODES, NUM_RELATIONS, in_dim=6, semantic_dim=3, label_mean=1.0, centrality_mean=1.0)
# constructor arguments beyond the spec (and dropout off), for a network whose defaults do not suit a small graph
ARGUMENTS: dict[str, dict[str, Any]] = {}
# exported networks that cannot run here, and why
EXCLUDED = {"PersonalizedPageRank": "teleports to the training labels: needs fit(datamodule) before a forward"}


def exported_networks() -> dict[str, type[nn.Module]]:
    """Every network ``nie.importance`` exports, by class name: its modules other than the task."""
    exported = {name: getattr(nie.importance, name) for name in nie.importance.__all__}
    return {
        name: obj
        for name, obj in exported.items()
        if isinstance(obj, type) and issubclass(obj, nn.Module) and not name.endswith("Task")
    }


def build(name: str) -> nn.Module:
    """Exported network ``name`` on ``SPEC`` with its ``ARGUMENTS`` and every dropout rate 0."""
    cls = exported_networks()[name]
    dropouts = {p: 0.0 for p in inspect.signature(cls).parameters if "drop" in p}
    return cls(SPEC, **{**dropouts, **ARGUMENTS.get(name, {})})


def networks() -> dict[str, Callable[[], nn.Module]]:
    """The networks checked, by short name: each exported one not ``EXCLUDED``, and LICAP's encoder."""
    built: dict[str, Callable[[], nn.Module]] = {
        network_name(cls): functools.partial(build, name)
        for name, cls in exported_networks().items()
        if name not in EXCLUDED
    }
    built["pregat"] = lambda: PreGAT(6, NUM_RELATIONS, hidden=4, heads=2, out_dim=5)
    return built


def random_graph(seed: int = 0) -> Graph:
    """A random multigraph with self-loops on all but the last node, which has no in-edges at all."""
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(0, NUM_NODES, (160,), generator=generator)
    dst = torch.randint(0, NUM_NODES - 1, (160,), generator=generator)
    loops = torch.arange(NUM_NODES - 1)
    rel = torch.randint(0, NUM_RELATIONS, (160 + len(loops),), generator=generator)
    return Graph(torch.cat([src, loops]), torch.cat([dst, loops]), rel, NUM_NODES, NUM_NODES)


def batch_on(graph: Graph) -> GraphBatch:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(NUM_NODES, 6, generator=generator)
    degree = graph.in_degrees().float()
    index = torch.arange(0, NUM_NODES, 2)
    return GraphBatch(
        [graph],
        x,
        torch.arange(NUM_NODES),
        degree,
        index,
        torch.rand(len(index), generator=generator),
        torch.randn(NUM_NODES, 3, generator=generator),
    )


def outputs_and_gradients(name: str, backend: str, device: str = "cpu") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One forward and backward of network ``name`` on ``backend``'s kernels, results on CPU (no
    gradients for a network without parameters)."""
    torch.manual_seed(0)
    net = networks()[name]().to(device)
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    graph = random_graph().with_backend(backend).to(device)  # type: ignore[arg-type]
    batch = batch_on(graph).to(device)
    out = net(graph, batch.x) if isinstance(net, PreGAT) else split_outputs(net(batch))[0]
    if out.requires_grad:
        (out * torch.linspace(-1, 1, out.numel(), device=device).view_as(out)).sum().backward()
    grads = {k: p.grad.detach().cpu() for k, p in net.named_parameters() if p.grad is not None}
    return out.detach().cpu(), grads


def agreement(device: str) -> dict[str, Any]:
    """Per network, the largest absolute difference of outputs and gradients from the reference."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    reference = "dgl" if dgl_importable() else "torch"
    results = {}
    for name in networks():
        out_ref, grads_ref = outputs_and_gradients(name, reference)
        out, grads = outputs_and_gradients(name, "torch", device)
        pairs = [(out, out_ref)] + [(grads[k], grads_ref[k]) for k in grads_ref if k in grads]
        worst = max(float((a - b).abs().max()) for a, b in pairs)
        close = all(torch.allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE) for a, b in pairs)
        same_keys = grads.keys() == grads_ref.keys()
        results[name] = {"max_abs_difference": worst, "within_tolerance": close, "same_parameters": same_keys}
    agree = all(r["within_tolerance"] and r["same_parameters"] for r in results.values())
    return {
        "device": device,
        "reference": f"{reference} kernels on cpu",
        "tolerance": TOLERANCE,
        "agree": agree,
        "networks": results,
    }
