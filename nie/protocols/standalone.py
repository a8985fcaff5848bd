"""A config file that holds one typed section alone (an ensemble's ``ensemble:``): read by the protocol that owns
it, not by the run's command line, and parsed by its type, so a bad value, another key beside it or another
``--config`` with it is one line naming the file and the field."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

import yaml
from jsonargparse import ArgumentError, ArgumentParser

from nie.cli.parsing import condense_parse_error, split_configs
from nie.core.errors import ConfigError, did_you_mean


def read_yaml(path: str) -> Any:
    """A config file's content; None for a missing or unreadable one (the CLI reports those itself)."""
    if not Path(path).is_file():
        return None
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError:
        return None


def read_section(key: str, kind: Any, help: str, args: Sequence[str]) -> Any:
    """The section ``key`` of type ``kind``, when the only ``--config`` of ``args`` is a file holding it
    (None otherwise); a bad value, another key beside it, or another ``--config`` with it is one line naming the
    file and the field."""
    configs, _ = split_configs(args)
    contents = [read_yaml(path) for path in configs]
    held = [path for path, content in zip(configs, contents) if isinstance(content, dict) and key in content]
    if held and len(configs) > 1:
        raise ConfigError(
            f"{held[0]}: an '{key}:' config stands alone; give other options as arguments, not another --config"
        )
    if not held:
        return None
    others = sorted(str(k) for k in contents[0] if k != key)
    if others:
        raise ConfigError(f"{held[0]}: an '{key}:' config holds only '{key}:'; found also {others}")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{key}", type=kind, required=True, help=help)
    try:
        return kind(**parser.parse_path(held[0])[key].as_dict())
    except ArgumentError as err:
        raise ConfigError(f"{held[0]} (a config of '{key}:' alone): {field_error(kind, str(err))}") from None
    except ConfigError as err:
        raise ConfigError(f"{held[0]}: {err}") from None


def field_error(kind: Any, message: str) -> str:
    """jsonargparse's error as one line; for a key the section does not know, the closest and every field."""
    line = condense_parse_error(message)
    unknown = re.search(r"does not accept option '([^']+)'", line)
    if unknown is None:
        return line
    names = [f.name for f in fields(kind)]
    return f"{line}{did_you_mean(unknown.group(1), names, n=1)}; expected {', '.join(names)}"
