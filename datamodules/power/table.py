"""Read a long-format station table and lay each station on a regular time grid.

Gaps in time become NaN rows (masked later), never forward-filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from nie.core.errors import DataError
from nie.core.io import read_csv

_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"


@dataclass
class StationSeries:
    """One station on a regular grid: ``times`` [T], ``target`` [T], covariates [T, C] (NaN where missing)."""

    station: str
    times: pd.DatetimeIndex
    target: npt.NDArray[np.float64]
    known: npt.NDArray[np.float64]
    past: npt.NDArray[np.float64]
    static: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Columns:
    """What the table's columns hold: ``data.time_column``, ``station_column``, ``target_column``,
    ``known_covariates``, ``past_covariates`` and ``static_columns`` (capacity_column last)."""

    time: str
    station: str
    target: str
    known: list[str]
    past: list[str]
    static: list[str]

    def values(self) -> list[str]:
        """The numeric columns, each once (a column named twice is read once)."""
        return list(dict.fromkeys([self.target, *self.known, *self.past, *self.static]))


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The table, only ``columns`` of it when given (the others are never parsed: a fleet's file may hold
    many more than a run reads); a listed column the file lacks is reported by ``station_series``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: time-series file not found")
    wanted = None if columns is None else set(columns)
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        return table if wanted is None else table.drop(columns=[c for c in table.columns if c not in wanted])
    if path.name.endswith((".csv", ".csv.gz")):
        return read_csv(path) if wanted is None else read_csv(path, usecols=lambda c: c in wanted)
    raise DataError(f"{path}: expected a .csv, .csv.gz or .parquet file")


def parse_times(
    column: pd.Series, path: str | Path, time_format: str | None = None, timezone: str | None = None
) -> pd.Series:
    """Timestamps as naive wall-clock times of one zone.

    Text must be ISO 8601 unless ``time_format`` is given: a layout like 13/06/2013 is refused, not
    guessed (day and month would swap for the first 12 days of each month). Timestamps with UTC
    offsets are converted to ``timezone`` when given; without it one offset throughout is kept as
    the data's own wall clock, and mixed offsets are refused. Text is parsed once per distinct value
    (stations share their timestamps, so a fleet's millions of rows hold a few thousand distinct ones).
    """
    if pd.api.types.is_datetime64_any_dtype(column):  # Parquet: typed already
        return _wall_clock(column, timezone)
    codes, distinct = pd.factorize(column, use_na_sentinel=False)  # parsed per distinct value, then spread
    first_rows = np.unique(codes, return_index=True)[1]  # distinct values in order of first appearance
    rows = _Rows(column, first_rows, path)
    parsed = _wall_clock(_parse_text_times(pd.Series(distinct), rows, time_format, timezone), timezone)
    return pd.Series(parsed.to_numpy()[codes], index=column.index, name=column.name)


def _wall_clock(times: pd.Series, timezone: str | None) -> pd.Series:
    """Zone-aware times as naive ones in ``timezone`` (default their own zone); naive ones as they are."""
    if times.dt.tz is None:
        return times
    return (times.dt.tz_convert(timezone) if timezone else times).dt.tz_localize(None)


@dataclass
class _Rows:
    """Where a distinct timestamp first occurs in its column, to name that line in an error."""

    column: pd.Series
    first_rows: npt.NDArray[np.int64]
    path: str | Path

    def refusal(self, distinct: int, why: str) -> DataError:
        """The error for a distinct value, at its first line in the file (row 0 is line 2, after the header)."""
        row = int(self.first_rows[distinct])
        return DataError(f"{self.path}, row {row + 2}: column '{self.column.name}' = {self.column.iloc[row]!r} {why}")


def _parse_text_times(distinct: pd.Series, rows: _Rows, time_format: str | None, timezone: str | None) -> pd.Series:
    """Distinct text timestamps in ``time_format`` (default ISO 8601); with UTC offsets, zone-aware (in
    the data's one offset when no ``timezone`` is set)."""
    text = distinct.astype(str).str.strip()
    has_offset = _utc_offsets(text, rows, timezone)
    layout = {"format": time_format} if time_format else {"format": "ISO8601"}
    times = pd.to_datetime(text, errors="coerce", utc=bool(has_offset.any()), **layout)
    if times.isna().any():
        expected = (
            f"does not match data.time_format {time_format!r}"
            if time_format
            else "is not an ISO 8601 timestamp (YYYY-MM-DD[ HH:MM[:SS]][+HH:MM]); for another layout set "
            "data.time_format, e.g. '%d/%m/%Y %H:%M'"
        )
        raise rows.refusal(int(np.flatnonzero(times.isna().to_numpy())[0]), expected)
    if has_offset.any() and timezone is None:
        times = times.dt.tz_convert(pd.Timestamp(text.iloc[0]).tz)
    return times


def _utc_offsets(text: pd.Series, rows: _Rows, timezone: str | None) -> npt.NDArray[np.bool_]:
    """Which distinct timestamps carry a UTC offset; refuses a mix with and without one, and different
    offsets unless a ``timezone`` to convert them to is set."""
    offsets = text.str.extract(_OFFSET, expand=False)
    has_offset: npt.NDArray[np.bool_] = offsets.notna().to_numpy()
    if has_offset.any() and not has_offset.all():
        raise rows.refusal(
            int(np.flatnonzero(has_offset != has_offset[0])[0]), "mixes timestamps with and without a UTC offset"
        )
    written = offsets.str.replace(":", "").replace("Z", "+0000")  # one spelling per offset
    distinct = written.dropna().unique()
    if len(distinct) > 1 and timezone is None:
        other = int(np.flatnonzero((written != distinct[0]).to_numpy())[0])
        raise rows.refusal(
            other,
            f"has another UTC offset than row 2 ({distinct[0]}); set data.timezone (e.g. UTC) "
            "to convert all timestamps to one zone",
        )
    return has_offset


def clip_negative_targets(
    series: list[StationSeries], path: str | Path, target: str, policy: str, tolerance: float | None
) -> dict[str, int]:
    """Apply the negative-power policy; return how many values were clipped per station.

    ``error``: any negative value stops with its station and time. ``clip``: negative values become
    0 (meters report small negatives at night: inverter self-consumption); with a ``tolerance``,
    only values down to −tolerance are clipped and anything below it still stops.
    """
    clipped = {}
    for s in series:
        negative = np.nan_to_num(s.target, nan=0.0) < 0
        limit = -np.inf if tolerance is None else -tolerance
        refused = negative if policy == "error" else negative & (np.nan_to_num(s.target) < limit)
        if refused.any():
            i = int(np.flatnonzero(refused)[0])
            hint = (
                "set data.negative_power: clip to clip negatives to 0"
                if policy == "error"
                else f"below data.negative_tolerance = {tolerance}"
            )
            raise DataError(
                f"{path}: negative {target} = {s.target[i]} at station {s.station}, time {s.times[i]} "
                f"(power is never negative; {hint})"
            )
        s.target = np.where(negative, 0.0, s.target)
        clipped[s.station] = int(negative.sum())
    return clipped


def check_numbers(table: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Empty cells are missing values (a documented policy); text or infinities in a numeric column
    are errors naming the row, never a silent NaN."""
    for column in dict.fromkeys(columns):
        raw = table[column]
        if pd.api.types.is_numeric_dtype(raw):  # parsed as numbers already: only infinities can be wrong
            bad = np.isinf(raw.to_numpy(np.float64))
        else:
            values = pd.to_numeric(raw, errors="coerce")
            blank = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN"])
            bad = ((values.isna() & ~blank) | np.isinf(values.to_numpy(np.float64))).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}, row {row + 2}: column '{column}' = {raw.iloc[row]!r} is not a finite number "
                "(leave the cell empty for a missing value)"
            )


def station_series(
    table: pd.DataFrame,
    path: str | Path,
    columns: Columns,
    frequency: str,
    time_format: str | None = None,
    timezone: str | None = None,
    stations: list[str] | None = None,
) -> list[StationSeries]:
    """Validate the rows of the selected ``stations`` (default all) and split them into per-station
    series on a ``frequency`` grid."""
    values = columns.values()
    missing = [c for c in dict.fromkeys([columns.time, columns.station, *values]) if c not in table.columns]
    if missing:
        present = list(table.columns)
        raise DataError(f"{path}: missing column(s) {missing}; of the columns the config names, it has {present}")
    if stations:  # only the selected stations' rows are checked: another station's faults are not this run's
        table = _select_stations(table, path, columns.station, stations)
    times = parse_times(table[columns.time], path, time_format, timezone)  # beside the table: no copy of it
    check_numbers(table, values, path)
    keys = pd.DataFrame({"station": table[columns.station].to_numpy(), "time": times.to_numpy()})
    duplicated = keys.duplicated().to_numpy()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        raise DataError(f"{path}: duplicated timestamp {keys['time'][first]} for station {keys['station'][first]}")
    rows_of = table.groupby(columns.station, sort=True).indices  # positions per station, nothing copied yet
    clock = times.to_numpy()
    return [
        _on_grid(
            name,
            table.iloc[rows][values].set_axis(pd.DatetimeIndex(clock[rows])).sort_index(),
            path,
            frequency,
            columns,
        )
        for name, rows in rows_of.items()  # in sorted order, as groupby(sort=True) gives them
    ]


def _select_stations(table: pd.DataFrame, path: str | Path, station: str, stations: list[str]) -> pd.DataFrame:
    """The rows of ``stations`` (ids compared as text); an id the table lacks stops."""
    names = table[station].astype(str)
    absent = sorted({str(s) for s in stations} - set(names))
    if absent:
        raise DataError(f"data.stations: {absent} not in {path}")
    return table[names.isin({str(s) for s in stations}).to_numpy()].reset_index(drop=True)


def _on_grid(name: object, group: pd.DataFrame, path: str | Path, frequency: str, columns: Columns) -> StationSeries:
    """One station's rows (indexed by time, sorted) on the regular grid from its first to its last time;
    a timestamp off the grid stops, missing grid times become NaN rows."""
    grid = pd.date_range(group.index[0], group.index[-1], freq=frequency)
    if not group.index.isin(grid).all():
        bad = group.index[~group.index.isin(grid)][0]
        raise DataError(f"{path}: station {name!r} has timestamp {bad} off the {frequency} grid starting {grid[0]}")
    group = group.reindex(grid)

    def numeric(columns: list[str]) -> npt.NDArray[np.float64]:
        # copies the windows may write to (pandas 3's copy-on-write hands out read-only views)
        values: npt.NDArray[np.float64] = (
            group[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64, copy=True)
        )
        return values

    static = np.nanmean(numeric(columns.static), axis=0) if columns.static else np.zeros(0)
    return StationSeries(
        str(name), grid, numeric([columns.target])[:, 0], numeric(columns.known), numeric(columns.past), static
    )
