"""Every private Lightning (and TensorBoard writer) API the project relies on, in one place.

Each is used because no public API does the job (named at each function). ``PRIVATE_APIS`` lists
them, and ``tests/test_lightning_private.py`` fails when an installed Lightning no longer has one,
so moving the ``lightning`` pin is a test run, not an audit.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

# (owner, attribute): the private names used here and the LightningCLI hook nie.cli overrides
PRIVATE_APIS: tuple[tuple[str, str], ...] = (
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_should_skip_saving_checkpoint"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_save_last_checkpoint"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_monitor_candidates"),
    ("lightning.pytorch.callbacks.ModelCheckpoint", "_last_global_step_saved"),
    ("lightning.pytorch.loggers.TensorBoardLogger", "_version"),
    ("lightning.pytorch.loggers.TensorBoardLogger", "_experiment"),
    ("lightning.pytorch.loggers.TensorBoardLogger", "_sanitize_params"),
    ("lightning.fabric.utilities.logger", "_convert_params"),
    ("lightning.fabric.utilities.logger", "_flatten_dict"),
    ("torch.utils.tensorboard.SummaryWriter", "_get_file_writer"),
    ("lightning.pytorch.cli.LightningCLI", "_parse_ckpt_path"),
)


def refresh_last_checkpoint(callback: ModelCheckpoint, trainer: pl.Trainer) -> None:
    """Save ``last.ckpt`` now unless this step saved it already. Lightning refreshes it at validation
    only when a top-k checkpoint was saved in the same step; resuming after a kill needs the latest."""
    if (
        callback.save_last
        and not callback._should_skip_saving_checkpoint(trainer)
        and callback._last_global_step_saved != trainer.global_step
    ):
        callback._save_last_checkpoint(trainer, callback._monitor_candidates(trainer))


def reuse_logger_version(logger: TensorBoardLogger, version: int | str) -> bool:
    """Make ``logger`` write into ``version`` if it has neither a version of the user's nor a writer yet
    (the constructor's ``version`` is fixed before the checkpoint to resume is known). True if it will."""
    if logger._version is not None or logger._experiment is not None:
        return False
    logger._version = version
    return True


def write_hparams_summary(logger: TensorBoardLogger, params: dict[str, Any], metric_names: list[str]) -> None:
    """An HParams-tab entry whose metrics TensorBoard reads from scalars logged later under those names.
    ``log_hyperparams(params, metrics)`` would also plot each metric's placeholder at step 0."""
    from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
    from torch.utils.tensorboard.summary import hparams

    flat = logger._sanitize_params(_flatten_dict(_convert_params(params)))
    writer = logger.experiment._get_file_writer()
    for summary in hparams(flat, dict.fromkeys(metric_names, 0.0)):  # type: ignore[no-untyped-call]
        writer.add_summary(summary)
