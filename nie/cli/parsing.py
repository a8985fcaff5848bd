"""Reading the command line: config arguments, ``include:`` expansion and one-line parse errors."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import yaml

from nie.core.errors import ConfigError, did_you_mean
from nie.core.settings import argument_names


def import_object(path: str) -> Any:
    """The object a dotted ``class_path`` names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


OPTION_OWNERS = {  # where a misspelled option of each config section may have meant to go
    "model": ("nie.importance.NodeImportanceTask", "nie.forecasting.PowerForecastTask"),
    "data": (
        "datamodules.SyntheticKnowledgeGraphDataModule",
        "datamodules.KnowledgeGraphDataModule",
        "datamodules.PowerDataModule",
    ),
    "trainer": ("lightning.pytorch.Trainer",),
}


def section_options(section: str) -> set[str]:
    """Every option name a config section accepts in some owner (what a misspelled option may have meant)."""
    names: set[str] = set()
    for path in OPTION_OWNERS.get(section.split(".")[0], ()):
        names.update(argument_names(import_object(path)))
    return names


def condense_parse_error(message: str) -> str:
    """jsonargparse's nested union report as one line: the key path and the innermost cause."""
    keys = ".".join(re.findall(r'Parser key "([^"]+)"', message))
    causes = [
        line
        for line in message.splitlines()
        if line.strip() and not line.strip().startswith(("Given value", "- Expected a <class 'NoneType'>"))
    ]
    deepest = max(causes, key=lambda line: len(line) - len(line.lstrip())).strip() if causes else message
    deepest = deepest.lstrip("- ")
    got = re.search(r"\. Got value: (.*)$", deepest) or re.search(r"^\s*Given value: (?!NestedArg)(.*)$", message, re.M)
    deepest = re.sub(r"\. Got value: .*$", "", deepest)
    bare = got and re.fullmatch(r"[\w@/.,\- ]+", got.group(1).strip())  # a name or names, brackets left out
    if bare and re.match(r"Expected a <class '(list|collections\.abc\.Sequence)'>$", deepest):
        deepest = f"Expected a list such as [{bare.group(0)}]"
    if got and deepest.startswith("Expected"):
        deepest = f"{deepest}, got {got.group(1).strip()!r}"
    unknown = re.match(r"Option '([^']+)' is not accepted", deepest)
    if unknown and keys:
        deepest += did_you_mean(unknown.group(1), section_options(keys))
    return f"{keys}: {deepest}" if keys and not deepest.startswith("Parser key") else deepest


def walk_configs(args: Sequence[str]) -> Iterator[tuple[Optional[str], Optional[str]]]:
    """Each argument in order as ``(config path, None)`` for ``--config X`` / ``--config=X`` or
    ``(None, argument)`` for anything else."""
    items = iter(args)
    for arg in items:
        if arg == "--config":
            path = next(items, None)
        elif arg.startswith("--config="):
            path = arg[len("--config=") :]
        else:
            path = None
        yield (path, None) if path is not None else (None, arg)


def split_configs(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``--config`` paths of ``args``, and the other arguments in their order."""
    walked = list(walk_configs(args))
    return [p for p, _ in walked if p is not None], [a for p, a in walked if a is not None]


def expand_includes(args: list[str]) -> list[str]:
    """Put the files a config ``include``s (paths relative to it, parsed first, recursively) before it,
    so an experiment is one YAML that names its shared trainer/data settings and overrides them."""
    expanded: list[str] = []
    for path, arg in walk_configs(args):
        if path is None:
            expanded += [arg] if arg is not None else []
            continue
        for included in config_includes(Path(path), ()):
            expanded += ["--config", str(included)]
        expanded += ["--config", path]
    return expanded


def config_includes(path: Path, chain: tuple[Path, ...]) -> list[Path]:
    """Every file ``path`` includes, deepest first; a missing file or a cycle is one clear error."""
    try:
        config = yaml.safe_load(path.read_text()) if path.is_file() else None
    except yaml.YAMLError:
        return []  # jsonargparse reports the syntax error with the file name
    names = (config or {}).get("include") if isinstance(config, dict) else None
    if not names:
        return []
    found: list[Path] = []
    for name in [names] if isinstance(names, str) else names:
        included = path.parent / name
        if not included.is_file():
            raise ConfigError(f"{path}: include {name!r}: no such file {included}")
        if included.resolve() in chain:
            raise ConfigError(f"{path}: include {name!r} includes itself")
        found += [*config_includes(included, (*chain, path.resolve())), included]
    return found
