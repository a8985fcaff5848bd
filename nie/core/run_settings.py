"""The settings a run directory and its checkpoints were made with, and how two records differ.

A run directory is named by a few hyper-parameters only; every other setting that shapes the
checkpoints (label or target transform, quantile levels, features, network shape, seed, ...) is
recorded in ``settings.json`` beside them and inside each checkpoint, with the identity of the data read
(its fingerprint, compared, and its resolved paths, shown). A new run or a checkpoint load whose settings
or data differ is refused (or given another folder), so a folder never mixes configurations or data sets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from nie.core.errors import ConfigError

SETTINGS_FILE = "settings.json"
CHECKPOINT_KEY = "run_settings"
DATA_FINGERPRINT = "data_fingerprint"  # a hash of the data a datamodule read: compared
DATA_PATHS = "data_paths"  # where it read them: recorded and shown, not compared (the data may move)
# what changes neither the weights nor the outputs of a run: where files are, how fast it runs, which
# evaluation extras it draws, where the test span ends
UNRECORDED = (
    "root",
    "path",
    "node_info",
    "triples",
    "relation_names",
    "semantic_pickle",
    "cache_dir",
    "num_workers",
    "eval_batch_size",
    "backend",
    "eval_stride",
    "test_end",
    "top_k",
    "figures",
    "figure_every",
    "plot_week_start",
)
# those that change a run's scores though (how and where it is evaluated): a folder's checkpoints serve each
# value, a finished split's result (``split_settings``) only the one it was scored with
EVALUATION = ("eval_stride", "test_end", "top_k")
# training options that change neither the weights nor the scores (how a run is shown and logged)
UNCOMPARED_TRAINING = (
    "trainer.logger",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "trainer.default_root_dir",
    "trainer.profiler",
    "trainer.plugins",
    "trainer.enable_autolog_hparams",
    "trainer.model_registry",
    "checkpoint.root",
    "checkpoint.unrecorded",
    "checkpoint.overwrite",
)


def plain(value: Any) -> Any:
    """A JSON value for a setting: configured objects by their ``run_name`` or class."""
    value = getattr(value, "run_name", value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"{type(value).__module__}.{type(value).__qualname__}"


def recorded_settings(values: Mapping[str, Any], unrecorded: Sequence[str] = UNRECORDED) -> dict[str, Any]:
    """The settings to record of a run's values (``naming.run_values``), as plain JSON data."""
    kept = {k: plain(v) for k, v in sorted(values.items()) if k not in unrecorded and not k.startswith("_")}
    normalised: dict[str, Any] = json.loads(json.dumps(kept))  # tuples as lists, as read back from disk
    return normalised


def split_settings(
    values: Mapping[str, Any], training: Mapping[str, Any], unrecorded: Sequence[str] = UNRECORDED
) -> dict[str, Any]:
    """What a finished split's result (a cv fold, a backtest origin) was made with: the run's recorded settings
    with the evaluation ones (``EVALUATION``), and how it trained (``training``: the trainer's and the training
    callbacks' options by dotted name, ``UNCOMPARED_TRAINING`` left out). Compared by ``differences``."""
    kept = recorded_settings(values, [k for k in unrecorded if k not in EVALUATION])
    shown = (k for k in sorted(training) if not any(k == u or k.startswith(f"{u}.") for u in UNCOMPARED_TRAINING))
    return {**kept, **recorded_settings({k: training[k] for k in shown}, ())}


def data_identity(datamodule: Any) -> dict[str, Any]:
    """``{data_fingerprint, data_paths}`` of a datamodule that offers them (reading its data if it has not
    yet), else ``{}``: a datamodule without them is not checked."""
    if datamodule is None or not hasattr(type(datamodule), DATA_FINGERPRINT):
        return {}
    return {DATA_FINGERPRINT: datamodule.data_fingerprint, DATA_PATHS: dict(datamodule.data_paths)}


def describe_data(settings: Mapping[str, Any]) -> str:
    """``fb15k at /data/fb15k (fingerprint 1a2b3c4d5e6f)``: a data set as a user can tell two apart."""
    paths = settings.get(DATA_PATHS) or {}
    where = ", ".join(str(p) for p in paths.values()) if isinstance(paths, Mapping) else str(paths)
    fingerprint = str(settings.get(DATA_FINGERPRINT))[:12]
    return f"{settings.get('dataset', 'data')} at {where or 'an unrecorded path'} (fingerprint {fingerprint})"


def data_difference(saved: Mapping[str, Any], current: Mapping[str, Any]) -> Optional[str]:
    """``"data: <there> there, <now> now"`` when both records hold a fingerprint and they differ."""
    if DATA_FINGERPRINT not in saved or DATA_FINGERPRINT not in current:
        return None
    if saved[DATA_FINGERPRINT] == current[DATA_FINGERPRINT]:
        return None
    return f"data: {describe_data(saved)} there, {describe_data(current)} now"


def differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``"name: X there, Y now"`` for every setting both records hold with other values, the data first
    (a setting only one of them knows comes from another release of the code and is not compared)."""
    data = data_difference(saved, current)
    shared = sorted(set(saved) & set(current) - {DATA_FINGERPRINT, DATA_PATHS})
    changed = [f"{k}: {saved[k]!r} there, {current[k]!r} now" for k in shared if saved[k] != current[k]]
    return changed if data is None else [data, *changed]


def folder_settings(folder: Path) -> Optional[dict[str, Any]]:
    """The settings recorded in a run directory, or None (new folder, or one from before records)."""
    path = folder / SETTINGS_FILE
    saved: Optional[dict[str, Any]] = json.loads(path.read_text()) if path.is_file() else None
    return saved


def check_same_model(
    saved_task: str | None, saved_network: str | None, task: str, network: str, source: str = "the checkpoint"
) -> None:
    """Refuse a checkpoint of another task or network before its weights or hyper-parameters are used."""
    if saved_network is not None and (saved_network, saved_task or task) != (network, task):
        raise ConfigError(
            f"{source} holds a {saved_task or 'model'} with network {saved_network!r}, "
            f"but the config builds a {task} with network {network!r}"
        )
