"""Forecast-vs-actual figures (TensorBoard at validation, PNG from predict.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nie.forecasting.quantiles import central_intervals  # noqa: E402


def forecast_week_figure(table: pd.DataFrame, week_start: pd.Timestamp | None = None) -> Figure:
    """One panel per station: forecast and actual over the 7 days from ``week_start`` (default: first),
    with the widest central interval of the table's ``q<level>`` columns shaded (``q0.1`` to ``q0.9``
    for the deciles), labelled by its own levels."""
    stations = sorted(table["station"].unique(), key=str)
    start = pd.Timestamp(week_start) if week_start is not None else table["target_time"].min()
    end = start + pd.Timedelta(days=7)
    levels = sorted(float(column[1:]) for column in table.columns if column.startswith("q"))
    band = [levels[i] for i in next(iter(central_intervals(levels).values()), ())]
    fig, axes = plt.subplots(len(stations), 1, figsize=(10, 2.2 * len(stations)), sharex=True, squeeze=False)
    for ax, station in zip(axes[:, 0], stations):
        rows = table[(table["station"] == station) & (table["target_time"] >= start) & (table["target_time"] < end)]
        rows = rows.sort_values("target_time")
        ax.plot(rows["target_time"], rows["actual"], label="actual", color="black", linewidth=1)
        if band:
            ax.fill_between(
                rows["target_time"],
                rows[f"q{band[0]:g}"],
                rows[f"q{band[1]:g}"],
                color="tab:orange",
                alpha=0.25,
                linewidth=0,
                label=f"{100 * band[0]:g}–{100 * band[1]:g} %",
            )
        ax.plot(rows["target_time"], rows["forecast"], label="forecast", color="tab:orange", linewidth=1)
        ax.set_ylabel(f"station {station}")
    axes[0, 0].legend(loc="upper right")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
