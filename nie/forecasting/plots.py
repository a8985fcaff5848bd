"""Forecast-vs-actual figures (TensorBoard at validation, PNG from predict.py), with a reliability panel
for quantile forecasts."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nie.forecasting.combination import level_columns  # noqa: E402
from nie.forecasting.quantiles import QuantileReliability, central_intervals  # noqa: E402


def quantile_columns(table: pd.DataFrame) -> dict[float, str]:
    """The table's ``q<level>`` columns by level, in increasing order."""
    return {float(column[1:]): column for column in level_columns(table)}


def table_reliability(table: pd.DataFrame) -> tuple[list[float], dict[str, npt.NDArray[np.float64]], dict[str, int]]:
    """Levels, the share of ``actual`` values at or below each level's forecast over all hours and over
    producing hours (``QuantileReliability.fractions``: keys ``all``, ``producing``), and how many hours
    each holds; missing actuals are left out."""
    columns = quantile_columns(table)
    levels = list(columns)
    metric = QuantileReliability(levels)
    actual = torch.tensor(table["actual"].to_numpy(dtype=np.float64))
    metric.update(torch.tensor(table[list(columns.values())].to_numpy(dtype=np.float64)), actual, ~actual.isnan())
    shares = {name: values.numpy() for name, values in metric.fractions().items()}
    counts = {"all": int(metric.count[0]), "producing": int(metric.count[1])}
    return levels, shares, counts


def reliability_panel(ax: Axes, table: pd.DataFrame) -> None:
    """Nominal level against the observed share of actuals at or below its forecast, over all hours and
    over producing hours (actual > 0; its largest distance from the diagonal in the legend), with the
    diagonal a calibrated forecast follows."""
    levels, shares, counts = table_reliability(table)
    line: dict[str, Any] = {"marker": "o" if len(levels) <= 20 else None, "markersize": 3, "linewidth": 1}
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    ax.plot(levels, shares["all"], color="tab:blue", label="all hours", **line)
    if counts["producing"]:
        gap = float(np.abs(shares["producing"] - np.asarray(levels)).max())
        ax.plot(levels, shares["producing"], color="tab:orange", label=f"producing hours (gap {gap:.2f})", **line)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("quantile level")
    ax.set_ylabel("share of actuals ≤ forecast")
    ax.set_title(f"reliability ({counts['all']} hours, {counts['producing']} producing)", fontsize="medium")
    ax.legend(loc="upper left", fontsize="small")


def forecast_week_figure(table: pd.DataFrame, week_start: pd.Timestamp | None = None) -> Figure:
    """One panel per station: forecast and actual over the 7 days from ``week_start`` (default: first),
    with the widest central interval of the table's ``q<level>`` columns shaded (``q0.1`` to ``q0.9``
    for the deciles), labelled by its own levels. With quantile columns, a reliability panel of the
    whole table at the right (``reliability_panel``)."""
    stations = sorted(table["station"].unique(), key=str)
    start = pd.Timestamp(week_start) if week_start is not None else table["target_time"].min()
    end = start + pd.Timedelta(days=7)
    columns = quantile_columns(table)
    levels = list(columns)
    band = [levels[i] for i in next(iter(central_intervals(levels).values()), ())]
    rows = len(stations)
    fig = plt.figure(figsize=(14, max(2.2 * rows, 4.0)) if levels else (10, 2.2 * rows))
    grid = fig.add_gridspec(rows, 2, width_ratios=(5, 2)) if levels else fig.add_gridspec(rows, 1)
    axes: list[Axes] = []
    for i in range(rows):
        axes.append(fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None))
    for ax, station in zip(axes, stations):
        week = table[(table["station"] == station) & (table["target_time"] >= start) & (table["target_time"] < end)]
        week = week.sort_values("target_time")
        ax.plot(week["target_time"], week["actual"], label="actual", color="black", linewidth=1)
        if band:
            low, high = week[columns[band[0]]], week[columns[band[1]]]
            label = f"{100 * band[0]:g}–{100 * band[1]:g} %"
            ax.fill_between(week["target_time"], low, high, color="tab:orange", alpha=0.25, linewidth=0, label=label)
        ax.plot(week["target_time"], week["forecast"], label="forecast", color="tab:orange", linewidth=1)
        ax.set_ylabel(f"station {station}")
    axes[0].legend(loc="upper right")
    fig.autofmt_xdate()  # the station panels' dates only: the reliability panel comes after
    if levels:
        reliability_panel(fig.add_subplot(grid[:, 1]), table)
    fig.tight_layout()
    return fig
