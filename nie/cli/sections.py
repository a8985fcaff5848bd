"""Config sections of a protocol (``backtest:``), registered by the protocol's own package.

The generic command line (``nie.cli.lightning_cli``) adds every registered section to its parser, typed,
without importing any protocol; the other subcommands ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from jsonargparse import ArgumentParser


@dataclass(frozen=True)
class Section:
    """One top-level key of a run's config, of type ``kind`` (a dataclass), absent by default."""

    key: str
    kind: Any
    help: str


SECTIONS: dict[str, Section] = {}


def register_section(key: str, kind: Any, help: str) -> None:
    """Make ``key:`` a typed section of every run's config (called once, by the protocol's package)."""
    SECTIONS[key] = Section(key, kind, help)


def add_sections(parser: ArgumentParser) -> None:
    """Every registered section as an optional argument of ``parser``."""
    for section in SECTIONS.values():
        parser.add_argument(f"--{section.key}", type=Optional[section.kind], default=None, help=section.help)
