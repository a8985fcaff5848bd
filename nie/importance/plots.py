"""Predicted-vs-true figures for node importance (TensorBoard at validation, PNG from predict.py).

Figures are built with ``matplotlib.figure.Figure`` and rendered by Agg: nothing is registered with pyplot,
so a figure is freed once dropped and the caller's pyplot backend is left alone.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torchmetrics.functional import spearman_corrcoef

from nie.importance.metrics import overlap


def overlap_curve(preds: Tensor, target: Tensor, max_k: int = 100) -> Tensor:
    """OVERLAP@k for k = 1 ... min(max_k, n), as ``OverlapAtK`` computes it (the last point is the logged metric)."""
    preds, target = preds.flatten().float(), target.flatten().float()
    return torch.tensor([overlap(preds, target, k) for k in range(1, min(max_k, preds.numel()) + 1)])


def importance_figure(
    preds: Tensor, target: Tensor, nodes: str, max_k: int = 100, max_points: int = 5000, seed: int = 0
) -> Figure:
    """Two panels: predicted against true label (log-importance) with Spearman's ρ in the title, and the
    top-k overlap curve beside what a random ranking scores (k / n). Spearman and overlap use every node;
    the scatter shows at most ``max_points`` of them (a seeded sample, so the same data draws the same figure).
    ``nodes`` names the nodes drawn, e.g. "validation nodes"."""
    preds, target = preds.detach().flatten().float().cpu(), target.detach().flatten().float().cpu()
    n = preds.numel()
    rho = float(spearman_corrcoef(preds, target)) if n > 1 else float("nan")
    curve = overlap_curve(preds, target, max_k).numpy()
    shown = np.arange(n)
    if n > max_points:
        shown = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))

    fig = Figure(figsize=(10, 4.2))
    scatter, overlap = fig.subplots(1, 2)
    x, y = target.numpy()[shown], preds.numpy()[shown]
    scatter.scatter(x, y, s=8, alpha=0.5, linewidths=0)
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    scatter.plot([low, high], [low, high], color="black", linewidth=0.8, label="y = x")
    scatter.set_xlabel("true label (log-importance)")
    scatter.set_ylabel("predicted label")
    scatter.set_title(f"{n} {nodes}: Spearman ρ = {rho:.3f}")
    scatter.legend(loc="upper left")

    ks = np.arange(1, len(curve) + 1)
    overlap.plot(ks, curve, color="tab:blue", label="model")
    overlap.plot(ks, ks / n, color="gray", linestyle="--", linewidth=0.8, label="random (k / n)")
    overlap.set_ylim(0, 1.05)
    overlap.set_xlabel("k")
    overlap.set_ylabel("top-k overlap")
    overlap.set_title(f"OVERLAP@{len(curve)} = {curve[-1]:.3f}")
    overlap.legend(loc="lower right")
    fig.tight_layout()
    return fig


def explanation_figure(names: list[str], means: list[float], nodes: str) -> Figure:
    """One bar per explained part (SKES: a view at a hop) with its mean over ``nodes``: which sources
    the network leans on."""
    figure = Figure(figsize=(6, 0.3 * len(names) + 1.2))
    axes = figure.subplots()
    axes.barh(np.arange(len(names)), means)
    axes.set_yticks(np.arange(len(names)), names)
    axes.invert_yaxis()
    axes.set_xlabel(f"mean over {nodes}")
    figure.tight_layout()
    return figure
