"""What a resumed ``fit`` carries over besides Lightning's own state: the random generators' states and
the TensorBoard version folder (``ResumeState``).

Lightning restores the loops, optimiser and callbacks from a checkpoint but neither the generators (so a
resumed run would draw other dropout masks and batches than the run it continues) nor the logger's folder
(it opens a new ``version_N``, so the curves would start again elsewhere). Both are kept at the
checkpoint's top level (``rng_states``, ``tensorboard_version``): the version is read before the trainer
exists (``continue_logger_version``), and checkpoints written before this callback resume the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.loggers import TensorBoardLogger
from typing_extensions import override

from nie.core.checkpoint_io import rng_states, set_rng_states
from nie.core.lightning_private import reuse_logger_version

LOGGER_VERSION = "tensorboard_version"
RNG_STATES = "rng_states"


def tensorboard_logger(trainer: pl.Trainer) -> Optional[TensorBoardLogger]:
    return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)


def continue_logger_version(trainer: pl.Trainer, checkpoint: dict[str, Any]) -> None:
    """Point the TensorBoard logger at the version folder the checkpoint's run logged to, when that
    folder is still there and the logger has neither a version of the user's nor a writer yet."""
    logger, version = tensorboard_logger(trainer), checkpoint.get(LOGGER_VERSION)
    if logger is None or version is None:
        return
    folder = version if isinstance(version, str) else f"version_{version}"
    if (Path(logger.root_dir) / folder).is_dir():
        reuse_logger_version(logger, version)


class ResumeState(pl.Callback):
    """Saves the generators' states and the TensorBoard version with every checkpoint; a resumed ``fit``
    restores the generators once the sanity check is over (its dataloaders draw seeds), as training starts."""

    def __init__(self) -> None:
        self.resumed: Optional[dict[str, Any]] = None

    @override
    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RNG_STATES] = rng_states()
        logger = tensorboard_logger(trainer)
        if logger is not None:
            checkpoint[LOGGER_VERSION] = logger.version

    @override
    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.resumed = checkpoint.get(RNG_STATES)

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        states, self.resumed = self.resumed, None
        if states is not None:
            set_rng_states(states)
