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


SECTIONS = {
    "HParamCheckpoint": "checkpoint",
    "MinEpochsEarlyStopping": "early_stopping",
    "GradientNormClipping": "gradient_clipping",
}


def upgrade_callback_sections(config: dict[str, Any]) -> dict[str, Any]:
    """A run config saved when the training callbacks were ``trainer.callbacks`` entries, with those
    entries moved to their own sections (``checkpoint``, ``early_stopping``, ``gradient_clipping``)."""
    trainer = config.get("trainer") or {}
    kept = []
    for entry in trainer.get("callbacks") or []:
        name = str(entry.get("class_path", "")).rsplit(".", 1)[-1] if isinstance(entry, dict) else ""
        if name in SECTIONS:
            config[SECTIONS[name]] = {**(entry.get("init_args") or {}), **(config.get(SECTIONS[name]) or {})}
        else:
            kept.append(entry)
    if "callbacks" in trainer:
        trainer["callbacks"] = kept
    return config
