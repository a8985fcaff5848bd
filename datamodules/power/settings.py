"""The power datamodule's arguments as typed values (Lightning keeps them in ``hparams``, an untyped dict)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

from nie.core.settings import Settings
from nie.forecasting.spec import TargetTransform


@dataclass(frozen=True)
class PowerDataSettings(Settings):
    """``PowerDataModule``'s arguments (documented there), read from its ``hparams``; ``dataset`` is resolved."""

    path: str
    val_start: str
    test_start: str
    test_end: Optional[str]
    train_start: Optional[str]
    time_column: str
    station_column: str
    target_column: str
    known_covariates: Optional[list[str]]
    past_covariates: Optional[list[str]]
    static_columns: Optional[list[str]]
    accumulated: Optional[list[str]]
    accumulation_reset_hour: int
    calendar_features: bool
    capacity: Optional[float]
    capacity_column: Optional[str]
    frequency: str
    time_format: Optional[str]
    timezone: Optional[str]
    target_transform: TargetTransform
    seq_len: int
    horizon: int
    stride: int
    eval_stride: Optional[int]
    missing: Literal["drop", "mask"]
    stations: Optional[list[str]]
    negative_power: Literal["error", "clip"]
    negative_tolerance: Optional[float]
    batch_size: int
    shuffle: bool
    drop_last: bool
    num_workers: int
    dataset: str
    target_history: bool = True
    solar: Optional[dict[str, Any]] = None
    neighbour_hours: int = 0
