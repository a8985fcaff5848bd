"""Early stopping that ignores the first ``min_epochs`` epochs (the seed notes' ``min_epoch``)."""

from __future__ import annotations

from typing import Literal, Optional

import lightning.pytorch as pl
from lightning.pytorch.callbacks import EarlyStopping
from typing_extensions import override

from nie.core.errors import ConfigError


class MinEpochsEarlyStopping(EarlyStopping):
    """Lightning's ``EarlyStopping`` whose patience only starts counting at epoch ``min_epochs``.

    Unlike ``Trainer(min_epochs=...)``, noisy early epochs neither set the best score nor use up
    patience. Which checkpoint ``test`` scores is the checkpoint callback's best.

    ``monitor``/``mode`` default to the task's (filled by the command line); ``patience: null`` (the
    default) never stops, so a config without early stopping trains for ``max_epochs``.

    The check runs when validation ends, before the checkpoint callback saves ``last.ckpt`` there, so
    the saved counters already include that validation: a run resumed from it never has to re-check an
    epoch whose metrics are gone. A stop decided before the save is honoured again on resume.
    """

    def __init__(
        self,
        monitor: Optional[str] = None,
        mode: Optional[Literal["min", "max"]] = None,
        patience: Optional[int] = None,
        min_epochs: int = 0,
        min_delta: float = 0.0,
        verbose: bool = False,
    ) -> None:
        if monitor is None or mode is None:
            raise ConfigError(
                "MinEpochsEarlyStopping needs monitor and mode (the command line fills them from the task's default)"
            )
        if patience is not None and patience < 1:
            raise ConfigError(f"early_stopping.patience must be at least 1 or null (never stop), got {patience}")
        super().__init__(
            monitor=monitor,
            mode=mode,
            patience=patience if patience is not None else 1,
            min_delta=min_delta,
            verbose=verbose,
            check_on_train_epoch_end=False,
        )
        self.min_epochs = min_epochs
        self.enabled = patience is not None

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.enabled and trainer.current_epoch >= self.min_epochs:
            super().on_validation_end(trainer, pl_module)

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stopped_epoch > 0:  # restored from a checkpoint saved after this callback said stop
            trainer.should_stop = True
