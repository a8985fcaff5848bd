"""A backtest's schedule: the ``backtest:`` section of a power config, and the origins it gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import DateOffset

from nie.core.errors import ConfigError


@dataclass(frozen=True)
class BacktestPlan:
    """Rolling-origin evaluation (``train.py backtest``).

    Args:
        first_origin: the first forecast origin (the test span starts there).
        last_origin: the last origin (default: the last whose whole test span the data holds).
        step: pandas offset between origins, also each origin's test span (``MS``: calendar months,
            ``7D``: weeks); at least the forecast horizon.
        val_span: validation period just before each origin (a pandas timedelta, ``90D``); early
            stopping and the checkpoint choice see it, never the test span.
        window: training period before the validation span (default: everything, an expanding window).
        refit: ``full`` trains every origin from scratch; ``finetune`` starts every origin after the
            first from the previous origin's best checkpoint for ``finetune_epochs``.
        finetune_epochs: epochs of a fine-tune (default: a third of ``trainer.max_epochs``, at least 1).
    """

    first_origin: str
    last_origin: Optional[str] = None
    step: str = "MS"
    val_span: str = "90D"
    window: Optional[str] = None
    refit: Literal["full", "finetune"] = "full"
    finetune_epochs: Optional[int] = None


@dataclass(frozen=True)
class Origin:
    """One origin's periods: training from ``train_start`` (None: the data's start) to ``val_start``."""

    train_start: Optional[pd.Timestamp]
    val_start: pd.Timestamp
    origin: pd.Timestamp
    test_end: pd.Timestamp

    def data_init_args(self) -> dict[str, str]:
        """The datamodule's periods for this origin (``with_data``'s arguments)."""
        periods = {"val_start": str(self.val_start), "test_start": str(self.origin), "test_end": str(self.test_end)}
        return periods | ({"train_start": str(self.train_start)} if self.train_start else {})


def _timedelta(value: str, name: str) -> pd.Timedelta:
    try:
        span = pd.Timedelta(value)
    except ValueError:
        raise ConfigError(f"backtest.{name}: expected a time span such as 90D or 12h, got {value!r}") from None
    if span <= pd.Timedelta(0):
        raise ConfigError(f"backtest.{name} must be positive, got {value!r}")
    return span


def _timestamp(value: str, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except ValueError:
        raise ConfigError(f"backtest.{name}: expected a date and time, got {value!r}") from None


def _check_spans(
    plan: BacktestPlan,
    first: pd.Timestamp,
    span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta],
    history: int,
    horizon: int,
) -> tuple[pd.Timedelta, Optional[pd.Timedelta]]:
    """The validation span and training window, refused in one line where a split could hold no window
    (each needs a forecast horizon of targets; the first training window its history before that)."""
    data_start, _, frequency = span
    val_span = _timedelta(plan.val_span, "val_span")
    window = _timedelta(plan.window, "window") if plan.window else None
    for name, value in (("val_span", val_span), ("window", window)):
        if value is not None and value < horizon * frequency:
            raise ConfigError(
                f"backtest.{name} {getattr(plan, name)} is shorter than the forecast horizon ({horizon * frequency}): "
                f"its split would hold no window"
            )
    if first - val_span - (history + horizon) * frequency < data_start:
        raise ConfigError(
            f"backtest.val_span {plan.val_span} leaves no training data before the first origin {first} "
            f"(the data start at {data_start}; a training window needs {(history + horizon) * frequency})"
        )
    return val_span, window


def _first_origin(
    plan: BacktestPlan, step: DateOffset, span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta]
) -> pd.Timestamp:
    """``first_origin``, refused where it is outside the data or off the step's anchor (which would
    silently move the first test span: ``W`` origins fall on Sundays, ``MS`` on the 1st)."""
    data_start, data_end, _ = span
    first = _timestamp(plan.first_origin, "first_origin")
    if not data_start < first <= data_end:
        raise ConfigError(f"backtest.first_origin {first} is outside the data ({data_start} to {data_end})")
    if not step.is_on_offset(first):
        raise ConfigError(
            f"backtest.first_origin {first} does not fall on step {plan.step!r} ({step.freqstr}): its first origin "
            f"would be {step.rollforward(first)}; write that, or a fixed step such as 7D, which starts anywhere"
        )
    return first


def _grid(first: pd.Timestamp, last: pd.Timestamp, step: DateOffset) -> list[pd.Timestamp]:
    """first, first + step, ... up to ``last`` (pandas' date_range can drop an end with a time of day)."""
    points = [first]
    while points[-1] + step <= last:
        points.append(points[-1] + step)
    return points


def _origin_times(
    plan: BacktestPlan, step: DateOffset, first: pd.Timestamp, span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta]
) -> list[pd.Timestamp]:
    """The origins from ``first``; a ``last_origin`` outside the data, off the plan's origins or without
    a whole test span is refused in one line (the default is the last origin with a whole test span)."""
    _, data_end, frequency = span
    whole = data_end + frequency  # the end of the data's last step: a test span may reach it
    if not plan.last_origin:
        points = [o for o in _grid(first, data_end, step) if o + step <= whole]
        if not points:
            raise ConfigError(f"backtest: no origin from {first} has a whole test span in the data (to {data_end})")
        return points
    last = _timestamp(plan.last_origin, "last_origin")
    if not first <= last <= data_end:
        raise ConfigError(f"backtest.last_origin {last} is outside the data and the plan ({first} to {data_end})")
    points = _grid(first, last, step)
    if points[-1] != last:
        raise ConfigError(
            f"backtest.last_origin {last} is not an origin of the plan (first_origin + k * step {plan.step!r}): "
            f"the last one before it is {points[-1]}"
        )
    if last + step > whole:
        usable = [o for o in points if o + step <= whole]
        instead = f"the last with one is {usable[-1]}" if usable else "no origin of the plan has one"
        raise ConfigError(
            f"backtest.last_origin {last}: its test span to {last + step} passes the data's end ({data_end}); {instead}"
        )
    return points


def origins(
    plan: BacktestPlan, span: tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta], history: int, horizon: int
) -> list[Origin]:
    """Every origin of ``plan`` on data from ``span[0]`` to ``span[1]`` (time step ``span[2]``), each with
    its periods; everything that cannot work is one ``ConfigError`` before anything trains (a value the
    plan would otherwise change, like an origin rolled to the step's anchor, included)."""
    data_start, _, frequency = span
    try:
        step = to_offset(plan.step)
    except ValueError:
        raise ConfigError(f"backtest.step: expected a pandas offset such as MS or 7D, got {plan.step!r}") from None
    first = _first_origin(plan, step, span)
    if (first + step) - first < horizon * frequency:
        raise ConfigError(f"backtest.step {plan.step!r} is shorter than the forecast horizon ({horizon * frequency})")
    val_span, window = _check_spans(plan, first, span, history, horizon)
    if plan.finetune_epochs is not None and plan.finetune_epochs < 1:
        raise ConfigError(f"backtest.finetune_epochs must be at least 1, got {plan.finetune_epochs}")
    return [
        Origin(None if window is None else max(o - val_span - window, data_start), o - val_span, o, o + step)
        for o in _origin_times(plan, step, first, span)
    ]
