"""LightningDataModule for multi-station power forecasting with time-based splits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader, DistributedSampler, Sampler
from typing_extensions import override

from datamodules.common import StagedDataModule, already_batched, dataset_name
from datamodules.power.covariates import SolarOptions, geometry, neighbours, night_census
from datamodules.power.features import cyclic_features, deaccumulate, fit_scaler
from datamodules.power.settings import PowerDataSettings
from datamodules.power.table import Columns, StationSeries, clip_negative_targets, read_table, station_series
from datamodules.power.windows import WindowCensus, WindowDataset, window_census
from nie.core.distributed import process_share
from nie.core.errors import ConfigError, DataError
from nie.core.fingerprint import digest, files_stamp, remembered
from nie.core.io import atomic_path
from nie.forecasting.spec import PowerBatch, PowerSpec, StationArrays, forward_target

PERIODS = ("train_start", "val_start", "test_start", "test_end")  # where windows are cut, not what is read


class StationScaler(TypedDict):
    """One station's training-period statistics, saved in checkpoints: (mean, std) lists and static values."""

    target: tuple[list[float], list[float]]  # of the transformed target
    covariates: tuple[list[float], list[float]]  # past, then known covariates
    static: list[float]  # training-period means of the static columns (capacity_column last)


def check_columns(
    known: Optional[list[str]], past: Optional[list[str]], accumulated: Optional[list[str]], target_history: bool
) -> None:
    unknown = sorted(set(accumulated or []) - set(known or []))
    if unknown:
        raise ConfigError(f"data.accumulated: {unknown} must also be listed in data.known_covariates")
    if not target_history and past:
        raise ConfigError(
            f"data.target_history: false forecasts without observed values, but data.past_covariates "
            f"{past} are observations too: list them as known_covariates or drop them"
        )


def check_periods(train_start: Optional[str], val_start: str, test_start: str, test_end: Optional[str]) -> None:
    if not pd.Timestamp(val_start) < pd.Timestamp(test_start) < pd.Timestamp(test_end or pd.Timestamp.max):
        raise ConfigError("expected val_start < test_start < test_end")
    if train_start is not None and not pd.Timestamp(train_start) < pd.Timestamp(val_start):
        raise ConfigError(f"data.train_start={train_start} must come before data.val_start={val_start}")


