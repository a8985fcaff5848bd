"""Finding a run's directory and reading checkpoints for the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
import torch

from callbacks.checkpoint import HParamCheckpoint
from nie.core.errors import ConfigError


def read_checkpoint(path: str | Path, option: str, trusted: bool = False) -> dict[str, Any]:
    """A Lightning checkpoint's contents (tensors and plain data only, unless ``trusted``: a checkpoint
    being resumed, which Lightning itself unpickles whole, e.g. with a pre-training object among its data
    hyper-parameters); anything else is one clear error."""
    try:
        checkpoint = torch.load(path, weights_only=not trusted, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - torch raises pickle, zip and runtime errors for a non-checkpoint
        raise ConfigError(f"{option} {path}: not a PyTorch Lightning checkpoint ({type(err).__name__})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{option} {path}: not a PyTorch Lightning checkpoint (no state_dict)")
    return checkpoint


def run_dir(trainer: pl.Trainer, model: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> Path:
    """Where a run's checkpoints, config and metrics live (the named checkpoint directory)."""
    callback = trainer.checkpoint_callback
    if isinstance(callback, HParamCheckpoint):
        return callback.run_dir(model, datamodule)
    return Path(trainer.log_dir or trainer.default_root_dir)
