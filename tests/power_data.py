"""Small seeded station series in the long format, and a config to train on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def make_power_table(stations: int = 2, days: int = 40, seed: int = 0, start: str = "2020-01-01 01:00") -> pd.DataFrame:
    """Hourly solar-like power driven by an accumulated irradiance forecast that restarts at 01:00."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=days * 24, freq="1h")
    frames = []
    for s in range(1, stations + 1):
        sun = np.clip(np.sin(2 * np.pi * (times.hour - 6) / 24), 0, None)
        cloud = rng.uniform(0, 1, size=days).repeat(24)
        irradiance = sun * (1 - 0.7 * cloud) * 1000
        run = (np.asarray(times.hour) - 1) % 24  # hours since the 01:00 run start
        accumulated = pd.Series(irradiance).groupby(np.cumsum(run == 0)).cumsum().to_numpy()
        power = np.clip(irradiance / 1000 * (0.8 + 0.1 * s) + rng.normal(0, 0.02, len(times)), 0, None)
        frames.append(
            pd.DataFrame(
                {
                    "time": times,
                    "station": s,
                    "irradiance": accumulated,
                    "temperature": 20 + 5 * sun + rng.normal(0, 1, len(times)),
                    "power": power,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_power_config(
    folder: Path, table: pd.DataFrame | None = None, network: str = "LSTMForecaster", **data: object
) -> Path:
    """A complete experiment YAML for the generated series (LSTM by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    (table if table is not None else make_power_table()).to_csv(folder / "series.csv", index=False)
    init = {
        "path": str(folder / "series.csv"),
        "known_covariates": ["irradiance", "temperature"],
        "accumulated": ["irradiance"],
        "val_start": "2020-01-25 00:00",
        "test_start": "2020-02-01 00:00",
        "seq_len": 48,
        "horizon": 24,
        "stride": 6,
        "batch_size": 16,
        "capacity": 1.0,
        **data,
    }
    config = {
        "seed_everything": 0,
        "model": {
            "class_path": "nie.forecasting.PowerForecastTask",
            "init_args": {"network": {"class_path": f"nie.forecasting.{network}"}, "lr": 0.005},
        },
        "data": {"class_path": "datamodules.PowerDataModule", "init_args": init},
        "trainer": {
            "max_epochs": 2,
            "enable_progress_bar": False,
            "enable_model_summary": False,
        },
        "checkpoint": {"dirs": ["network", "dataset"], "hparams": ["lr"]},
    }
    path = folder / "power.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


BACKTEST_PLAN = {"first_origin": "2020-01-30 00:00", "step": "3D", "val_span": "4D"}


def write_backtest_config(workdir: Path, **plan: object) -> str:
    """The generated series' config with a backtest plan (``BACKTEST_PLAN`` updated by ``plan``), one epoch."""
    path = write_power_config(workdir / "data")
    config = yaml.safe_load(path.read_text())
    config["backtest"] = {**BACKTEST_PLAN, **plan}
    config["trainer"]["max_epochs"] = 1
    path.write_text(yaml.safe_dump(config))
    return str(path)
