"""The contract of non-learned baselines: estimated once from the training data, never stepped."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import lightning.pytorch as pl
from torch import nn


@runtime_checkable
class FitsOnTrainingData(Protocol):
    """A non-learned baseline: no trainable parameters; ``fit`` reads the training part of the data once,
    at the start of training (``BaseTask.on_fit_start``), through the datamodule's own accessors
    (``training_labels()`` for graphs, ``training_arrays()`` for series). ``Baseline`` below is the base
    class of the project's baselines; any network offering ``fit`` is fitted the same way."""

    def fit(self, datamodule: pl.LightningDataModule) -> None: ...


class Baseline(nn.Module):
    """A network without trainable parameters; the task calls ``fit`` once at the start of training.

    ``fit`` may read only the training part of the data, through the datamodule's own accessors
    (``training_labels()`` for graphs, ``training_arrays()`` for series).
    """

    def fit(self, datamodule: pl.LightningDataModule) -> None:
        """Record what the baseline needs from the training data (nothing by default)."""
