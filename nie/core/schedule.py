"""Refuse a training schedule that never validates: its checkpoint would have no best to test."""

from __future__ import annotations

import lightning.pytorch as pl

from nie.core.errors import ConfigError


def check_schedule_validates(trainer: pl.Trainer) -> None:
    """One line before training when ``max_epochs`` ends before the first validation epoch, instead of
    Lightning's traceback when ``test(ckpt_path="best")`` finds no best checkpoint after the training."""
    every, epochs = trainer.check_val_every_n_epoch, trainer.max_epochs
    if not isinstance(every, int) or epochs is None or epochs < 0 or trainer.limit_val_batches == 0:
        return
    if epochs < every:
        raise ConfigError(
            f"trainer.max_epochs={epochs} ends before the first validation (trainer.check_val_every_n_epoch="
            f"{every}): no checkpoint would be chosen; raise max_epochs to at least {every} or validate more often"
        )
