"""The LSTM forecaster: an encoder over the history with a direct multi-horizon decoder.

It returns forecasts [B, horizon] (or [B, horizon, quantiles]) in the (transformed) target space,
never negative.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import override

from nie.core.errors import ConfigError
from nie.forecasting.quantiles import non_crossing
from nie.forecasting.spec import PowerBatch, PowerSpec


class LSTMForecaster(nn.Module):
    """Encode the history with an LSTM; decode every horizon step at once from the final state,
    that step's known-future covariates, a step embedding and (pooled training) a station embedding.
    The stations' static values (``data.static_columns``, standardised) join the station inputs.
    With ``spec.quantiles`` the head gives one value per level, non-crossing and ≥ 0 by construction.
    ``future_context`` k lets each step also read the covariates of the k hours either side (edges
    repeat the first/last hour): weather forecasts are often right about an event and wrong about
    its hour, which a decoder reading one hour alone cannot see. ``hour_embedding_dim`` > 0 gives each
    step a learned embedding of its hour of day (solar power is a different function of the weather at
    each hour: the winners fitted a model per hour); the step embedding alone knows only the lead time."""

    name = "lstm"

    def __init__(
        self,
        spec: PowerSpec,
        hidden: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
        station_embedding_dim: int = 4,
        decoder_hidden: int = 64,
        output_activation: Literal["softplus", "relu"] = "softplus",
        future_context: int = 0,
        hour_embedding_dim: int = 0,
    ) -> None:
        super().__init__()
        if future_context < 0:
            raise ConfigError(f"LSTMForecaster future_context must be >= 0 hours, got {future_context}")
        if hour_embedding_dim < 0:
            raise ConfigError(f"LSTMForecaster hour_embedding_dim must be >= 0, got {hour_embedding_dim}")
        self.future_context = future_context
        self.hour_embedding = nn.Embedding(24, hour_embedding_dim) if hour_embedding_dim else None
        stations = spec.num_stations
        self.station_embedding = nn.Embedding(stations, station_embedding_dim) if station_embedding_dim else None
        static = torch.tensor(spec.static or [[]] * stations, dtype=torch.float32).reshape(stations, -1)
        self.register_buffer("static", static, persistent=False)  # rebuilt from the data's spec, not saved
        extra = station_embedding_dim + self.static.shape[1]  # the station inputs: embedding (0: none), static values
        self.encoder = nn.LSTM(
            spec.history_dim + extra, hidden, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
        self.step_embedding = nn.Embedding(spec.horizon, 8)
        self.decoder = nn.Sequential(
            nn.Linear(
                hidden + spec.future_dim * (2 * future_context + 1) + 8 + hour_embedding_dim + extra, decoder_hidden
            ),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(decoder_hidden, max(len(spec.quantiles), 1)),
        )
        self.quantiles = spec.quantiles
        self.activation = F.softplus if output_activation == "softplus" else F.relu

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        history, future = batch.history, batch.future
        station = self.station_inputs(batch.station)
        if station is not None:
            history = torch.cat([history, station.unsqueeze(1).expand(-1, history.shape[1], -1)], -1)
        _, (state, _) = self.encoder(history)
        horizon = future.shape[1]
        parts = [
            state[-1].unsqueeze(1).expand(-1, horizon, -1),
            with_neighbours(future, self.future_context),
            self.step_embedding.weight[:horizon].unsqueeze(0).expand(future.shape[0], -1, -1),
        ]
        if self.hour_embedding is not None:
            parts.append(self.hour_embedding(batch.hour))
        if station is not None:
            parts.append(station.unsqueeze(1).expand(-1, horizon, -1))
        raw = self.decoder(torch.cat(parts, -1))
        return non_crossing(raw) if self.quantiles else self.activation(raw.squeeze(-1))

    def station_inputs(self, station: Tensor) -> Tensor | None:
        """[B, embedding + static] per window's station, or None when there is neither."""
        parts = [self.station_embedding(station)] if self.station_embedding is not None else []
        if self.static.shape[1]:
            parts.append(self.static[station])
        return torch.cat(parts, -1) if parts else None


def with_neighbours(future: Tensor, k: int) -> Tensor:
    """[B, H, F] -> [B, H, F·(2k+1)]: each step's covariates with those of the k steps before and after."""
    if k == 0:
        return future
    horizon = future.shape[1]
    padded = F.pad(future.transpose(1, 2), (k, k), mode="replicate").transpose(1, 2)
    return torch.cat([padded[:, shift : shift + horizon] for shift in range(2 * k + 1)], -1)
