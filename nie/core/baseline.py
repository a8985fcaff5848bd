"""The contract of non-learned baselines: estimated once from the training data, never stepped."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import lightning.pytorch as pl
from torch import nn
from typing_extensions import override

from nie.core.task_checkpoints import CheckpointedTask


@runtime_checkable
class FitsOnTrainingData(Protocol):
    """A non-learned baseline: no trainable parameters; ``fit`` reads the training part of the data once,
    before it is first evaluated (``FitsBaselines``), through the datamodule's own accessors
    (``training_labels()`` for graphs, ``training_arrays()`` for series). ``Baseline`` below is the base
    class of the project's baselines; any network offering ``fit`` is fitted the same way. A network without
    trainable parameters that offers no ``fit`` is refused when the task builds it."""

    def fit(self, datamodule: pl.LightningDataModule) -> None: ...


class Baseline(nn.Module):
    """A network without trainable parameters; the task calls ``fit`` once before it is first evaluated.

    ``fit`` may read only the training part of the data, through the datamodule's own accessors
    (``training_labels()`` for graphs, ``training_arrays()`` for series).
    """

    def fit(self, datamodule: pl.LightningDataModule) -> None:
        """Record what the baseline needs from the training data (nothing by default)."""


class FitsBaselines(CheckpointedTask):
    """The task's side: a network without trainable parameters that offers ``fit`` is fitted once, at the start
    of training, or of validation or test without a checkpoint (a checkpoint's state holds the fit already)."""

    baseline_fitted = False

    @property
    def trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    @override
    def on_fit_start(self) -> None:
        self.fit_baseline()

    @override
    def on_validation_start(self) -> None:
        if self.trainer.ckpt_path is None:
            self.fit_baseline()

    @override
    def on_test_start(self) -> None:
        self.on_validation_start()

    def fit_baseline(self) -> None:
        """Fit a non-learned baseline on the training data, once, before it is evaluated."""
        network, datamodule = getattr(self, "network", None), self.datamodule
        if self.baseline_fitted or self.trainable or datamodule is None:
            return
        if isinstance(network, FitsOnTrainingData):
            network.fit(datamodule)
            self.baseline_fitted = True
