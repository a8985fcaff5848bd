"""How many threads torch's CPU kernels use: every core the process may run on, unless the run says less."""

from __future__ import annotations

import os
from typing import Optional

import torch

from nie.core.errors import ConfigError


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (cpusets, taskset, SLURM narrow it; a CPU
    quota such as docker --cpus does not)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def set_threads(requested: Optional[int]) -> int:
    """Set torch's intra-op threads and return how many.

    ``None``: ``OMP_NUM_THREADS`` where set (torchrun sets 1 per process), else every available core.
    More threads than cores would only make them wait for each other, so that request stops the run.
    A number asked for is also put in ``OMP_NUM_THREADS``, which Lightning's own DDP launcher reads
    instead of dividing the cores among its processes.
    """
    cores = available_cores()
    if requested is None:
        from_env = os.environ.get("OMP_NUM_THREADS", "")
        requested = int(from_env) if from_env.isdigit() and int(from_env) > 0 else cores
        requested = min(requested, cores)
    elif requested < 1 or requested > cores:
        raise ConfigError(
            f"threads: {requested}, but this process may use {cores} core(s): set threads between 1 and {cores}, "
            "or null for all of them"
        )
    else:
        os.environ["OMP_NUM_THREADS"] = str(requested)
    if torch.get_num_threads() != requested:
        torch.set_num_threads(requested)
    return requested
