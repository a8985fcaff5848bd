"""Which share of the data this process owns under DDP (Lightning starts the processes)."""

from __future__ import annotations

from typing import Optional

import lightning.pytorch as pl


def process_share(trainer: Optional[pl.Trainer]) -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a distributed run."""
    if trainer is None or trainer.world_size <= 1:
        return 0, 1
    return trainer.global_rank, trainer.world_size
