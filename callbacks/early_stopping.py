"""Early stopping that ignores the first ``min_epochs`` epochs (the seed notes' ``min_epoch``)."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.callbacks import EarlyStopping


class MinEpochsEarlyStopping(EarlyStopping):
    """Lightning's ``EarlyStopping`` whose patience only starts counting at epoch ``min_epochs``.

    Unlike ``Trainer(min_epochs=...)``, noisy early epochs neither set the best score nor use up
    patience. Which checkpoint ``test`` scores is the checkpoint callback's best.

    The check runs when validation ends, before the checkpoint callback saves ``last.ckpt`` there, so
    the saved counters already include that validation: a run resumed from it never has to re-check an
    epoch whose metrics are gone. A stop decided before the save is honoured again on resume.
    """

    def __init__(
        self,
        monitor: str = "val/spearman",
        mode: str = "max",
        patience: int = 100,
        min_epochs: int = 0,
        min_delta: float = 0.0,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            monitor=monitor,
            mode=mode,
            patience=patience,
            min_delta=min_delta,
            verbose=verbose,
            check_on_train_epoch_end=False,
        )
        self.min_epochs = min_epochs

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch >= self.min_epochs:
            super().on_validation_end(trainer, pl_module)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stopped_epoch > 0:  # restored from a checkpoint saved after this callback said stop
            trainer.should_stop = True
