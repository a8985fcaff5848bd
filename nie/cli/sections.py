"""Config sections of the protocols, each a dataclass registered by its own package: ``backtest:`` is a section of
every run's config (the other subcommands ignore it), ``ensemble:`` a config file of its own. Either is parsed by
its type, so a bad value is one line naming the field, and the command line imports no protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import yaml
from jsonargparse import ArgumentError, ArgumentParser

from nie.cli.parsing import condense_parse_error, split_configs
from nie.core.errors import ConfigError

SECTIONS: dict[str, tuple[Any, str, bool]] = {}  # key: its type (a dataclass), its help, whether it stands alone


def register_section(key: str, kind: Any, help: str, alone: bool = False) -> None:
    """Make ``key:`` a typed section of every run's config, absent by default, or (``alone``) a file's only one."""
    SECTIONS[key] = (kind, help, alone)


def add_sections(parser: ArgumentParser) -> None:
    """Every registered section of a run's config as an optional argument of ``parser``."""
    for key, (kind, help, alone) in SECTIONS.items():
        if not alone:
            parser.add_argument(f"--{key}", type=Optional[kind], default=None, help=help)


def read_section(key: str, args: Sequence[str]) -> Any:
    """The section ``key`` registered ``alone``, typed, when the only ``--config`` of ``args`` is a file holding it
    (None otherwise); a bad value, or another key beside it, is one line naming the file and the field."""
    configs, _ = split_configs(args)
    if len(configs) != 1 or not Path(configs[0]).is_file():
        return None
    try:
        config = yaml.safe_load(Path(configs[0]).read_text())
    except yaml.YAMLError:
        return None  # the CLI reports unreadable configs itself
    if not isinstance(config, dict) or key not in config:
        return None
    kind, help, _ = SECTIONS[key]
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{key}", type=kind, required=True, help=help)
    try:
        return kind(**parser.parse_path(configs[0])[key].as_dict())
    except ArgumentError as err:
        raise ConfigError(f"{configs[0]} (a config of '{key}:' alone): {condense_parse_error(str(err))}") from None
    except ConfigError as err:
        raise ConfigError(f"{configs[0]}: {err}") from None
