"""Atomic file writes: a killed process never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from nie.core.errors import ConfigError, DataError


def read_csv(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` whose failures on a bad file (empty, truncated or not-really gzip, not
    text, malformed rows) are one ``DataError`` naming the file."""
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (expected a header line and rows)") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(
            f"{path}: not a complete gzip file ({err}); the file is truncated or not gzip-compressed"
        ) from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err})") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: malformed rows: {err}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success. The file gets
    the permissions the umask gives any new file (a shared results folder stays readable)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the mode any new file would
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def check_writable(path: str | os.PathLike[str], option: str = "--out") -> None:
    """Refuse an output path that cannot be written, before any compute: a folder where a file is
    expected, a file where a folder is needed, or a folder this process may not write in."""
    if not str(path):
        raise ConfigError(f"{option} is empty; give a file path")
    if Path(path).is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file path")
    check_writable_folder(Path(path).parent, option, shown=path)


def check_writable_folder(path: str | os.PathLike[str], option: str, shown: str | os.PathLike[str] = "") -> None:
    """Refuse a folder a run creates and writes in (``checkpoint.root``, a logger's ``save_dir``, an output file's
    folder: the file ``shown``) that cannot be, before anything is built: a file in its place or above it, or a
    folder this process may not write in. The nearest existing folder at or above it must take a new file
    (probed: permissions alone do not tell under root or on read-only mounts)."""
    shown = shown or path
    folder = Path(path)
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{option} {shown}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
    except OSError as err:
        raise ConfigError(f"{option} {shown}: cannot write in {folder} ({err.strerror})") from None
    os.close(fd)
    os.unlink(probe)
