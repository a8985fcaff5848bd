"""Multi-horizon power forecasting: one LightningModule for the LSTM and the baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, Mapping, Optional, cast

import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from typing_extensions import override

from nie.core.errors import ConfigError
from nie.core.settings import Settings
from nie.core.task import BaseTask, OptimizerName
from nie.forecasting.ensemble import ForecasterEnsemble
from nie.forecasting.metrics import ForecastErrors
from nie.forecasting.plots import forecast_week_figure
from nie.forecasting.quantiles import (
    DECILES,
    QuantileReliability,
    QuantileScores,
    check_levels,
    median_index,
    pinball_loss,
)
from nie.forecasting.spec import ForecasterFactory, PowerBatch, PowerData, PowerSpec

LossName = Literal["mse", "mae", "pinball"]


@dataclass(frozen=True)
class ForecastTaskSettings(Settings):
    """``PowerForecastTask``'s arguments but the network (its ``hparams``, typed).

    Args:
        lr, weight_decay, optimizer: the optimiser.
        loss: ``mse`` or ``mae`` (point forecasts), or ``pinball`` (one forecast per level of
            ``quantiles``; point metrics then score the 0.5 level, the median).
        quantiles: the levels of ``loss: pinball``, strictly increasing in (0, 1) and including 0.5
            (default the deciles 0.1 ... 0.9; GEFCom2014 scored 0.01 ... 0.99). Metrics add the mean
            pinball loss, CRPS and the coverage and width of the central intervals the levels give
            (``coverage_80`` for the deciles; see ``quantiles.central_intervals``), and
            ``reliability_gap``: the largest |observed − nominal| share of producing-hour targets at or
            below a level's forecast, over the levels (``quantiles.QuantileReliability``; the per-level
            curves are the figure's reliability panel).
        plot_week_start: first day of the validation week plotted to TensorBoard (default: the first).
        mask_night: leave the hours the data's daylight rule marks as night out of the training loss:
            their forecasts are fixed at 0 whatever the network says, so fitting them only spends capacity.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: OptimizerName = "adam"
    loss: LossName = "mse"
    quantiles: Optional[list[float]] = None
    plot_week_start: Optional[str] = None
    mask_night: bool = False


