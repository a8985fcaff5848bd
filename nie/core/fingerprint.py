"""Fingerprints of the data a run read: a hash of its arrays, remembered while its files are unchanged.

A run folder records the fingerprint of its data (``run_settings.DATA_FINGERPRINT``), so a folder made
from one data set refuses another. Computing it means reading the data; within one process (a ``cv``
with its folds, a ``backtest`` with its origins) it is read once while the files keep their size and
modification time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

FileStamp = tuple[tuple[str, int, int], ...]
_REMEMBERED: dict[tuple[Any, ...], str] = {}


def digest(*parts: Any) -> str:
    """SHA-256 over strings and arrays (their dtype, shape and bytes), in order."""
    hashed = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            hashed.update(part.encode())
        else:
            array = np.ascontiguousarray(part)
            hashed.update(f"{array.dtype.str}{array.shape}".encode())
            hashed.update(array.tobytes())
    return hashed.hexdigest()


def files_stamp(paths: Iterable[str | Path]) -> FileStamp:
    """Path, size and modification time of each file (a folder: the files directly in it)."""
    stamp: list[tuple[str, int, int]] = []
    for given in sorted(str(p) for p in paths):
        path = Path(given)
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                stat = file.stat()
                stamp.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


def remembered(stamp: FileStamp, settings: tuple[Any, ...], compute: Callable[[], str]) -> str:
    """``compute()``, remembered for these files (unchanged since) read with these settings."""
    if not stamp:  # nothing on disk to key by (a missing file): reading it says what is wrong
        return compute()
    key = (stamp, settings)
    if key not in _REMEMBERED:
        _REMEMBERED[key] = compute()
    return _REMEMBERED[key]
