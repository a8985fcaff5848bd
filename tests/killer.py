"""A test-only callback that kills its own process at the start of a chosen epoch."""

from __future__ import annotations

import os
import signal

import lightning.pytorch as pl


class KillAtEpoch(pl.Callback):
    def __init__(self, epoch: int, signal_name: str = "SIGKILL") -> None:
        self.epoch, self.signal = epoch, getattr(signal, signal_name)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), self.signal)
