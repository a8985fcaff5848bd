"""One seed for every random number generator the project touches.

DGL is seeded without being imported here: power forecasting never loads it. ``seed_everything``
seeds DGL when it is already loaded, and the graph code imports DGL through ``import_dgl``, which
seeds it on its first import with the run's seed. DGL's generator cannot have moved before it was
loaded, so a run draws the same numbers as if DGL had been seeded together with the others.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import sys
from types import ModuleType
from typing import Iterator

import lightning.pytorch as pl
import numpy as np
import torch


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy, torch (CUDA too), dataloader workers and DGL (if loaded); turn on deterministic kernels."""
    pl.seed_everything(seed, workers=True, verbose=False)  # the run's seed, in PL_GLOBAL_SEED
    _seed_dgl()
    torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def import_dgl() -> ModuleType:
    """``import dgl``, seeded with the run's seed (``seed_everything``'s) when this is its first import.

    Raises whatever the import raises (``ImportError``, or anything from a broken install).
    """
    first = sys.modules.get("dgl") is None
    dgl = importlib.import_module("dgl")
    if first:
        _seed_dgl()
    return dgl


def _seed_dgl() -> None:
    """Seed DGL's generators with the run's seed (``PL_GLOBAL_SEED``) if DGL is loaded in this process and a run
    seed is set; never import it."""
    dgl = sys.modules.get("dgl")
    run_seed = os.environ.get("PL_GLOBAL_SEED")
    if dgl is not None and run_seed is not None:
        # DGL seeds each thread's generator with seed + a number handed out in the order threads first
        # touch a generator, so seeding from every thread at once numbers them (and sets their draws) by
        # scheduling. Growing the team one thread at a time gives the calling thread 0, the next 1, ...
        threads = dgl.utils.get_num_threads()
        for team in range(1, threads + 1):
            dgl.utils.set_num_threads(team)
            dgl.seed(int(run_seed))


@contextlib.contextmanager
def isolated_rng() -> Iterator[None]:
    """Run a self-seeded side computation (features that are cached) without moving the run's generators.

    Python, NumPy and torch (CPU) states are restored afterwards; DGL's cannot be read, so it is
    re-seeded with the run's seed (if loaded). A run then draws the same numbers (weights, dropout)
    whether the computation ran or its result came from the cache.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        _seed_dgl()