class PowerForecastTask(BaseTask):
    """Loss in the transformed target space over present targets; metrics in original units.

    Args:
        network: forecaster class and arguments, built from the datamodule's spec.
        arguments: the fields of ``ForecastTaskSettings`` (documented there).
    """

    headline_metrics = ("rmse", "mae", "skill")

    def __init__(self, network: ForecasterFactory, **arguments: Any) -> None:
        super().__init__()
        s = ForecastTaskSettings(**arguments)
        if s.quantiles is not None and s.loss != "pinball":
            raise ConfigError(f"model.init_args.quantiles is for model.init_args.loss: pinball (got loss: {s.loss})")
        self.save_hyperparameters(ignore=["network"], logger=False)  # with what the command line adds (_class_path)
        self.hparams.update(s.values())  # every argument, defaults too
        if s.loss == "pinball":
            try:
                check_levels(self.levels)
                median_index(self.levels)
            except ValueError as err:
                raise ConfigError(f"model.init_args.{err}") from None
        self.network_factory = network
        self.network: nn.Module | None = None

    @override
    @classmethod
    def default_monitor(cls, init_args: Mapping[str, Any]) -> tuple[str, Literal["min", "max"]]:
        return ("val/pinball", "min") if init_args.get("loss") == "pinball" else ("val/rmse", "min")

    @property
    def settings(self) -> ForecastTaskSettings:
        """The hyper-parameters, typed."""
        return ForecastTaskSettings.of(self.hparams)

    @property
    def data(self) -> PowerData:
        return cast(PowerData, self.datamodule)

    @property
    def levels(self) -> tuple[float, ...]:
        """Quantile levels forecast (empty for point forecasts)."""
        settings = self.settings
        if settings.loss != "pinball":
            return ()
        return tuple(DECILES if settings.quantiles is None else settings.quantiles)

    @override
    def build(self) -> None:
        self.spec: PowerSpec = replace(self.data.spec, quantiles=self.levels)
        self.network = self.network_factory(self.spec)
        self.register_buffer("level_values", torch.tensor(self.levels, dtype=torch.float32), persistent=False)
        self.median_position = median_index(self.levels) if self.levels else None

    @override
    def make_metrics(self) -> MetricCollection:
        capacities = None if self.spec.capacities is None else torch.tensor(self.spec.capacities, dtype=torch.float32)
        metrics: dict[str, Metric | MetricCollection] = {"errors": ForecastErrors(self.spec.station_names, capacities)}
        if self.levels:
            metrics["quantiles"] = QuantileScores(self.spec.station_names, self.levels)
            metrics["reliability"] = QuantileReliability(self.levels)
        return MetricCollection(metrics, compute_groups=False)

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        if self.network is None:
            raise RuntimeError("the network is built by configure_model, once the datamodule's spec is known")
        forecast: Tensor = self.network(batch)
        return forecast

    def power_forecast(self, batch: PowerBatch) -> Tensor:
        """The forecast in power units, fixed at 0 where the data's daylight rule says the sun is down."""
        forecast = self.spec.to_power(self(batch))
        daylight = batch.daylight if forecast.dim() == 2 else batch.daylight.unsqueeze(-1)
        return forecast * daylight

    def median(self, forecast: Tensor) -> Tensor:
        """The point forecast: the forecast itself, or the 0.5 level of a quantile forecast."""
        return forecast if self.median_position is None else forecast[..., self.median_position]

    @override
    def training_terms(self, batch: PowerBatch) -> dict[str, Tensor]:
        """The loss of each member's own forecast (one member for a single network), averaged: an
        ensemble's members train independently rather than as one wide model."""
        if isinstance(self.network, ForecasterEnsemble):
            forecasts = self.network.member_forecasts(batch)
        else:
            forecasts = self(batch).unsqueeze(0)
        mask = (batch.mask & batch.daylight if self.settings.mask_night else batch.mask).float()
        if self.levels:
            loss = pinball_loss(forecasts, batch.target, mask, self.level_values)
        else:
            error = (forecasts - batch.target) * mask
            per_element = error**2 if self.settings.loss == "mse" else error.abs()
            loss = per_element.sum() / mask.sum().clamp_min(1)
        return {"loss": loss / len(forecasts)}

    @override
    def batch_size(self, batch: PowerBatch) -> int:
        return len(batch)

    @override
    def evaluate(self, batch: PowerBatch, metrics: MetricCollection) -> dict[str, Tensor]:
        outputs = self.predict_step(batch, 0)  # what predict writes, scored
        metrics["errors"].update(outputs["forecast"], batch.raw_target, batch.mask, batch.persistence, batch.station)
        if self.levels:
            metrics["quantiles"].update(outputs["quantiles"], batch.raw_target, batch.mask, batch.station)
            metrics["reliability"].update(outputs["quantiles"], batch.raw_target, batch.mask)
        return outputs

    @override
    def predict_step(self, batch: PowerBatch, batch_idx: int) -> dict[str, Tensor]:
        forecast = self.power_forecast(batch)
        outputs = {"index": batch.index, "forecast": self.median(forecast)}
        if self.levels:
            outputs.update(quantiles=forecast, levels=self.level_values)
        return outputs

    def validation_figures(self, outputs: list[dict[str, Tensor]]) -> list[tuple[str, Figure]]:
        return [("val/forecast_week", self.prediction_figure(self.data.forecast_table("val", outputs)))]

    def prediction_figure(self, table: pd.DataFrame) -> Figure:
        """Forecast against actual over one week per station (``plot_week_start``, default the first),
        with the widest central interval of its quantiles shaded and, for quantile forecasts, a
        reliability panel over the whole table (``plots.reliability_panel``)."""
        week_start = self.settings.plot_week_start
        return forecast_week_figure(table, pd.Timestamp(week_start) if week_start else None)
