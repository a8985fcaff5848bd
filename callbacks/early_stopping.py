"""Early stopping that ignores the first ``min_epochs`` epochs (the seed notes' ``min_epoch``)."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.callbacks import EarlyStopping


class MinEpochsEarlyStopping(EarlyStopping):
    """Lightning's ``EarlyStopping`` whose patience only starts counting at epoch ``min_epochs``.

    Unlike ``Trainer(min_epochs=...)``, noisy early epochs neither set the best score nor use up
    patience. Which checkpoint ``test`` scores is the checkpoint callback's best.
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
        super().__init__(monitor=monitor, mode=mode, patience=patience, min_delta=min_delta, verbose=verbose)
        self.min_epochs = min_epochs

    def _warming_up(self, trainer: pl.Trainer) -> bool:
        return trainer.current_epoch < self.min_epochs

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._warming_up(trainer):
            super().on_validation_end(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._warming_up(trainer):
            super().on_train_epoch_end(trainer, pl_module)
