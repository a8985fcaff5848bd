"""Sliding windows as indices into per-station arrays; a sample is sliced only when asked for.

Memory holds the per-station arrays plus one int64 start per kept window (no copies of windows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass
class StationArrays:
    """Model-ready arrays of one station, all [T, ...] on the same time grid."""

    history: np.ndarray  # [T, F_h] scaled target + observed flag + past and known covariates + calendar
    future: np.ndarray  # [T, F_k] scaled known covariates + calendar
    target: np.ndarray  # [T] transformed target (NaN where missing)
    raw_target: np.ndarray  # [T] target in original units (NaN where missing)
    month: np.ndarray  # [T] 0..11
    hour: np.ndarray  # [T] 0..23
    known_ok: np.ndarray  # [T] bool: every known covariate present


def _window_sums(flags: np.ndarray, length: int) -> np.ndarray:
    """Number of True flags in every window [s, s + length)."""
    cumulative = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return cumulative[length:] - cumulative[:-length]


def window_starts(arrays: StationArrays, seq_len: int, horizon: int, first_target: int, end: int, stride: int,
                  missing: str) -> np.ndarray:
    """Starts s whose targets [s+seq_len, s+seq_len+horizon) lie in [first_target, end), on the stride grid.

    Windows needing a missing known covariate (history or forecast hours) are dropped; windows with
    missing targets are dropped (``missing="drop"``) or kept if any target is present (``"mask"``).
    """
    total = seq_len + horizon
    if len(arrays.target) < total:
        return np.zeros(0, dtype=np.int64)
    starts = np.arange(max(first_target - seq_len, 0), end - total + 1, stride, dtype=np.int64)
    starts = starts[starts + seq_len >= first_target]
    covariates_ok = _window_sums(~arrays.known_ok, total)[starts] == 0
    present = _window_sums(np.isfinite(arrays.target), horizon)[starts + seq_len]
    targets_ok = present == horizon if missing == "drop" else present > 0
    return starts[covariates_ok & targets_ok]


class WindowDataset(Dataset):
    """(station, start) pairs over per-station arrays; ``persistence_lag`` steps = one day."""

    def __init__(self, stations: list[StationArrays], starts: list[np.ndarray], seq_len: int, horizon: int,
                 persistence_lag: int) -> None:
        self.stations, self.starts = stations, starts
        self.offsets = np.cumsum([0] + [len(s) for s in starts])
        self.seq_len, self.horizon, self.lag = seq_len, horizon, persistence_lag

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[int, int]:
        station = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return station, int(self.starts[station][index - self.offsets[station]])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        station, start = self.locate(index)
        a = self.stations[station]
        t0, t1 = start + self.seq_len, start + self.seq_len + self.horizon
        steps = np.arange(self.horizon)
        lag_rows = t0 + steps - self.lag * (steps // self.lag + 1)  # same hour, latest day before issue time
        target = a.target[t0:t1]
        return {
            "history": torch.from_numpy(a.history[start:t0]).float(),
            "future": torch.from_numpy(a.future[t0:t1]).float(),
            "target": torch.from_numpy(np.nan_to_num(target)).float(),
            "mask": torch.from_numpy(np.isfinite(target)),
            "raw_target": torch.from_numpy(np.nan_to_num(a.raw_target[t0:t1])).float(),
            "persistence": torch.from_numpy(np.nan_to_num(a.raw_target[lag_rows])).float(),
            "month": torch.from_numpy(a.month[t0:t1]).long(),
            "hour": torch.from_numpy(a.hour[t0:t1]).long(),
            "station": torch.tensor(station),
            "index": torch.tensor(index),
        }
