"""Hyper-parameters read back as a typed, frozen dataclass instead of Lightning's untyped ``hparams``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping, TypeVar

S = TypeVar("S", bound="Settings")


class Settings:
    """Base of a frozen dataclass naming a class's constructor arguments (a test per class checks they
    match); ``of`` reads them from ``hparams``, which may hold more and may have changed since."""

    @classmethod
    def of(cls: type[S], hparams: Mapping[str, Any]) -> S:
        return cls(**{f.name: hparams[f.name] for f in fields(cls)})  # type: ignore[arg-type]  # a dataclass
