"""The LSTM's per-hour and night options (issue 38): an hour-of-day embedding and a loss masked at night."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from datamodules.power.datamodule import PowerDataModule
from nie.core.errors import ConfigError
from nie.forecasting import LSTMForecaster, PowerForecastTask
from nie.forecasting.spec import PowerBatch
from tests.power_data import write_power_config

SITE = {"latitude": 0.0, "longitude": 0.0}  # the generated series' sun peaks at 12:00 UTC
LEVELS = [0.1, 0.5, 0.9]


def _datamodule(tmp_path: Path, **data: object) -> PowerDataModule:
    dm = PowerDataModule(**yaml.safe_load(write_power_config(tmp_path, **data).read_text())["data"]["init_args"])
    dm.setup()
    return dm


def _task(dm: PowerDataModule, **options: object) -> PowerForecastTask:
    """A pinball task with its network built from the data's spec, as configure_model builds it."""
    task = PowerForecastTask(network=LSTMForecaster, loss="pinball", quantiles=LEVELS, **options)  # type: ignore[arg-type]
    task.spec = replace(dm.spec, quantiles=tuple(LEVELS))
    torch.manual_seed(0)
    task.network = LSTMForecaster(task.spec).eval()  # no dropout: two calls give the same forecast
    task.level_values = torch.tensor(LEVELS)
    return task


def _training_batch(dm: PowerDataModule) -> PowerBatch:
    return dm.datasets["train"].__getitems__(list(range(32)))


@pytest.mark.parametrize("mask_night", [False, True])
def test_the_night_masked_loss_never_reads_a_night_hours_target(tmp_path: Path, mask_night: bool) -> None:
    dm = _datamodule(tmp_path, solar={"site": SITE, "night_elevation": 0.0})
    task = _task(dm, mask_night=mask_night)
    batch = _training_batch(dm)
    night = ~batch.daylight & batch.mask
    assert night.any() and (batch.daylight & batch.mask).any()
    moved = replace(batch, target=torch.where(night, batch.target + 3.0, batch.target))
    with torch.no_grad():
        before, after = task.training_terms(batch)["loss"], task.training_terms(moved)["loss"]
    assert torch.equal(before, after) == mask_night
    day = replace(batch, target=torch.where(batch.daylight, batch.target + 3.0, batch.target))
    with torch.no_grad():
        assert not torch.equal(task.training_terms(day)["loss"], before)  # daylight targets always count


def test_hour_embedding_lets_the_decoder_tell_hours_apart(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    batch = dm.datasets["val"].__getitems__(list(range(4)))
    shifted = replace(batch, hour=(batch.hour + 5) % 24)  # the same inputs said to be other hours
    torch.manual_seed(0)
    plain = LSTMForecaster(dm.spec).eval()
    torch.manual_seed(0)
    hourly = LSTMForecaster(dm.spec, hour_embedding_dim=4).eval()
    with torch.no_grad():
        assert torch.equal(plain(batch), plain(shifted))  # without it the hour index is never read
        out, moved = hourly(batch), hourly(shifted)
    assert out.shape == (4, dm.spec.horizon) and (out >= 0).all()
    assert not torch.equal(out, moved)
    with pytest.raises(ConfigError, match=r"^LSTMForecaster hour_embedding_dim must be >= 0, got -1$"):
        LSTMForecaster(dm.spec, hour_embedding_dim=-1)
