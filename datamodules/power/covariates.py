"""Known-future covariates made from the time axis: solar geometry per station site, the daylight rule,
and the neighbouring hours of the known covariates.

Why here: they are functions of a station's times and its (scaled) known covariates, so every
forecaster of the datamodule sees the same ones; the site and the rule are config values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

import numpy as np
import numpy.typing as npt
import pandas as pd

from datamodules.power.geometry import Site, check_features, daylight, solar_features
from nie.core.errors import ConfigError

FEATURE_SCALE = {"extraterrestrial": 1000.0, "clear_sky": 1000.0, "elevation": 90.0}  # to about unit range


@dataclass(frozen=True)
class SolarOptions:
    """The datamodule's ``solar`` mapping, checked: every wrong value is one line before the data is read."""

    features: tuple[str, ...] = ()
    site: Optional[Site] = None
    station_sites: tuple[tuple[str, Site], ...] = ()
    time_shift: pd.Timedelta = pd.Timedelta(0)
    night_elevation: Optional[float] = None

    @classmethod
    def parse(cls, solar: Optional[dict[str, Any]], neighbour_hours: int = 0) -> SolarOptions:
        if neighbour_hours < 0:
            raise ConfigError(f"data.neighbour_hours must be >= 0, got {neighbour_hours}")
        values = dict(solar or {})
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(f"data.solar: unknown option(s) {unknown}; expected some of {names}")
        features = list(values.get("features") or [])
        check_features(features, "data.solar.features")
        site = None if values.get("site") is None else Site.parse(values["site"], "data.solar.site")
        sites = tuple(
            (str(k), Site.parse(v, f"data.solar.station_sites.{k}"))
            for k, v in (values.get("station_sites") or {}).items()
        )
        night = values.get("night_elevation")
        if (features or night is not None) and site is None and not sites:
            raise ConfigError(
                "data.solar.features and night_elevation need where the stations are: "
                "data.solar.site {latitude, longitude} (or station_sites)"
            )
        if night is not None and not (isinstance(night, (int, float)) and -90 <= night <= 90):
            raise ConfigError(f"data.solar.night_elevation must be a number in [-90, 90] degrees, got {night!r}")
        try:
            shift = pd.Timedelta(values.get("time_shift", "0min"))
        except ValueError:
            raise ConfigError(
                f"data.solar.time_shift: expected a time span such as -30min, got {values['time_shift']!r}"
            ) from None
        return cls(tuple(features), site, sites, shift, None if night is None else float(night))

    def site_of(self, station: str) -> Site:
        """The station's own site (``station_sites``), else the dataset's (``site``)."""
        sites = dict(self.station_sites)
        if station in sites:
            return sites[station]
        if self.site is None:
            raise ConfigError(
                f"data.solar.station_sites has no entry for station {station!r} and data.solar.site is not set"
            )
        return self.site


def geometry(
    options: SolarOptions, station: str, times: pd.DatetimeIndex
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """[T, k] solar features (scaled to about unit range) and [T] daylight flags (all True without a rule),
    both at ``times`` shifted by ``time_shift``."""
    names, rule = list(options.features), options.night_elevation
    if not names and rule is None:
        return np.zeros((len(times), 0), np.float32), np.ones(len(times), bool)
    site = options.site_of(station)
    at = times + options.time_shift
    scale = np.array([FEATURE_SCALE.get(n, 1.0) for n in names])
    flags = np.ones(len(times), bool) if rule is None else daylight(at, site, rule)
    return (solar_features(at, site, names) / scale).astype(np.float32), flags


def neighbours(known: npt.NDArray[np.float64], hours: int) -> npt.NDArray[np.float64]:
    """[T, 2·hours·F] the known covariates of the ``hours`` hours before and after each hour (0, the
    training mean of scaled values, past the ends of the series)."""
    columns = []
    for lag in [*range(-hours, 0), *range(1, hours + 1)]:
        shifted = np.zeros_like(known)
        if lag < 0:
            shifted[-lag:] = known[:lag]
        else:
            shifted[:-lag] = known[lag:]
        columns.append(shifted)
    return np.concatenate(columns, axis=1) if columns else np.zeros((len(known), 0), known.dtype)


def night_census(
    flags: npt.NDArray[np.bool_], raw_target: npt.NDArray[np.float64], rows: npt.NDArray[np.bool_]
) -> dict[str, int]:
    """How many of the ``rows`` hours the daylight rule fixes at 0, and how many of those produced power."""
    night = rows & ~flags
    return {
        "night_hours_fixed_at_zero": int(night.sum()),
        "night_hours_with_power": int((night & (np.nan_to_num(raw_target) > 0)).sum()),
    }
