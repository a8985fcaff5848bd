"""Seed ensembles of a forecaster: independent members, quantile averaging, the CLI and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from datamodules.power.datamodule import PowerDataModule
from nie.core.errors import ConfigError
from nie.forecasting import ForecasterEnsemble, LSTMForecaster, PowerForecastTask
from nie.forecasting.quantiles import pinball_loss
from tests.conftest import read_json, run_train
from tests.power_data import write_power_config

LEVELS = [0.1, 0.5, 0.9]


def _datamodule(folder: Path) -> PowerDataModule:
    dm = PowerDataModule(**yaml.safe_load(write_power_config(folder).read_text())["data"]["init_args"])
    dm.setup()
    return dm


def test_members_train_on_their_own_losses_and_forecast_their_mean(tmp_path: Path, monkeypatch) -> None:
    dm = _datamodule(tmp_path)
    monkeypatch.setattr(PowerForecastTask, "datamodule", property(lambda self: dm))  # what the trainer attaches
    torch.manual_seed(0)
    task = PowerForecastTask(
        lambda spec: ForecasterEnsemble(spec, LSTMForecaster, members=3), loss="pinball", quantiles=LEVELS
    )
    task.build()
    batch = next(iter(dm.train_dataloader()))
    task.eval()  # no dropout: the same forecasts in every call
    with torch.no_grad():
        members = task.network.member_forecasts(batch)
        mean = task(batch)
        loss = task.training_terms(batch)["loss"]
    assert members.shape == (3, len(batch), 24, 3) and not torch.equal(members[0], members[1])  # own draws
    torch.testing.assert_close(mean, members.mean(0))
    assert (mean >= 0).all() and (mean.diff(dim=-1) >= 0).all()  # averaged quantiles never cross
    own = [pinball_loss(m, batch.target, batch.mask.float(), task.level_values) for m in members]
    torch.testing.assert_close(loss, torch.stack(own).mean())  # each member's loss, not the mean's


def test_an_ensemble_trains_and_tests_through_the_cli(workdir: Path) -> None:
    path = write_power_config(workdir / "data")
    config = yaml.safe_load(path.read_text())
    config["model"]["init_args"].update(loss="pinball", quantiles=LEVELS)
    config["model"]["init_args"]["network"] = {
        "class_path": "nie.forecasting.ForecasterEnsemble",
        "init_args": {
            "members": 2,
            "network": {"class_path": "nie.forecasting.LSTMForecaster", "init_args": {"hidden": 8}},
        },
    }
    config["checkpoint"]["hparams"] = ["lr", "members", "hidden"]
    path.write_text(yaml.safe_dump(config))
    run_train("fit", "--config", str(path), "--trainer.max_epochs", "1")
    run_train("test", "--config", str(path), "--ckpt_path", "best", "--out", "metrics.json")
    metrics = read_json("metrics.json")
    assert torch.isfinite(torch.tensor(metrics["test/pinball"]))
    assert list(Path("runs/ensemble/series").glob("lr0.005-members2-hidden8/epoch=*.ckpt"))


def test_fewer_than_one_member_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="members must be at least 1, got 0"):
        ForecasterEnsemble(_datamodule(tmp_path).spec, LSTMForecaster, members=0)
