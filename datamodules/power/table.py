"""Read a long-format station table and lay each station on a regular time grid.

Gaps in time become NaN rows (masked later), never forward-filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nie.errors import DataError


@dataclass
class StationSeries:
    """One station on a regular grid: ``times`` [T], ``target`` [T], covariates [T, C] (NaN where missing)."""

    station: str
    times: pd.DatetimeIndex
    target: np.ndarray
    known: np.ndarray
    past: np.ndarray
    static: np.ndarray


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: time-series file not found")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    raise DataError(f"{path}: expected a .csv, .csv.gz or .parquet file")


def station_series(table: pd.DataFrame, path: str | Path, time: str, station: str, target: str,
                   known: list[str], past: list[str], static: list[str], frequency: str,
                   allow_negative: bool = False) -> list[StationSeries]:
    """Validate the table and split it into per-station series on a ``frequency`` grid."""
    needed = [time, station, target, *known, *past, *static]
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; it has {list(table.columns)}")
    times = pd.to_datetime(table[time], errors="coerce")
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise DataError(f"{path}, row {row + 2}: column '{time}' = {table[time].iloc[row]!r} is not a timestamp")
    table = table.assign(**{time: times})
    duplicated = table.duplicated([station, time])
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise DataError(f"{path}: duplicated timestamp {row[time]} for station {row[station]}")
    values = pd.to_numeric(table[target], errors="coerce")
    if not allow_negative and (values < 0).any():
        row = table[values < 0].iloc[0]
        raise DataError(f"{path}: negative {target} = {row[target]} at station {row[station]}, time {row[time]} (power is never negative)")
    series = []
    for name, group in table.groupby(station, sort=True):
        group = group.set_index(time).sort_index()
        grid = pd.date_range(group.index[0], group.index[-1], freq=frequency)
        if not group.index.isin(grid).all():
            bad = group.index[~group.index.isin(grid)][0]
            raise DataError(f"{path}: station {name!r} has timestamp {bad} off the {frequency} grid starting {grid[0]}")
        group = group.reindex(grid)
        # copies the windows may write to (pandas 3's copy-on-write hands out read-only views)
        numeric = lambda cols: group[cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64, copy=True)  # noqa: E731
        static_values = numeric(static)
        series.append(StationSeries(str(name), grid, numeric([target])[:, 0], numeric(known), numeric(past),
                                    np.nanmean(static_values, axis=0) if static else np.zeros(0)))
    return series
