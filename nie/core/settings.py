"""A class's constructor arguments defined once, as a frozen dataclass: their names, types, defaults and docs.

The class takes ``**arguments`` and builds its settings from them (``MySettings(**arguments)``); jsonargparse
follows the ``**`` into the dataclass, so configs (``init_args: {...}``), ``--help`` and type errors read
its fields. Lightning keeps the values in ``hparams`` (checkpoints, run folders); ``of`` reads them back typed.
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any, Mapping, TypeVar, get_type_hints

S = TypeVar("S", bound="Settings")


class Settings:
    """Base of a frozen dataclass of a class's constructor arguments (a field without a default is a required
    argument, e.g. ``DistributedGraphSettings.partitions``)."""

    @classmethod
    def of(cls: type[S], hparams: Mapping[str, Any]) -> S:
        """The settings ``hparams`` hold now (which may hold more); a field missing there (a checkpoint
        saved before it existed) reads its default, and a required one missing is a ``TypeError``."""
        return cls(**{f.name: hparams[f.name] for f in fields(cls) if f.name in hparams})  # type: ignore[arg-type]

    def values(self) -> dict[str, Any]:
        """Every field by name, the values themselves (a configured object stays that object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def argument_names(cls: type) -> set[str]:
    """A class's constructor arguments by name: its signature's own, and the fields of the ``Settings`` its
    ``settings`` property returns (what its ``**arguments`` take)."""
    names = {p.name for p in inspect.signature(cls).parameters.values() if p.kind is not p.VAR_KEYWORD}
    reader = getattr(cls, "settings", None)
    typed = get_type_hints(reader.fget).get("return") if isinstance(reader, property) and reader.fget else None
    if isinstance(typed, type) and issubclass(typed, Settings):
        names |= {f.name for f in fields(typed)}  # type: ignore[arg-type]  # Settings subclasses are dataclasses
    return names
