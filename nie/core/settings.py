"""Hyper-parameters read back as a typed, frozen dataclass instead of Lightning's untyped ``hparams``."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any, Mapping, TypeVar

S = TypeVar("S", bound="Settings")


class Settings:
    """Base of a frozen dataclass naming a class's constructor arguments (a test per class checks they
    match); ``of`` reads them from ``hparams``, which may hold more and may have changed since. A field
    with a default is one added later: checkpoints saved before it read the default."""

    @classmethod
    def of(cls: type[S], hparams: Mapping[str, Any]) -> S:
        every = fields(cls)  # type: ignore[arg-type]  # subclasses are dataclasses
        required = [f.name for f in every if f.default is MISSING and f.default_factory is MISSING]
        return cls(**{f.name: hparams[f.name] for f in every if f.name in hparams or f.name in required})
