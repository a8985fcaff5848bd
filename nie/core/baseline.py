"""The contract of non-learned baselines: estimated once from the training data, never stepped."""

from __future__ import annotations

import lightning.pytorch as pl
from torch import nn


class Baseline(nn.Module):
    """A network without trainable parameters; the task calls ``fit`` once at the start of training.

    ``fit`` may read only the training part of the data, through the datamodule's own accessors
    (``training_labels()`` for graphs, ``training_arrays()`` for series).
    """

    def fit(self, datamodule: pl.LightningDataModule) -> None:
        """Record what the baseline needs from the training data (nothing by default)."""
