"""One seed for every random number generator the project touches."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

try:  # graphs need DGL; power forecasting runs without it
    import dgl
except ImportError:
    dgl = None


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy, torch (CUDA too), dataloader workers and DGL; turn on deterministic kernels."""
    pl.seed_everything(seed, workers=True, verbose=False)
    if dgl is not None:
        dgl.seed(seed)
        dgl.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return seed
