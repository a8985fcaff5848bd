"""The HParams-tab entry of a run (``HParamsEntry``), written through TensorBoard's public summary API.

Flattened and made loggable as Lightning's ``TensorBoardLogger.log_hyperparams`` does, so the tab shows
the same names and values, without its private helpers.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from typing_extensions import override

from nie.core.task import BaseTask


def flat_params(params: Mapping[Any, Any], parent: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a/b": 1}``; a list of mappings indexed (``a/0/b``), an empty one dropped."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{parent}/{key}" if parent else str(key)
        if is_dataclass(value) and not isinstance(value, type):
            value = asdict(value)
        elif isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, Mapping):
            flat.update(flat_params(value, name))
        elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                flat.update(flat_params(item, f"{name}/{i}"))
        else:
            flat[name] = loggable(value)
    return flat


def loggable(value: Any) -> Any:
    """A value TensorBoard's HParams summary takes: a number, string, bool or tensor; anything else as text."""
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()
    if type(value) not in (bool, int, float, str, Tensor) or getattr(value, "ndim", 0) > 1:
        return str(value)
    return value


@rank_zero_only  # other processes' loggers hold no writer
def declare_hparams(logger: TensorBoardLogger, params: dict[str, Any], metric_names: list[str]) -> None:
    """``hparams.yaml`` (the public ``log_hyperparams``) and an HParams-tab entry whose metrics TensorBoard reads
    from scalars logged later under those names (``log_hyperparams(params, metrics)`` would also plot each
    metric's placeholder at step 0)."""
    from torch.utils.tensorboard.summary import hparams

    logger.log_hyperparams(params)
    writer = logger.experiment.file_writer  # set when the SummaryWriter opens
    for summary in hparams(flat_params(params), dict.fromkeys(metric_names, 0.0)):  # type: ignore[no-untyped-call]
        writer.add_summary(summary)


class HParamsEntry(pl.Callback):
    """At the start of a ``fit``, the task's hyper-parameters, run-name values and data settings in every
    TensorBoard logger's HParams tab, beside the task's ``headline_metrics`` (their ``best_val/`` scalars)."""

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, BaseTask):
            return
        params = {**pl_module.hparams, **pl_module.run_name_values()}
        datamodule = pl_module.datamodule
        if datamodule is not None:
            params.update({f"data/{k}": v for k, v in datamodule.hparams.items()})
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                declare_hparams(logger, params, [f"best_val/{k}" for k in pl_module.headline_metrics])
