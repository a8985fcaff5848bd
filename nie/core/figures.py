"""Validation figures in TensorBoard, drawn by a callback from the outputs of the task's validation steps.

A task that draws implements ``DrawsValidationFigures`` (which figures), and may implement ``SchedulesFigures``:
whether it draws, and how often (a figure can cost more than a full-batch training step).
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, runtime_checkable

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from typing_extensions import override

from nie.core.resume import tensorboard_logger


@runtime_checkable
class DrawsValidationFigures(Protocol):
    """A task that draws figures of its validation outputs (``BaseTask.validation_step`` returns them)."""

    def validation_figures(self, outputs: list[dict[str, torch.Tensor]]) -> list[tuple[str, Figure]]:
        """Figures of the epoch's validation outputs, with their TensorBoard tags."""
        ...


@runtime_checkable
class SchedulesFigures(Protocol):
    """Optional: whether a task draws at all, and every how many validation checks (default: always, each)."""

    def draws_figures(self) -> bool: ...

    def figure_every(self) -> int: ...


class ValidationFigures(pl.Callback):
    """Keeps the validation steps' outputs (detached, on the CPU) of a check that draws, and draws its
    figures at the check's end; under DDP rank zero draws its shard of the validation data."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, torch.Tensor]] = []
        self.checks = 0  # validation checks finished in this process, outside the sanity check

    def logger(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Optional[TensorBoardLogger]:
        """Where this check's figures go: rank zero's TensorBoard, when the task draws on this check."""
        draws, every = (
            (pl_module.draws_figures(), pl_module.figure_every())
            if isinstance(pl_module, SchedulesFigures)
            else (True, 1)
        )
        if not draws or not isinstance(pl_module, DrawsValidationFigures):
            return None
        if trainer.sanity_checking or not trainer.is_global_zero or self.checks % every:
            return None
        return tensorboard_logger(trainer)

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if isinstance(outputs, dict) and self.logger(trainer, pl_module) is not None:
            self.outputs.append({k: v.detach().cpu() for k, v in outputs.items()})

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        outputs, self.outputs = self.outputs, []
        logger = self.logger(trainer, pl_module)
        if logger is not None and outputs and isinstance(pl_module, DrawsValidationFigures):
            for tag, figure in pl_module.validation_figures(outputs):
                # step = epoch: the scalars' step too when an epoch is one optimiser step (full-batch graphs)
                logger.experiment.add_figure(tag, figure, pl_module.current_epoch)  # closes the figure
        if not trainer.sanity_checking:
            self.checks += 1
