"""Helpers both datamodules share."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, TypeVar

import lightning.pytorch as pl
from typing_extensions import override

T = TypeVar("T")


def dataset_name(explicit: Optional[str], path: Optional[str], fallback: str) -> str:
    """The name run directories use: the configured one, else the data file's or folder's stem."""
    return explicit or Path(path or fallback).name.split(".")[0]


def already_batched(batch: T) -> T:
    """``collate_fn`` for datasets whose items are whole batches (a full graph, a ``__getitems__`` batch)."""
    return batch


class StagedDataModule(pl.LightningDataModule):
    """Lightning's four dataloaders as one ``_loader(stage)``; ``predict`` reads ``predict_stage``."""

    predict_stage = "predict"

    def _loader(self, stage: str) -> Any:
        raise NotImplementedError

    @override
    def train_dataloader(self) -> Any:
        return self._loader("train")

    @override
    def val_dataloader(self) -> Any:
        return self._loader("val")

    @override
    def test_dataloader(self) -> Any:
        return self._loader("test")

    @override
    def predict_dataloader(self) -> Any:
        return self._loader(self.predict_stage)
