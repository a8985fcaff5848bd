"""Config sections of a protocol (``backtest:``), registered by its own package: every parser of the command
line has them, typed, without importing a protocol; the other subcommands ignore them."""

from __future__ import annotations

from typing import Any, Optional

from jsonargparse import ArgumentParser

SECTIONS: dict[str, tuple[Any, str]] = {}  # key: (its type, a dataclass; its help)


def register_section(key: str, kind: Any, help: str) -> None:
    """Make ``key:`` a typed section of every run's config, absent by default (called by the protocol's package)."""
    SECTIONS[key] = (kind, help)


def add_sections(parser: ArgumentParser) -> None:
    """Every registered section as an optional argument of ``parser``."""
    for key, (kind, help) in SECTIONS.items():
        parser.add_argument(f"--{key}", type=Optional[kind], default=None, help=help)
