"""What a task's checkpoints carry and must match: the task, network, recorded settings and validation
schedule (refused, before any weight is loaded, when they differ), and a warm start from another run's weights."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.trainer.states import TrainerFn
from typing_extensions import override

from nie.core.errors import ConfigError, RunFolderError
from nie.core.naming import factory_hparams, run_values
from nie.core.run_settings import CHECKPOINT_KEY, check_same_model, differences, recorded_settings

VALIDATION_SCHEDULE = "check_val_every_n_epoch"


class CheckpointedTask(pl.LightningModule):
    """The checkpoint hooks of ``BaseTask``."""

    @property
    def datamodule(self) -> Any:
        """The trainer's datamodule (Lightning sets ``trainer.datamodule`` at run time); each task narrows it."""
        return getattr(self.trainer, "datamodule", None)

    def run_name_values(self) -> dict[str, Any]:
        """Values that may name a run directory: the network's short name and its arguments."""
        return factory_hparams(getattr(self, "network_factory", None), set(self.hparams))

    @override
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["task"] = type(self).__name__
        checkpoint["network_name"] = self.run_name_values()["network"]
        checkpoint[VALIDATION_SCHEDULE] = self.trainer.check_val_every_n_epoch

    @override
    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another task or network, one made with other settings than the config's
        (those its run directory recorded), or a resume on another validation schedule (its epoch
        bookkeeping would retrain an epoch)."""
        task, network = type(self).__name__, self.run_name_values()["network"]
        check_same_model(checkpoint.get("task"), checkpoint.get("network_name"), task, network)
        saved = checkpoint.get(CHECKPOINT_KEY)
        changed = differences(saved, recorded_settings(run_values(self, self.datamodule), ())) if saved else []
        if changed:
            raise RunFolderError(
                f"the checkpoint was made with other settings than the config's ({'; '.join(changed)})"
            )
        every, now = checkpoint.get(VALIDATION_SCHEDULE), self.trainer.check_val_every_n_epoch
        if self.trainer.state.fn == TrainerFn.FITTING and every not in (None, now):
            raise ConfigError(
                f"resuming a run that validated every {every} epochs with trainer.check_val_every_n_epoch="
                f"{now}: resume with {every}, or start afresh"
            )

    def _load_weights(self, path: str) -> None:
        """Start from another run's weights (not its optimiser, epochs or callbacks): the same network."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        except Exception as err:  # noqa: BLE001 - torch raises pickle, zip and runtime errors for a non-checkpoint
            raise ConfigError(f"{path}: not a checkpoint whose weights load safely ({type(err).__name__})") from None
        missing, unexpected = self.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ConfigError(
                f"{path}: its weights do not fit this network (missing {missing}, unexpected {unexpected})"
            )
