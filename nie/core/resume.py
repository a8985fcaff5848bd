"""What a resumed ``fit`` carries over besides Lightning's own state: the TensorBoard version folder.

Lightning restores the loops, optimiser and callbacks from a checkpoint but opens a new
``version_N`` for the logger, so a resumed run's curves would start again in another folder. The
checkpoint records its version (``BaseTask.on_save_checkpoint``) and the resumed run logs into it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.loggers import TensorBoardLogger

from nie.core.lightning_private import reuse_logger_version

LOGGER_VERSION = "tensorboard_version"


def tensorboard_logger(trainer: pl.Trainer) -> Optional[TensorBoardLogger]:
    return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)


def record_logger_version(trainer: pl.Trainer, checkpoint: dict[str, Any]) -> None:
    logger = tensorboard_logger(trainer)
    if logger is not None:
        checkpoint[LOGGER_VERSION] = logger.version


def continue_logger_version(trainer: pl.Trainer, checkpoint: dict[str, Any]) -> None:
    """Point the TensorBoard logger at the version folder the checkpoint's run logged to, when that
    folder is still there and the logger has neither a version of the user's nor a writer yet."""
    logger, version = tensorboard_logger(trainer), checkpoint.get(LOGGER_VERSION)
    if logger is None or version is None:
        return
    folder = version if isinstance(version, str) else f"version_{version}"
    if (Path(logger.root_dir) / folder).is_dir():
        reuse_logger_version(logger, version)
