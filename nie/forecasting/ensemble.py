"""Seed ensembles: several copies of one forecaster, trained side by side, forecasting their mean."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from typing_extensions import override

from nie.core.errors import ConfigError
from nie.forecasting.spec import ForecasterFactory, PowerBatch, PowerSpec


class ForecasterEnsemble(nn.Module):
    """``members`` copies of ``network``, each from its own initial draw and trained on its own loss
    (``member_forecasts``); the forecast is their mean. For quantile forecasts that is quantile
    averaging: the mean of non-crossing, non-negative quantiles is non-crossing and non-negative, and
    it lowers the variance part of the error that members differing by initial weights and dropout
    make, at ``members`` times the cost of one. Early stopping and checkpoint choice see the mean, and
    gradient clipping the members' gradients together (one norm over all of them)."""

    name = "ensemble"

    def __init__(self, spec: PowerSpec, network: ForecasterFactory, members: int = 3) -> None:
        super().__init__()
        if members < 1:
            raise ConfigError(f"ForecasterEnsemble members must be at least 1, got {members}")
        self.members = nn.ModuleList(network(spec) for _ in range(members))

    def member_forecasts(self, batch: PowerBatch) -> Tensor:
        """[members, B, H(, Q)]: every member's own forecast."""
        return torch.stack([member(batch) for member in self.members])

    @override
    def forward(self, batch: PowerBatch) -> Tensor:
        return self.member_forecasts(batch).mean(0)
