"""Multi-horizon power forecasting: one LightningModule for the LSTM and the baselines."""

from __future__ import annotations

from typing import Callable, Literal

import pandas as pd
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor, nn
from torchmetrics import MetricCollection

from nie.core.task import BaseTask, OptimizerName
from nie.forecasting.metrics import ForecastErrors
from nie.forecasting.plots import forecast_week_figure
from nie.forecasting.spec import PowerSpec

ForecasterFactory = Callable[[PowerSpec], nn.Module]


class PowerForecastTask(BaseTask):
    """Loss (MSE or MAE) in the transformed target space over present targets; metrics in original units.

    Args:
        network: forecaster class and arguments, built from the datamodule's spec.
        loss: ``mse`` or ``mae``.
        plot_week_start: first day of the validation week plotted to TensorBoard (default: the first).
    """

    headline_metrics = ("rmse", "mae", "skill")

    def __init__(self, network: ForecasterFactory, lr: float = 1e-3, weight_decay: float = 0.0,
                 optimizer: OptimizerName = "adam", loss: Literal["mse", "mae"] = "mse",
                 plot_week_start: str | None = None) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["network"], logger=False)
        self.network_factory = network
        self.network: nn.Module | None = None
        self._val_outputs: list[dict[str, Tensor]] = []

    def build(self) -> None:
        self.spec: PowerSpec = self.trainer.datamodule.spec
        self.network = self.network_factory(self.spec)

    def make_metrics(self) -> MetricCollection:
        capacities = None if self.spec.capacities is None else torch.tensor(self.spec.capacities, dtype=torch.float32)
        return MetricCollection({"errors": ForecastErrors(self.spec.station_names, capacities)}, compute_groups=False)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.network(batch)

    def to_original(self, forecast: Tensor) -> Tensor:
        return self.spec.to_power(forecast)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        if not self.trainable:
            return None
        forecast, mask = self(batch), batch["mask"].float()
        error = (forecast - batch["target"]) * mask
        per_element = error**2 if self.hparams.loss == "mse" else error.abs()
        loss = per_element.sum() / mask.sum().clamp_min(1)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=forecast.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, Tensor], metrics: MetricCollection) -> Tensor:
        forecast = self.to_original(self(batch))
        metrics.update(forecast, batch["raw_target"], batch["mask"], batch["persistence"], batch["station"])
        return forecast

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        forecast = self._evaluate(batch, self.val_metrics)
        self._val_outputs.append({"index": batch["index"].cpu(), "forecast": forecast.detach().cpu()})

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        return {"index": batch["index"], "forecast": self.to_original(self(batch))}

    def _log_epoch_metrics(self, metrics: MetricCollection) -> dict[str, Tensor]:
        values = metrics.compute()
        metrics.reset()
        flat = {k.replace("errors_", "").replace("/errors", ""): v for k, v in values.items()}
        self.log_dict(flat)
        return flat

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        outputs, self._val_outputs = self._val_outputs, []
        if self.trainer.sanity_checking or not outputs:
            return
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                table = self.trainer.datamodule.forecast_table("val", outputs)
                logger.experiment.add_figure("val/forecast_week", self.prediction_figure(table), self.current_epoch)

    def prediction_figure(self, table: pd.DataFrame):
        """Forecast against actual over one week per station (``plot_week_start``, default the first)."""
        week = pd.Timestamp(self.hparams.plot_week_start) if self.hparams.plot_week_start else None
        return forecast_week_figure(table, week)
