"""Solar geometry from timestamps (NOAA's general solar position equations), as known-future covariates.

Why: a PV plant's output is bounded by where the sun is; the sun's position is known for any future
hour, so it is a covariate no weather forecast has to carry. The equations are NOAA's "General Solar
Position Calculations" (fractional-year series for the equation of time and the declination; accurate
to a few tenths of a degree, checked in ``tests/test_geometry.py`` against the SPA paper's worked
example). Extraterrestrial irradiance uses Spencer's (1971) Earth-Sun distance series; clear-sky
irradiance is Haurwitz's (1945) model, which needs nothing but the zenith.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from nie.core.errors import ConfigError

SOLAR_CONSTANT = 1361.0  # W m-2
SOLAR_FEATURES = ("cos_zenith", "sin_azimuth", "cos_azimuth", "elevation", "extraterrestrial", "clear_sky")


@dataclass(frozen=True)
class Site:
    """Where a station is: latitude (north positive) and longitude (east positive), in degrees."""

    latitude: float
    longitude: float

    @classmethod
    def parse(cls, value: object, name: str) -> Site:
        """A site from a config mapping ``{latitude, longitude}``; a wrong one is one ``ConfigError`` line."""
        if not isinstance(value, dict) or set(value) != {"latitude", "longitude"}:
            raise ConfigError(
                f"{name}: expected {{latitude: <degrees>, longitude: <degrees>}}, got {value!r}; on the command "
                "line give the whole site as one value, e.g. '{latitude: -37, longitude: 145}'"
            )
        try:
            latitude, longitude = float(value["latitude"]), float(value["longitude"])
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: latitude and longitude must be numbers, got {value!r}") from None
        if not -90 <= latitude <= 90:
            raise ConfigError(f"{name}.latitude must lie in [-90, 90] degrees, got {latitude:g}")
        if not -180 <= longitude <= 360:
            raise ConfigError(f"{name}.longitude must lie in [-180, 360] degrees, got {longitude:g}")
        return cls(latitude, longitude)


def check_features(names: list[str], option: str) -> None:
    unknown = [n for n in names if n not in SOLAR_FEATURES]
    if unknown:
        raise ConfigError(f"{option}: unknown solar feature(s) {unknown}; expected some of {list(SOLAR_FEATURES)}")


def solar_position(times: pd.DatetimeIndex, site: Site) -> dict[str, npt.NDArray[np.float64]]:
    """Zenith and azimuth (degrees, azimuth clockwise from north) and the fractional year (radians)
    at ``times``, read as UTC."""
    day = np.asarray(times.dayofyear, dtype=np.float64)
    hours = np.asarray(times.hour + times.minute / 60 + times.second / 3600, dtype=np.float64)
    gamma = 2 * np.pi / 365 * (day - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075 + 0.001868 * np.cos(gamma) - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma) - 0.040849 * np.sin(2 * gamma)
    )  # fmt: skip
    decl = (
        0.006918 - 0.399912 * np.cos(gamma) + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma) + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma) + 0.00148 * np.sin(3 * gamma)
    )  # fmt: skip
    true_solar_minutes = hours * 60 + eqtime + 4 * site.longitude
    hour_angle = np.radians(true_solar_minutes / 4 - 180)
    lat = np.radians(site.latitude)
    cos_zenith = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_zenith, -1, 1)))
    azimuth = np.degrees(np.arctan2(np.sin(hour_angle), np.cos(hour_angle) * np.sin(lat) - np.tan(decl) * np.cos(lat)))
    return {"zenith": zenith, "azimuth": (azimuth + 180) % 360, "gamma": gamma}


def extraterrestrial(gamma: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Normal-incidence irradiance outside the atmosphere (W m-2) over the year (Spencer 1971)."""
    irradiance: npt.NDArray[np.float64] = SOLAR_CONSTANT * (
        1.000110 + 0.034221 * np.cos(gamma) + 0.001280 * np.sin(gamma)
        + 0.000719 * np.cos(2 * gamma) + 0.000077 * np.sin(2 * gamma)
    )  # fmt: skip
    return irradiance


def solar_features(times: pd.DatetimeIndex, site: Site, names: list[str]) -> npt.NDArray[np.float64]:
    """[T, len(names)] covariates: ``cos_zenith``, ``sin_azimuth``/``cos_azimuth``, ``elevation``
    (degrees), ``extraterrestrial`` and ``clear_sky`` (horizontal W m-2, 0 with the sun down)."""
    position = solar_position(times, site)
    cos_zenith = np.cos(np.radians(position["zenith"]))
    up = np.clip(cos_zenith, 0, None)
    with np.errstate(divide="ignore"):
        clear = np.where(up > 0, 1098 * up * np.exp(-0.057 / np.where(up > 0, up, 1)), 0.0)
    columns = {
        "cos_zenith": cos_zenith,
        "sin_azimuth": np.sin(np.radians(position["azimuth"])),
        "cos_azimuth": np.cos(np.radians(position["azimuth"])),
        "elevation": 90 - position["zenith"],
        "extraterrestrial": extraterrestrial(position["gamma"]) * up,
        "clear_sky": clear,
    }
    return np.stack([columns[n] for n in names], axis=1) if names else np.zeros((len(times), 0))


def daylight(times: pd.DatetimeIndex, site: Site, min_elevation: float) -> npt.NDArray[np.bool_]:
    """[T] bool: the sun stands at least ``min_elevation`` degrees above the horizon."""
    return np.asarray(90 - solar_position(times, site)["zenith"] >= min_elevation)
