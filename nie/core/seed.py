"""One seed for every random number generator the project touches."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Iterator

import lightning.pytorch as pl
import numpy as np
import torch

try:  # graphs need DGL; power forecasting runs without it
    import dgl
except ImportError:
    dgl = None


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy, torch (CUDA too), dataloader workers and DGL; turn on deterministic kernels."""
    pl.seed_everything(seed, workers=True, verbose=False)
    _seed_dgl(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def _seed_dgl(seed: int) -> None:
    if dgl is not None:
        dgl.seed(seed)
        dgl.random.seed(seed)


@contextlib.contextmanager
def isolated_rng() -> Iterator[None]:
    """Run a self-seeded side computation (features that are cached) without moving the run's generators.

    Python, NumPy and torch (CPU) states are restored afterwards; DGL's cannot be read, so it is
    re-seeded with the run's seed. A run then draws the same numbers (weights, dropout) whether the
    computation ran or its result came from the cache.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        run_seed = os.environ.get("PL_GLOBAL_SEED")
        if run_seed is not None:
            _seed_dgl(int(run_seed))
