"""The base task: optimiser, per-stage metric collections and HParams logging.

Subclasses implement ``build()`` (create networks once the data's sizes are known), ``make_metrics()``,
``default_monitor``, and what the shared steps need of a batch: ``training_terms``, ``batch_size``,
``evaluate`` (and optionally ``validation_figures``) and ``predict_step``; everything else is shared.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Optional

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_only
from matplotlib.figure import Figure
from torchmetrics import MetricCollection

from nie.core.baseline import Baseline
from nie.core.checkpoint_io import rng_states, set_rng_states
from nie.core.errors import ConfigError, RunFolderError
from nie.core.naming import factory_hparams, run_values
from nie.core.resume import record_logger_version
from nie.core.run_settings import CHECKPOINT_KEY, differences, recorded_settings
from nie.core.tensorboard import write_hparams_summary

VALIDATION_SCHEDULE = "check_val_every_n_epoch"
OptimizerName = Literal["adam", "adamw", "sgd"]
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def check_same_model(
    saved_task: str | None, saved_network: str | None, task: str, network: str, source: str = "the checkpoint"
) -> None:
    """Refuse a checkpoint of another task or network before its weights or hyper-parameters are used."""
    if saved_network is not None and (saved_network, saved_task or task) != (network, task):
        raise ConfigError(
            f"{source} holds a {saved_task or 'model'} with network {saved_network!r}, "
            f"but the config builds a {task} with network {network!r}"
        )


@rank_zero_only  # other processes' loggers hold no writer
def declare_hparams(logger: TensorBoardLogger, params: dict[str, Any], metric_names: list[str]) -> None:
    """An HParams-tab entry whose metrics TensorBoard reads from scalars logged later under those names.

    ``log_hyperparams(params, metrics)`` would also plot each metric's placeholder value at step 0,
    so every validation curve would start at 0.0.
    """
    logger.log_hyperparams(params)  # hparams.yaml
    write_hparams_summary(logger, params, metric_names)


class BaseTask(pl.LightningModule):
    """Shared training plumbing: optimiser, metrics per stage, baselines' fit, checkpoint state.

    Subclasses save their own hyper-parameters (``lr``, ``weight_decay``, ``optimizer`` at least)."""

    headline_metrics: tuple[str, ...] = ()  # shown beside the hyper-parameters in TensorBoard's HParams tab

    def __init__(self) -> None:
        super().__init__()
        self.built = False
        self._val_outputs: list[dict[str, torch.Tensor]] = []  # this epoch's, for the validation figure
        self._validations = 0  # checks finished in this process (the figure schedule)
        # a checkpoint whose weights start the training (a backtest's fine-tune); set before fit
        self.warm_start: Optional[str] = None

    @property
    def datamodule(self) -> Any:
        """The trainer's datamodule (Lightning attaches ``trainer.datamodule`` at run time; its class does
        not declare it); each task narrows it to the protocol of its job's data."""
        return getattr(self.trainer, "datamodule", None)

    # hooks for subclasses --------------------------------------------------
    @classmethod
    def default_monitor(cls, init_args: Mapping[str, Any]) -> tuple[str, Literal["min", "max"]]:
        """The validation score (and its better direction) that picks checkpoints and stops training when
        the config names none, from the task's constructor arguments (``init_args``)."""
        raise NotImplementedError

    def build(self) -> None:
        """Create the networks (the datamodule is set up by now)."""
        raise NotImplementedError

    def make_metrics(self) -> MetricCollection:
        raise NotImplementedError

    # shared plumbing -------------------------------------------------------
    def configure_model(self) -> None:
        if self.built:
            return
        self.build()
        if self.warm_start is not None:
            self._load_weights(self.warm_start)
        metrics = self.make_metrics()
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.built = True

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

    def configure_optimizers(self) -> torch.optim.Optimizer | None:
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:  # non-learned baselines: fit only records what they need
            return None
        hparams = self.hparams
        optimizer: torch.optim.Optimizer = OPTIMIZERS[hparams["optimizer"]](
            params, lr=hparams["lr"], weight_decay=hparams["weight_decay"]
        )
        return optimizer

    @property
    def trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def on_fit_start(self) -> None:
        """Fit non-learned baselines on the training data; log hyper-parameters for the HParams tab."""
        network, datamodule = getattr(self, "network", None), self.datamodule
        if not self.trainable and isinstance(network, Baseline) and datamodule is not None:
            network.fit(datamodule)
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                params = {**self.hparams, **self.run_name_values()}
                datamodule = self.datamodule
                if datamodule is not None:
                    params.update({f"data/{k}": v for k, v in datamodule.hparams.items()})
                declare_hparams(logger, params, [f"best_val/{k}" for k in self.headline_metrics])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the random generators' states and the TensorBoard version, so a run resumed from this checkpoint
        continues identically and in the same curves."""
        checkpoint["rng_states"] = rng_states()
        checkpoint["task"] = type(self).__name__
        checkpoint["network_name"] = self.run_name_values()["network"]
        record_logger_version(self.trainer, checkpoint)
        checkpoint[VALIDATION_SCHEDULE] = self.trainer.check_val_every_n_epoch

    def run_name_values(self) -> dict[str, Any]:
        """Values that may name a run directory: the network's short name and its arguments."""
        return factory_hparams(getattr(self, "network_factory", None), set(self.hparams))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse, before its weights are loaded, a checkpoint of another task or network, one made with
        other settings than the config's (those its run directory recorded: transform, quantile levels,
        features, network shape, seed, ...), or a resume on another validation schedule (its epoch
        bookkeeping would retrain an epoch)."""
        check_same_model(
            checkpoint.get("task"),
            checkpoint.get("network_name"),
            type(self).__name__,
            self.run_name_values()["network"],
        )
        saved = checkpoint.get(CHECKPOINT_KEY)
        datamodule = self.datamodule
        changed = differences(saved, recorded_settings(run_values(self, datamodule), ())) if saved else []
        if changed:
            raise RunFolderError(
                f"the checkpoint was made with other settings than the config's ({'; '.join(changed)})"
            )
        every = checkpoint.get(VALIDATION_SCHEDULE)
        if self.trainer.state.fn == TrainerFn.FITTING and every not in (None, self.trainer.check_val_every_n_epoch):
            raise ConfigError(
                f"resuming a run that validated every {every} epochs with trainer.check_val_every_n_epoch="
                f"{self.trainer.check_val_every_n_epoch}: resume with {every}, or start afresh"
            )
        self._resumed_rng_states = checkpoint.get("rng_states")

    def on_train_start(self) -> None:
        """Restore the generators after the sanity check (its dataloaders draw seeds), as training resumes."""
        states, self._resumed_rng_states = getattr(self, "_resumed_rng_states", None), None
        if states is not None:
            set_rng_states(states)

    def _log_epoch_metrics(self, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        values = metrics.compute()
        metrics.reset()
        self.log_dict(values, sync_dist=False)  # torchmetrics already gathered across processes
        return values

    # the steps, shared: subclasses say what a batch's loss terms, size and evaluation are ----------
    def training_terms(self, batch: Any) -> dict[str, torch.Tensor]:
        """The batch's loss (key ``loss``, the one optimised) and any terms worth a curve of their own."""
        raise NotImplementedError

    def batch_size(self, batch: Any) -> int:
        """How many items the batch's loss averages over (the weight of its logged value)."""
        raise NotImplementedError

    def evaluate(self, batch: Any, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """Update ``metrics`` with the batch's predictions; returns what a validation figure needs of it."""
        raise NotImplementedError

    def validation_figures(self, outputs: list[dict[str, torch.Tensor]]) -> list[tuple[str, Figure]]:
        """Figures of the epoch's validation outputs with their TensorBoard tags (default: none)."""
        return []

    def draws_figures(self) -> bool:
        return True

    def figure_every(self) -> int:
        """Validation checks per figure (the first check draws one): a figure can cost more than
        a full-batch training step."""
        return 1

    def training_step(self, batch: Any, batch_idx: int) -> Optional[torch.Tensor]:
        if not self.trainable:  # non-learned baselines were fit in on_fit_start
            return None
        terms = self.training_terms(batch)
        for name, value in terms.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=self.batch_size(batch))
        return terms["loss"]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        outputs = self.evaluate(batch, self.val_metrics)
        if self.figure_logger() is not None:  # under DDP: rank zero's shard of the validation data
            self._val_outputs.append({k: v.detach().cpu() for k, v in outputs.items()})

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.evaluate(batch, self.test_metrics)

    def figure_logger(self) -> Optional[TensorBoardLogger]:
        """Where a validation figure goes: rank zero's TensorBoard, outside the sanity check."""
        if not self.draws_figures() or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return None
        if self._validations % self.figure_every():
            return None
        return next((lg for lg in self.loggers if isinstance(lg, TensorBoardLogger)), None)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics(self.val_metrics)
        outputs, self._val_outputs = self._val_outputs, []
        logger = self.figure_logger()
        if logger is not None and outputs:
            for tag, figure in self.validation_figures(outputs):
                # step = epoch: the scalars' step too when an epoch is one optimiser step (full-batch graphs)
                logger.experiment.add_figure(tag, figure, self.current_epoch)  # closes the figure
        if not self.trainer.sanity_checking:
            self._validations += 1

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics(self.test_metrics)
