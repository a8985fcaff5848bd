"""Sliding windows as indices into per-station arrays; a sample is sliced only when asked for.

Memory holds the per-station arrays plus one int64 start per kept window (no copies of windows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor
from torch.utils.data import Dataset
from typing_extensions import override

from nie.forecasting.spec import PowerBatch, StationArrays


def _window_sums(flags: npt.NDArray[np.bool_], length: int) -> npt.NDArray[np.int64]:
    """Number of True flags in every window [s, s + length)."""
    cumulative: npt.NDArray[np.int64] = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return cumulative[length:] - cumulative[:-length]


@dataclass
class WindowCensus:
    """The windows a split could have, and why some were dropped."""

    starts: npt.NDArray[np.int64]  # kept
    candidates: int
    missing_covariates: int  # dropped: a known covariate is missing in the window
    missing_targets: int  # dropped (the rest): targets missing under the ``missing`` policy

    @property
    def dropped(self) -> int:
        return self.candidates - len(self.starts)


def window_census(
    arrays: StationArrays, seq_len: int, horizon: int, first_target: int, end: int, stride: int, missing: str
) -> WindowCensus:
    """Starts s whose targets [s+seq_len, s+seq_len+horizon) lie in [first_target, end), on the stride grid,
    and the count of candidates dropped for each reason.

    Windows needing a missing known covariate (history or forecast hours) are dropped; windows with
    missing targets are dropped (``missing="drop"``) or kept if any target is present (``"mask"``).
    """
    total = seq_len + horizon  # a series shorter than one window has no start (the range below is empty)
    starts = np.arange(max(first_target - seq_len, 0), end - total + 1, stride, dtype=np.int64)
    starts = starts[starts + seq_len >= first_target]
    covariates_ok = _window_sums(~arrays.known_ok, total)[starts] == 0
    present = _window_sums(np.isfinite(arrays.target), horizon)[starts + seq_len]
    targets_ok = present == horizon if missing == "drop" else present > 0
    return WindowCensus(
        starts[covariates_ok & targets_ok],
        len(starts),
        int((~covariates_ok).sum()),
        int((covariates_ok & ~targets_ok).sum()),
    )


class WindowDataset(Dataset[PowerBatch]):
    """(station, start) pairs over per-station arrays; ``persistence_lag`` steps = one day.

    ``__getitems__`` gathers a whole ``PowerBatch`` with one fancy index per station (the DataLoader uses
    it instead of one ``__getitem__`` per window, ~10x faster); pair it with ``collate_fn=already_batched``.
    ``dataset[i]`` is the batch of window ``i`` alone.
    """

    def __init__(
        self,
        stations: list[StationArrays],
        starts: list[npt.NDArray[np.int64]],
        seq_len: int,
        horizon: int,
        persistence_lag: int,
    ) -> None:
        self.stations, self.starts = stations, starts
        self.offsets = np.cumsum([0] + [len(s) for s in starts])
        self.flat_starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self.seq_len, self.horizon, self.lag = seq_len, horizon, persistence_lag

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @override
    def __getitem__(self, index: int) -> PowerBatch:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> PowerBatch:
        index = np.asarray(indices, dtype=np.int64)
        stations = np.searchsorted(self.offsets, index, side="right") - 1
        starts = self.flat_starts[index]
        steps, history_steps = np.arange(self.horizon), np.arange(self.seq_len)
        lag_steps = steps - self.lag * (steps // self.lag + 1)  # same hour, latest day before issue time
        first, n = self.stations[0], len(index)
        history = np.empty((n, self.seq_len, first.history.shape[1]), np.float32)
        future = np.empty((n, self.horizon, first.future.shape[1]), np.float32)
        target, raw_target, persistence = (np.empty((n, self.horizon)) for _ in range(3))
        month, hour = (np.empty((n, self.horizon), np.int64) for _ in range(2))
        daylight = np.empty((n, self.horizon), bool)
        for station in np.unique(stations):
            rows, a = stations == station, self.stations[station]
            t0 = starts[rows, None] + self.seq_len
            targets = t0 + steps
            history[rows] = a.history[starts[rows, None] + history_steps]
            future[rows] = a.future[targets]
            target[rows], raw_target[rows] = a.target[targets], a.raw_target[targets]
            persistence[rows] = a.raw_target[t0 + lag_steps]
            month[rows], hour[rows] = a.month[targets], a.hour[targets]
            daylight[rows] = a.daylight[targets]
        return PowerBatch(
            history=torch.from_numpy(history),
            future=torch.from_numpy(future),
            target=_zero_where_missing(target),
            raw_target=_zero_where_missing(raw_target),
            persistence=_zero_where_missing(persistence),
            month=torch.from_numpy(month),
            hour=torch.from_numpy(hour),
            mask=torch.from_numpy(np.isfinite(target)),
            station=torch.from_numpy(stations),
            index=torch.from_numpy(index),
            daylight=torch.from_numpy(daylight),
        )


def _zero_where_missing(values: npt.NDArray[np.float64]) -> Tensor:
    """float32 tensor of ``values`` with NaN (missing) as 0."""
    return torch.nan_to_num(torch.from_numpy(values)).float()
