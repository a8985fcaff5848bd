"""What a datamodule or task offers the command line beyond Lightning's own interface.

Each is optional: the command line checks for it with ``isinstance`` and does without it otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Protocol, runtime_checkable

import pandas as pd
from matplotlib.figure import Figure
from torch import Tensor


@runtime_checkable
class WritesPredictions(Protocol):
    """A datamodule that turns ``predict`` outputs into a table and writes it (CSV) atomically."""

    def write_predictions(self, outputs: list[Any], path: str | Path) -> pd.DataFrame: ...


@runtime_checkable
class ReportsData(Protocol):
    """A datamodule that counts what its missing-value policy dropped (saved as ``data_report.json``)."""

    data_report: dict[str, Any]


@runtime_checkable
class LabelledStages(Protocol):
    """A datamodule whose validation and test items are labelled nodes: ensembles combine and score them."""

    def stage_labels(self, stage: str) -> tuple[Tensor, Tensor]: ...


@runtime_checkable
class NamesScores(Protocol):
    """A task that knows the validation scores it logs before any data is read (``val/<name>``), so a
    protocol ranking on one it never logs is refused before anything trains."""

    def score_names(self) -> set[str]: ...


@runtime_checkable
class DrawsPredictions(Protocol):
    """A task that draws a figure of a prediction table (written as a PNG beside the CSV)."""

    def prediction_figure(self, table: pd.DataFrame) -> Optional[Figure]: ...
