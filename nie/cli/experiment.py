"""One experiment, parsed once: the resolved config of a run, which protocols change by typed values
(``with_data(fold=2)``, ``with_trainer(max_epochs=5)``), validated by the same parser when built."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser
from typing_extensions import override

from nie.cli.lightning_cli import NIECLI
from nie.cli.parsing import expand_includes, split_configs
from nie.core.errors import ConfigError


class _Parser(Exception):
    """Carries the parser out of a ``NIECLI`` stopped before it parses (nothing built, nothing seeded)."""

    def __init__(self, parser: LightningArgumentParser) -> None:
        super().__init__()
        self.parser = parser


class _ParserOnly(NIECLI):
    @override
    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        raise _Parser(parser)


def experiment_parser() -> LightningArgumentParser:
    """The parser of one run's config (``NIECLI(run=False)``'s: no subcommand)."""
    try:
        _ParserOnly(args=[], run=False)
    except _Parser as stopped:
        return stopped.parser
    raise AssertionError("unreachable: _ParserOnly stops before parsing")


def recorded_sections(path: Path, parser: LightningArgumentParser) -> dict[str, Any]:
    """The sections of a saved run config that build a run (not a subcommand's own options such as
    ``ckpt_path``); a section given as a file name (``data: data.yaml``) is read from beside ``path``."""
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not a readable YAML config: {err}") from None
    if not isinstance(config, dict) or "model" not in config or "data" not in config:
        raise ConfigError(
            f"{path}: expected a config with 'model' and 'data' sections (the config.yaml saved with the run, or "
            "an experiment config that has them or names the files that do under include:)"
        )
    known = {key.split(".", 1)[0] for key in parser.get_defaults().keys()} - {"config"}
    sections = {k: v for k, v in config.items() if k in known}
    for section, value in sections.items():
        if isinstance(value, str) and value.endswith((".yaml", ".yml")):
            included = path.parent / value
            try:
                sections[section] = yaml.safe_load(included.read_text())
            except (OSError, yaml.YAMLError) as err:
                raise ConfigError(
                    f"{path}: section '{section}' includes {included}, which is not readable: {err}"
                ) from None
    return sections


@dataclass(frozen=True)
class Experiment:
    """The parsed config of one run (no subcommand: what ``NIECLI(run=False)`` builds) and the
    ``--config`` files it was read from (a backtest names its folder after them)."""

    config: Namespace = field(repr=False)
    parser: LightningArgumentParser = field(repr=False, compare=False)
    configs: tuple[str, ...] = ()

    @classmethod
    def from_argv(cls, argv: list[str]) -> "Experiment":
        """The experiment ``train.py fit``'s arguments ``argv`` describe (``include:`` files read first)."""
        parser = experiment_parser()
        return cls(parser.parse_args(expand_includes(argv)), parser, tuple(split_configs(argv)[0]))

    @classmethod
    def recorded(cls, path: Path) -> "Experiment":
        """The experiment a config file records: the ``config.yaml`` a ``fit`` saved in its run directory,
        or an experiment config (one that ``include``s others is read as ``train.py`` reads it)."""
        try:
            includes = bool((yaml.safe_load(path.read_text()) or {}).get("include"))
        except (OSError, yaml.YAMLError, AttributeError):
            includes = False  # recorded_sections says what is wrong with the file
        if includes:
            return cls.from_argv(["--config", str(path)])
        parser = experiment_parser()
        return cls(parser.parse_object(recorded_sections(path, parser)), parser, (str(path),))

    def _with(self, prefix: str, values: dict[str, Any]) -> "Experiment":
        config = self.config.clone()
        for key, value in values.items():
            config[prefix + key] = value
        return replace(self, config=config)

    def with_data(self, **init_args: Any) -> "Experiment":
        """The datamodule's arguments changed (``fold``, a backtest origin's periods)."""
        return self._with("data.init_args.", init_args)

    def with_trainer(self, **arguments: Any) -> "Experiment":
        """The trainer's arguments changed (``max_epochs`` of a fine-tune)."""
        return self._with("trainer.", arguments)

    def with_checkpoint(self, **arguments: Any) -> "Experiment":
        """The ``checkpoint:`` section changed (a backtest origin's ``root``)."""
        return self._with("checkpoint.", arguments)

    def build(self) -> NIECLI:
        """The model, datamodule and trainer of this experiment, checked by the parser, nothing run."""
        return NIECLI(args=self.config.clone(), run=False)
