"""Helpers both datamodules share."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, TypeVar

T = TypeVar("T")


def dataset_name(explicit: Optional[str], path: Optional[str], fallback: str) -> str:
    """The name run directories use: the configured one, else the data file's or folder's stem."""
    return explicit or Path(path or fallback).name.split(".")[0]


def already_batched(batch: T) -> T:
    """``collate_fn`` for datasets whose items are whole batches (a full graph, a ``__getitems__`` batch)."""
    return batch
