"""Which kernels a run uses: whether DGL is there and works on the device, and the ``data.backend`` choice."""

from __future__ import annotations

from typing import Literal

import torch

from nie.core.errors import ConfigError
from nie.core.seed import import_dgl
from nie.importance.kernels.graph import KernelBackend

Backend = Literal["auto", "dgl", "torch"]  # what a config asks for (``data.backend``)
DGL_INSTALL = "pip install dgl==2.1.0 (CPU), or a CUDA build: pip install dgl==2.1.0 -f https://data.dgl.ai/wheels/cu121/repo.html"


def dgl_importable() -> bool:
    """Whether DGL imports here (importing it, seeded with the run's seed, if it does)."""
    try:
        import_dgl()
        return True
    except Exception:  # noqa: BLE001 - a broken DGL install (e.g. a torch it was not built for) raises anything
        return False


def dgl_supports(device: torch.device) -> bool:
    """Whether the installed DGL can build a graph on ``device`` (the PyPI build is CPU-only)."""
    if not dgl_importable():
        return False
    if device.type == "cpu":
        return True
    dgl = import_dgl()
    try:
        dgl.graph(([0], [1])).to(device)
        return True
    except Exception:  # noqa: BLE001 - DGL raises its own error types for a CPU-only build
        return False


def resolve_backend(requested: Backend, device: torch.device, sampled: bool = False) -> KernelBackend:
    """The backend a run's full graph uses on ``device``; ``dgl`` where it cannot work stops with one line.

    ``auto`` is torch for full-batch runs: on CPU its kernels are as fast as DGL's or faster for
    every network (``bench/nie_epoch.py``, BENCHMARKS.md) and need no DGL build for the device.
    Sampled runs take their blocks from DGL's sampler, so ``auto`` keeps them on DGL.
    """
    if requested == "torch" or (requested == "auto" and not sampled):
        return "torch"
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