class PowerDataModule(StagedDataModule):
    """Stations' power and weather forecasts, cut into (history, forecast) windows by time.

    Train windows forecast hours in [start, val_start), val in [val_start, test_start), test in
    [test_start, test_end); val/test histories reach back into the period before them, so every
    target hour of val/test can get a forecast. Scalers are fit on the training period only and
    travel with the checkpoint. Policy for missing values: gaps are NaN, never filled; a window
    needing a missing known covariate is dropped; missing targets drop the window (``missing=drop``)
    or are masked out of loss and metrics (``missing=mask``); missing history targets are zero with
    an "observed" flag.

    Arguments: the fields of ``PowerDataSettings`` (``datamodules/power/settings.py``, documented there).
    """

    predict_stage = "test"  # predict forecasts the test period

    def __init__(self, **arguments: Any) -> None:
        super().__init__()
        h = PowerDataSettings(**arguments)
        self.save_hyperparameters()  # with what the command line adds (_class_path)
        self.hparams.update(h.values())  # every argument, defaults too
        self.hparams["dataset"] = dataset_name(h.dataset, h.path, "series")
        check_columns(h.known_covariates, h.past_covariates, h.accumulated, h.target_history)
        check_periods(h.train_start, h.val_start, h.test_start, h.test_end)
        SolarOptions.parse(h.solar, h.neighbour_hours)
        self.scalers: Optional[dict[str, StationScaler]] = None
        self.series: list[StationSeries] = []
        self.datasets: dict[str, WindowDataset] = {}
        self.data_report: dict[str, dict[str, Any]] = {}
        self.negative_clipped: dict[str, int] = {}

    @property
    def settings(self) -> PowerDataSettings:
        """The arguments, typed, as ``hparams`` holds them now."""
        return PowerDataSettings.of(self.hparams)

    # ---------------------------------------------------------------- loading
    def _load_series(self) -> list[StationSeries]:
        h = self.settings
        static = list(h.static_columns or []) + ([h.capacity_column] if h.capacity_column else [])
        known, past = list(h.known_covariates or []), list(h.past_covariates or [])
        columns = Columns(h.time_column, h.station_column, h.target_column, known, past, static)
        table = read_table(h.path, [columns.time, columns.station, *columns.values()])
        series = station_series(table, h.path, columns, h.frequency, h.time_format, h.timezone, h.stations)
        clipped = clip_negative_targets(series, h.path, h.target_column, h.negative_power, h.negative_tolerance)
        for station, count in clipped.items():
            if count:
                rank_zero_info(
                    f"station {station}: {count} negative {h.target_column} values clipped to 0 "
                    "(data.negative_power: clip)"
                )
        self.negative_clipped = clipped
        for s in series:
            if len(s.times) < h.seq_len + h.horizon:
                raise DataError(
                    f"{h.path}: station {s.station!r} has {len(s.times)} steps, fewer than "
                    f"seq_len + horizon = {h.seq_len + h.horizon}"
                )
            for column in h.accumulated or []:
                j = list(h.known_covariates or []).index(column)
                s.known[:, j] = deaccumulate(s.known[:, j], s.times, h.accumulation_reset_hour)
        return series

    @property
    def persistence_lag(self) -> int:
        return int(pd.Timedelta("1D") / pd.Timedelta(self.settings.frequency))

    def _fit_scalers(self) -> dict[str, StationScaler]:
        """Per-station scalers from the training period only (times before val_start)."""
        h, scalers = self.settings, {}
        for s in self.series:
            train = np.asarray(self._in_training(s.times))
            if not train.any():
                raise DataError(f"{h.path}: station {s.station!r} has no data before val_start={h.val_start}")
            covariates = np.concatenate([s.past, s.known], axis=1)[train]
            scalers[s.station] = StationScaler(
                target=fit_scaler(forward_target(s.target[train], h.target_transform)[:, None]),
                covariates=fit_scaler(covariates),
                static=s.static.tolist(),
            )
        return scalers

    def _station_scaler(self, station: str) -> StationScaler:
        if self.scalers is None:
            raise RuntimeError("call setup() or load_state_dict() before using the scalers")
        return self.scalers[station]

    def _arrays(self, s: StationSeries) -> StationArrays:
        h, scaler = self.settings, self._station_scaler(s.station)
        target = forward_target(s.target, h.target_transform)
        t_mean, t_std = (np.asarray(v) for v in scaler["target"])
        c_mean, c_std = (np.asarray(v) for v in scaler["covariates"])
        covariates = (np.concatenate([s.past, s.known], axis=1) - c_mean) / c_std
        calendar = cyclic_features(s.times) if h.calendar_features else np.zeros((len(s.times), 0))
        solar, daylight = geometry(SolarOptions.parse(h.solar, h.neighbour_hours), s.station, s.times)
        calendar = np.concatenate([calendar, solar], 1)
        observed = np.isfinite(target)
        scaled_target = np.where(observed, (target - t_mean[0]) / t_std[0], 0.0)
        n_past = s.past.shape[1]
        known = np.nan_to_num(covariates[:, n_past:])
        target_columns = [scaled_target[:, None], observed[:, None]] if h.target_history else []
        history = np.concatenate([*target_columns, np.nan_to_num(covariates), calendar], 1)
        return StationArrays(
            history=history.astype(np.float32),
            future=np.concatenate([known, neighbours(known, h.neighbour_hours), calendar], 1).astype(np.float32),
            target=target,
            raw_target=s.target,
            month=np.asarray(s.times.month - 1, dtype=np.int8),  # a byte per hour: batches widen them
            hour=np.asarray(s.times.hour, dtype=np.int8),
            known_ok=np.isfinite(s.known).all(axis=1),
            daylight=daylight,
        )

    def _window_index(self, arrays: list[StationArrays]) -> dict[str, WindowDataset]:
        """Each split's windows; what the missing-value policy dropped is counted per station, logged
        and kept in ``data_report`` with the clipped negatives (saved as ``data_report.json`` in the
        run directory)."""
        h = self.settings
        bounds: dict[str, tuple[Optional[str], Optional[str]]] = {
            "train": (h.train_start, h.val_start),
            "val": (h.val_start, h.test_start),
            "test": (h.test_start, h.test_end),
        }
        datasets: dict[str, WindowDataset] = {}
        self.data_report = {"negative_clipped": dict(self.negative_clipped)}
        for stage, (lo, hi) in bounds.items():
            starts: list[npt.NDArray[np.int64]] = []
            report: dict[str, dict[str, int]] = {}
            for s, a in zip(self.series, arrays):
                first = 0 if lo is None else int(np.searchsorted(s.times, pd.Timestamp(lo)))
                end = len(s.times) if hi is None else int(np.searchsorted(s.times, pd.Timestamp(hi)))
                stride = h.stride if stage == "train" else (h.eval_stride or h.horizon)
                census = window_census(a, h.seq_len, h.horizon, first, end, stride, h.missing)
                starts.append(census.starts)
                report[s.station] = {
                    "windows": len(census.starts),
                    "candidates": census.candidates,
                    "dropped_missing_covariates": census.missing_covariates,
                    "dropped_missing_targets": census.missing_targets,
                    **night_census(a.daylight, a.raw_target, _forecast_hours(census.starts, h, len(a.target))),
                }
                self._log_census(stage, s.station, census, lo, hi)
            if sum(len(x) for x in starts) == 0:
                raise DataError(
                    f"{h.path}: the {stage} split ({lo or 'start'} to {hi or 'end'}) has no complete "
                    f"window of seq_len={h.seq_len} + horizon={h.horizon}"
                )
            datasets[stage] = WindowDataset(arrays, starts, h.seq_len, h.horizon, self.persistence_lag)
            self.data_report[stage] = report
        return datasets

    @staticmethod
    def _log_census(stage: str, station: str, census: WindowCensus, lo: Optional[str], hi: Optional[str]) -> None:
        if census.candidates == 0:
            rank_zero_warn(
                f"station {station}: no {stage} window: its data does not reach the {stage} period "
                f"({lo or 'start'} to {hi or 'end'}), so it is absent from the {stage} metrics"
            )
        elif census.dropped:
            rank_zero_info(
                f"station {station}: {census.dropped} of {census.candidates} {stage} windows dropped "
                f"({census.missing_covariates} with a known covariate missing, "
                f"{census.missing_targets} with targets missing)"
            )

    @override
    def setup(self, stage: Optional[str] = None) -> None:
        if self.datasets:
            return
        if self.settings.seq_len < self.persistence_lag:
            raise ConfigError(
                f"data.seq_len={self.settings.seq_len} must cover one day ({self.persistence_lag} steps) "
                "for the persistence reference"
            )
        self.series = self.series or self._load_series()
        self.scalers = self.scalers or self._fit_scalers()
        self.datasets = self._window_index([self._arrays(s) for s in self.series])

    @property
    def data_paths(self) -> dict[str, str]:
        """The series file, resolved (what a run folder records of where it was)."""
        return {"path": str(Path(self.settings.path).resolve())}

    @property
    def data_fingerprint(self) -> str:
        """Hash of the series read: every station's times, target, covariates and static values."""

        def compute() -> str:
            self.series = self.series or self._load_series()
            arrays = [(s.station, s.times.asi8, s.target, s.known, s.past, s.static) for s in self.series]
            return digest(*(part for station in arrays for part in station))

        reading = tuple((k, repr(v)) for k, v in sorted(self.hparams.items()) if k not in PERIODS)
        return remembered(files_stamp(self.data_paths.values()), reading, compute)

    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta]:
        """The first and last time any station has, and the step between times (what a backtest's
        origins are checked against); reads the table once."""
        self.series = self.series or self._load_series()
        first = min(s.times[0] for s in self.series)
        last = max(s.times[-1] for s in self.series)
        return first, last, pd.Timedelta(self.settings.frequency)

    # ------------------------------------------------- checkpointed state
    @override
    def state_dict(self) -> dict[str, Any]:
        return {"scalers": self.scalers}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Use the training run's scalers (rebuilding the arrays if they were already made)."""
        self.scalers = state["scalers"]
        if self.series:
            self.datasets = self._window_index([self._arrays(s) for s in self.series])

    # ------------------------------------------------------------ metadata
    @property
    def spec(self) -> PowerSpec:
        """Sizes and per-station statistics the networks need (and nothing from val/test)."""
        first = self.datasets["train"].stations[0]
        capacities = self.capacities()
        return PowerSpec(
            num_stations=len(self.series),
            history_dim=first.history.shape[1],
            future_dim=first.future.shape[1],
            horizon=self.settings.horizon,
            target_transform=self.settings.target_transform,
            station_names=[s.station for s in self.series],
            static=self.static_inputs(),
            capacities=None if capacities is None else capacities.tolist(),
        )

    def static_inputs(self) -> list[list[float]]:
        """Per-station ``static_columns`` (training-period means), standardised across stations: [S, C]."""
        count = len(self.settings.static_columns or [])
        values = np.asarray([self._station_scaler(s.station)["static"][:count] for s in self.series], dtype=np.float64)
        spread = values.std(axis=0)  # [S, 0] without static columns: a list of empty rows
        standardised: list[list[float]] = ((values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)).tolist()
        return standardised

    def capacities(self) -> Optional[torch.Tensor]:
        h = self.settings
        if h.capacity_column:
            values = [self._station_scaler(s.station)["static"][-1] for s in self.series]
            return torch.tensor(values, dtype=torch.float32)
        return None if h.capacity is None else torch.full((len(self.series),), float(h.capacity))

    def training_arrays(self) -> tuple[list[StationArrays], list[pd.DatetimeIndex], pd.Timestamp]:
        """Per-station arrays, their times and the end of the training period (for baselines' fit); with
        a ``train_start``, targets before it are hidden (NaN), as baselines fit on present targets only."""
        arrays, times = self.datasets["train"].stations, [s.times for s in self.series]
        if self.settings.train_start is not None:
            arrays = [
                replace(a, raw_target=np.where(self._in_training(t), a.raw_target, np.nan))
                for a, t in zip(arrays, times)
            ]
        return arrays, times, pd.Timestamp(self.settings.val_start)

    def validation_arrays(self) -> tuple[list[StationArrays], list[pd.DatetimeIndex]]:
        """Per-station arrays with every target outside the validation period hidden (NaN), and their
        times: all a recalibration fitted on validation may read (never a test target)."""
        h, times = self.settings, [s.times for s in self.series]
        window = [np.asarray((t >= pd.Timestamp(h.val_start)) & (t < pd.Timestamp(h.test_start))) for t in times]
        arrays = [
            replace(a, target=np.where(w, a.target, np.nan), raw_target=np.where(w, a.raw_target, np.nan))
            for a, w in zip(self.datasets["train"].stations, window)
        ]
        return arrays, times

    def _in_training(self, times: pd.DatetimeIndex) -> npt.NDArray[np.bool_]:
        """Which of ``times`` lie in the training period [train_start, val_start)."""
        h = self.settings
        start = pd.Timestamp(h.train_start) if h.train_start is not None else times.min()
        return np.asarray((times >= start) & (times < pd.Timestamp(h.val_start)))

    def training_windows(self, batch_size: int = 2048) -> Iterator[PowerBatch]:
        """The training windows in order, a batch at a time (for baselines that score their own fit)."""
        dataset = self.datasets["train"]
        for start in range(0, len(dataset), batch_size):
            yield dataset.__getitems__(list(range(start, min(start + batch_size, len(dataset)))))

    # ------------------------------------------------------------ outputs
    def forecast_table(self, stage: str, outputs: list[dict[str, torch.Tensor]]) -> pd.DataFrame:
        """One row per forecast hour: station, issue time, target time, step, forecast, actual, and
        one ``q<level>`` column per quantile when the outputs hold quantile forecasts."""
        dataset, horizon = self.datasets[stage], self.settings.horizon
        index = torch.cat([o["index"] for o in outputs]).cpu().numpy()
        forecast = torch.cat([o["forecast"] for o in outputs]).float().cpu().numpy()
        levels = outputs[0]["levels"].tolist() if "quantiles" in outputs[0] else []
        quantiles = torch.cat([o["quantiles"] for o in outputs]).float().cpu().numpy() if levels else np.zeros(0)
        stations = np.searchsorted(dataset.offsets, index, side="right") - 1
        first_target = dataset.flat_starts[index] + self.settings.seq_len
        tables = []
        for station in np.unique(stations):  # one gather per station, not one frame per window
            rows, series = stations == station, self.series[station]
            targets = first_target[rows, None] + np.arange(horizon)
            columns: dict[str, Any] = {
                "station": series.station,
                "issue_time": np.repeat(series.times[first_target[rows] - 1], horizon),
                "target_time": series.times[targets.ravel()],
                "horizon_step": np.tile(np.arange(1, horizon + 1), rows.sum()),
                "forecast": forecast[rows].ravel(),
                "actual": series.target[targets.ravel()],
            }
            columns.update({f"q{level:g}": quantiles[rows][..., i].ravel() for i, level in enumerate(levels)})
            tables.append(pd.DataFrame(columns))
        return pd.concat(tables, ignore_index=True).sort_values(["station", "issue_time", "horizon_step"])

    def write_predictions(self, outputs: list[dict[str, torch.Tensor]], path: str | Path) -> pd.DataFrame:
        """The test-period forecasts as CSV (atomic); returns the table."""
        table = self.forecast_table("test", outputs)
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        return table

    # ------------------------------------------------------------ loaders
    @override
    def _loader(self, stage: str) -> DataLoader[PowerBatch]:
        """Under DDP: training windows through a DistributedSampler (reshuffled per epoch by Lightning),
        evaluation windows split rank::world without padding, so no window is scored twice."""
        h, training = self.settings, stage == "train"
        dataset = self.datasets[stage]
        rank, world = process_share(self.trainer)
        sampler: Sampler[int] | Iterable[int] | None = None
        if world > 1:
            sampler = (
                DistributedSampler(dataset, world, rank, shuffle=h.shuffle, drop_last=h.drop_last)
                if training
                else list(range(rank, len(dataset), world))
            )
        return DataLoader(
            dataset,
            batch_size=h.batch_size,
            shuffle=training and h.shuffle and sampler is None,
            sampler=sampler,
            drop_last=training and h.drop_last,
            num_workers=h.num_workers,
            collate_fn=already_batched,
            persistent_workers=h.num_workers > 0,
        )


def _forecast_hours(starts: npt.NDArray[np.int64], settings: PowerDataSettings, length: int) -> npt.NDArray[np.bool_]:
    """[T] bool: the hours the windows starting at ``starts`` forecast."""
    rows = np.zeros(length, bool)
    rows[(starts[:, None] + settings.seq_len + np.arange(settings.horizon)).ravel()] = True
    return rows
