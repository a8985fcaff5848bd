"""Config sections of the protocols, each a dataclass registered by its own package (``backtest:``): a section of
every run's config (the other subcommands ignore it), parsed by its type, so a bad value is one line naming the
field, and the command line imports no protocol."""

from __future__ import annotations

from typing import Any, Optional

from jsonargparse import ArgumentParser

SECTIONS: dict[str, tuple[Any, str]] = {}  # key: its type (a dataclass), its help


def register_section(key: str, kind: Any, help: str) -> None:
    """Make ``key:`` a typed section of every run's config, absent by default."""
    SECTIONS[key] = (kind, help)


def add_sections(parser: ArgumentParser) -> None:
    """Every registered section of a run's config as an optional argument of ``parser``."""
    for key, (kind, help) in SECTIONS.items():
        parser.add_argument(f"--{key}", type=Optional[kind], default=None, help=help)
