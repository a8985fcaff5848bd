"""Class paths of earlier releases, so checkpoints and run configs saved by them still load."""

from __future__ import annotations

from typing import Any

_MOVED = {
    "nie.importance": (
        "NodeImportanceTask",
        "LICAP",
        "InDegree",
        "PageRank",
        "PersonalizedPageRank",
        "GENI",
        "GAT",
        "RGCN",
        "RGTN",
    ),
    "nie.forecasting": ("PowerForecastTask", "LSTMForecaster", "Persistence", "Climatology", "NWPRegression"),
    "nie.core.checkpoint_io": ("AtomicCheckpointIO",),
}
_OLD_MODULES = ("nie.tasks", "nie.models", "nie.licap", "nie.checkpoint_io")
CURRENT = {name: f"{home}.{name}" for home, names in _MOVED.items() for name in names}


def current_class_path(path: str) -> str:
    """Where the class an old ``class_path`` named lives now (unchanged if it did not move)."""
    module, _, name = path.rpartition(".")
    if name in CURRENT and module.startswith(_OLD_MODULES):
        return CURRENT[name]
    return path


def upgrade_class_paths(value: Any) -> Any:
    """A copy of a config or hyper-parameter tree with every old class path replaced."""
    if isinstance(value, dict):
        return {
            k: (
                current_class_path(v)
                if k in ("class_path", "_class_path") and isinstance(v, str)
                else upgrade_class_paths(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [upgrade_class_paths(v) for v in value]
    return value
