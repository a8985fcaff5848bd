"""The base task: optimiser, per-stage metrics, the shared steps. Baselines' fit: ``nie.core.baseline``;
checkpoint identity and warm start: ``nie.core.task_checkpoints``; callbacks the CLI adds draw figures
(``nie.core.figures``), keep resume state (``nie.core.resume``) and write the HParams entry
(``nie.core.tensorboard``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Literal, Mapping, Optional

import torch
from torch.optim import SGD, Adam, AdamW, Optimizer
from torchmetrics import MetricCollection
from typing_extensions import override

from nie.core.baseline import FitsBaselines

OptimizerName = Literal["adam", "adamw", "sgd"]
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"adam": Adam, "adamw": AdamW, "sgd": SGD}


class BaseTask(FitsBaselines, ABC):
    """Shared training plumbing; subclasses save ``lr``, ``weight_decay`` and ``optimizer`` as hyper-parameters."""

    headline_metrics: tuple[str, ...] = ()  # shown beside the hyper-parameters in TensorBoard's HParams tab

    def __init__(self) -> None:
        super().__init__()
        self.built = False
        self.warm_start: Optional[str] = None  # a checkpoint whose weights start the training; set before fit

    @classmethod
    @abstractmethod
    def default_monitor(cls, init_args: Mapping[str, Any]) -> tuple[str, Literal["min", "max"]]:
        """The validation score (and its direction) when the config names none, from constructor arguments."""

    @abstractmethod
    def build(self) -> None:
        """Create the networks (the datamodule is set up by now)."""

    @abstractmethod
    def make_metrics(self) -> MetricCollection: ...

    @abstractmethod
    def training_terms(self, batch: Any) -> dict[str, torch.Tensor]:
        """The batch's loss (key ``loss``, the one optimised) and any terms worth a curve of their own."""

    @abstractmethod
    def batch_size(self, batch: Any) -> int:
        """How many items the batch's loss averages over (the weight of its logged value)."""

    @abstractmethod
    def evaluate(self, batch: Any, metrics: MetricCollection) -> dict[str, torch.Tensor]:
        """Update ``metrics`` with the batch's predictions; returns what a validation figure needs of it."""

    @override
    def configure_model(self) -> None:
        if self.built:
            return
        self.build()
        if self.warm_start is not None:
            self._load_weights(self.warm_start)
        metrics = self.make_metrics()
        self.val_metrics, self.test_metrics = metrics.clone(prefix="val/"), metrics.clone(prefix="test/")
        self.built = True

    @override
    def configure_optimizers(self) -> Optimizer | None:
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:  # non-learned baselines: fit only records what they need
            return None
        h = self.hparams
        return OPTIMIZERS[h["optimizer"]](params, lr=h["lr"], weight_decay=h["weight_decay"])

    @override
    def training_step(self, batch: Any, batch_idx: int) -> Optional[torch.Tensor]:
        if not self.trainable:  # non-learned baselines were fit in on_fit_start
            return None
        terms = self.training_terms(batch)
        for name, value in terms.items():
            self.log(f"train/{name}", value, on_step=False, on_epoch=True, batch_size=self.batch_size(batch))
        return terms["loss"]

    @override
    def validation_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        return self.evaluate(batch, self.val_metrics)  # for the validation figures (nie.core.figures)

    @override
    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.evaluate(batch, self.test_metrics)

    @override
    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics(self.val_metrics)

    @override
    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics(self.test_metrics)

    def _log_epoch_metrics(self, metrics: MetricCollection) -> None:
        values = metrics.compute()
        metrics.reset()
        self.log_dict(values, sync_dist=False)  # torchmetrics already gathered across processes
