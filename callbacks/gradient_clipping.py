"""Gradient clipping as a callback that also logs the pre-clip gradient norm."""

from __future__ import annotations

from typing import Optional

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from nie.core.errors import ConfigError


class GradientNormClipping(Callback):
    """Clip the total gradient norm to ``max_norm`` (``None``, the default: only log) and log it as ``train/grad_norm``.

    The logged value is the norm *before* clipping, so exploding gradients show in TensorBoard.
    """

    def __init__(self, max_norm: Optional[float] = None, norm_type: float = 2.0) -> None:
        if max_norm is not None and max_norm <= 0:
            raise ConfigError(f"GradientNormClipping.max_norm must be positive or null, got {max_norm}")
        self.max_norm = max_norm
        self.norm_type = norm_type

    @override
    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not params:
            return
        limit = float("inf") if self.max_norm is None else self.max_norm
        norm = torch.nn.utils.clip_grad_norm_(params, limit, norm_type=self.norm_type)
        # one point per epoch, the mean over its optimiser steps (each step counts once, whatever its batch)
        pl_module.log("train/grad_norm", norm, on_step=False, on_epoch=True, prog_bar=False, batch_size=1)
