"""Solar geometry covariates and the daylight rule, on reference values and generated series."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from datamodules.power.covariates import neighbours
from datamodules.power.datamodule import PowerDataModule
from datamodules.power.geometry import Site, solar_features, solar_position
from nie.core.errors import ConfigError
from nie.forecasting import Climatology, PowerForecastTask
from tests.power_data import write_power_config

SITE = {"latitude": 0.0, "longitude": 0.0}  # the generated series' sun peaks at 12:00 UTC


def test_solar_position_matches_the_spa_papers_worked_example() -> None:
    # Reda & Andreas (2003), NREL/TP-560-34302, Table A4.1: Golden, Colorado, 2003-10-17 12:30:30 local
    # (UTC-7): topocentric zenith 50.11162 deg, azimuth 194.34024 deg. NOAA's general equations are
    # accurate to a few tenths of a degree (and ignore refraction and parallax).
    times = pd.DatetimeIndex(["2003-10-17 19:30:30"])
    position = solar_position(times, Site(39.742476, -105.1786))
    assert position["zenith"][0] == pytest.approx(50.11162, abs=0.3)
    assert position["azimuth"][0] == pytest.approx(194.34024, abs=0.3)


def test_equinox_noon_at_the_equator_has_the_sun_overhead_and_night_twelve_hours_later() -> None:
    times = pd.DatetimeIndex(["2021-03-20 12:00", "2021-03-21 00:00"])
    features = solar_features(times, Site(0.0, 0.0), ["cos_zenith", "elevation", "extraterrestrial", "clear_sky"])
    assert features[0, 0] == pytest.approx(1.0, abs=2e-3) and features[0, 1] == pytest.approx(90, abs=3)
    assert 1340 < features[0, 2] < 1380 and 900 < features[0, 3] < 1100
    assert features[1, 0] < -0.99 and features[1, 2] == 0 and features[1, 3] == 0


def test_the_southern_summer_sun_is_north_at_noon_and_the_northern_one_south() -> None:
    noon = pd.DatetimeIndex(["2021-01-10 12:00"])
    south, north = (
        solar_features(noon, Site(-37.0, 0.0), ["cos_azimuth"]),
        solar_features(noon, Site(45.0, 0.0), ["cos_azimuth"]),
    )
    assert south[0, 0] > 0.9 and north[0, 0] < -0.99  # (12:00 UTC is 7 minutes before solar noon in January)


def test_neighbouring_hours_shift_each_column() -> None:
    known = np.arange(10, dtype=np.float32).reshape(5, 2)
    out = neighbours(known, 1)
    assert out[2].tolist() == [2, 3, 6, 7] and out[0, :2].tolist() == [0, 0] and out[-1, 2:].tolist() == [0, 0]


def _datamodule(tmp_path: Path, **data) -> PowerDataModule:
    config = write_power_config(tmp_path, **data)
    dm = PowerDataModule(**yaml.safe_load(config.read_text())["data"]["init_args"])
    dm.setup()
    return dm


def test_geometry_columns_join_the_known_covariates(tmp_path: Path) -> None:
    plain = _datamodule(tmp_path / "a")
    solar = _datamodule(
        tmp_path / "b", solar={"site": SITE, "features": ["cos_zenith", "clear_sky"]}, neighbour_hours=1
    )
    assert solar.spec.future_dim == plain.spec.future_dim + 2 + 2 * 2  # two NWP columns either side
    assert solar.spec.history_dim == plain.spec.history_dim + 2


def test_night_is_fixed_at_zero_and_counted(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, solar={"site": SITE, "night_elevation": 0.0})
    report = dm.data_report["test"]["1"]
    assert report["night_hours_fixed_at_zero"] > 0.4 * report["windows"] * 24
    assert report["night_hours_with_power"] <= report["night_hours_fixed_at_zero"]
    task = PowerForecastTask(network=Climatology, loss="pinball")
    task.spec = replace(dm.spec, quantiles=(0.1, 0.5, 0.9))
    task.network = network = Climatology(task.spec)
    network.quantile_table.fill_(0.5)
    batch = dm.datasets["test"].__getitems__(list(range(len(dm.datasets["test"]))))
    forecast = task.power_forecast(batch)
    assert (forecast[~batch.daylight] == 0).all() and (forecast[batch.daylight] == 0.5).all()
    assert int((~batch.daylight).sum()) == sum(dm.data_report["test"][s]["night_hours_fixed_at_zero"] for s in "12")


@pytest.mark.parametrize(
    ("solar", "message"),
    [
        (
            {"site": {"latitude": 95.0, "longitude": 0.0}},
            r"data.solar.site.latitude must lie in \[-90, 90\] degrees, got 95",
        ),
        ({"site": SITE, "features": ["zenith_sun"]}, r"unknown solar feature\(s\) \['zenith_sun'\]"),
        ({"features": ["cos_zenith"]}, r"need where the stations are: data.solar.site"),
        ({"night_elevation": 0.0}, r"need where the stations are"),
        ({"site": {"lat": 1.0}}, r"data.solar.site: expected \{latitude: <degrees>, longitude: <degrees>\}"),
        ({"site": SITE, "time_shift": "half an hour"}, r"data.solar.time_shift: expected a time span"),
        ({"site": SITE, "night": 0}, r"data.solar: unknown option\(s\) \['night'\]"),
    ],
)
def test_wrong_solar_options_are_one_line(tmp_path: Path, solar: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _datamodule(tmp_path, solar=solar)


def test_wrong_neighbour_hours_and_a_station_without_a_site_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.neighbour_hours must be >= 0"):
        _datamodule(tmp_path / "a", neighbour_hours=-1)
    with pytest.raises(ConfigError, match=r"data.solar.station_sites has no entry for station '2'"):
        _datamodule(tmp_path / "b", solar={"station_sites": {"1": SITE}, "features": ["cos_zenith"]})


def test_daylight_flags_travel_in_batches(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, solar={"site": SITE, "night_elevation": 0.0})
    batch = dm.datasets["val"][0]
    assert batch.daylight.dtype == torch.bool and batch.daylight.shape == batch.target.shape
    midday = batch.hour == 12
    assert batch.daylight[midday].all() and not batch.daylight[batch.hour == 0].any()
