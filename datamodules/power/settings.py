"""The power datamodule's arguments, defined once: names, types, defaults and docs (``nie.core.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from nie.core.settings import Settings
from nie.forecasting.spec import TargetTransform


@dataclass(frozen=True)
class PowerDataSettings(Settings):
    """``PowerDataModule``'s arguments (its ``hparams``, typed; there ``dataset`` is resolved).

    Args:
        path: long-format CSV, CSV.gz or Parquet, one row per station and time.
        time_column, station_column, target_column: column names.
        known_covariates: available for forecast hours too (NWP); past_covariates: history only.
        static_columns: per-station constants (e.g. capacity) fed to the network.
        accumulated: known covariates accumulated over forecast runs; de-accumulated within each
            run, which restarts at ``accumulation_reset_hour``.
        capacity: nominal capacity (same for all stations) for normalised errors; or capacity_column.
        stations: subset of station ids (default all; one id trains a per-station model); only their
            rows are read and checked.
        negative_power: ``error`` stops at a negative target; ``clip`` sets negatives to 0 (counted and
            logged per station), only those down to −``negative_tolerance`` when that is given.
        time_format: strptime layout of the time column (default: ISO 8601 only; other layouts are
            refused rather than guessed, since day and month can swap).
        timezone: zone to convert timestamps with UTC offsets to (e.g. ``UTC``); split dates are read
            in it. Default: one offset throughout is kept as the data's wall clock, mixed offsets stop.
        stride: steps between training window starts; eval_stride defaults to the horizon.
        target_history: whether the history window carries the observed target (scaled, with its
            observed flag). ``false`` forecasts from covariates and calendar alone, so no forecast reads
            power observed after its issue time's day: the information set of a month-ahead task, where
            nothing after the origin is known but the weather forecasts (GEFCom2014's tasks).
        train_start: the first hour training may forecast (default: the data's first); a sliding
            training window (``train.py backtest``'s ``window``). Scalers and baselines see only
            [train_start, val_start).
        solar: solar geometry from the timestamps (``covariates.SolarOptions``): ``features``, known
            covariates of every hour (``cos_zenith``, ``sin_azimuth``, ``cos_azimuth``, ``elevation``,
            ``extraterrestrial``, ``clear_sky``), at ``site`` ``{latitude, longitude}`` (degrees, north
            and east positive) or per station ``station_sites``; ``time_shift`` where in its interval a
            stamp's geometry is taken (``-30min`` for stamps that end their hour); ``night_elevation``,
            the daylight rule: forecasts of hours whose sun stands below it (degrees) are fixed at 0,
            and ``data_report.json`` counts those hours per split and station (and those with power).
        neighbour_hours: k adds the known covariates of the k hours before and after each forecast
            hour as known covariates of it (weather forecasts often get an event's hour wrong).
        shuffle, drop_last, batch_size, num_workers: the training loader.
    """

    path: str
    val_start: str
    test_start: str
    test_end: Optional[str] = None
    time_column: str = "time"
    station_column: str = "station"
    target_column: str = "power"
    known_covariates: Optional[list[str]] = None
    past_covariates: Optional[list[str]] = None
    static_columns: Optional[list[str]] = None
    accumulated: Optional[list[str]] = None
    accumulation_reset_hour: int = 1
    calendar_features: bool = True
    capacity: Optional[float] = None
    capacity_column: Optional[str] = None
    frequency: str = "1h"
    time_format: Optional[str] = None
    timezone: Optional[str] = None
    target_transform: TargetTransform = "none"
    seq_len: int = 168
    horizon: int = 24
    stride: int = 1
    eval_stride: Optional[int] = None
    missing: Literal["drop", "mask"] = "drop"
    stations: Optional[list[str]] = None
    negative_power: Literal["error", "clip"] = "error"
    negative_tolerance: Optional[float] = None
    batch_size: int = 64
    shuffle: bool = True
    drop_last: bool = True
    num_workers: int = 0
    dataset: Optional[str] = None
    train_start: Optional[str] = None
    target_history: bool = True
    solar: Optional[dict[str, Any]] = None
    neighbour_hours: int = 0
