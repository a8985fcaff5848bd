"""The benches' refusals of bad options: one ``error:`` line on stderr, before anything is generated,
loaded or run (a count that cannot be, an output that cannot be written)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional

from nie.core.errors import ConfigError
from nie.core.io import check_writable


@contextlib.contextmanager
def refused_in_one_line() -> Iterator[None]:
    """A ``ConfigError`` raised inside exits the process with its one line (no traceback)."""
    try:
        yield
    except ConfigError as refusal:
        sys.exit(f"error: {refusal}")


def check_at_least_one(counts: Mapping[str, Iterable[Optional[int]]]) -> None:
    """Each option's values are >= 1 (None: not given)."""
    for option, values in counts.items():
        for value in values:
            if value is not None and value < 1:
                raise ConfigError(f"{option} {value}: expected a number >= 1")


def check_outputs(outputs: Mapping[str, Optional[Path]]) -> None:
    """Each output given can be written (``nie.core.io.check_writable``, named by its option)."""
    for option, path in outputs.items():
        if path is not None:
            check_writable(path, option)
