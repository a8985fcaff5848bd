"""Checkpoints in directories named by the hyper-parameters that made them (``nie.core.naming``).

``runs/geni/fb15k/fold0/lr0.005-heads4/epoch=42-val_spearman=0.7810.ckpt``. The run directory also
receives the resolved ``config.yaml``, metrics JSON and ``best.json`` (the best checkpoint, for a
later ``test``). A run directory receives files only once its model and data were built (a run refused
before leaves nothing), and a run in it is never replaced silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional, Sequence

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn
from typing_extensions import override

from nie.core.errors import ConfigError, RunFolderError
from nie.core.io import write_json
from nie.core.lightning_private import refresh_last_checkpoint
from nie.core.naming import check_named_once, check_names, run_path, run_values
from nie.core.run_settings import (
    CHECKPOINT_KEY,
    DATA_FINGERPRINT,
    DATA_PATHS,
    SETTINGS_FILE,
    UNRECORDED,
    data_difference,
    describe_data,
    differences,
    folder_settings,
    recorded_settings,
)

BEST_RECORD = "best.json"  # the best checkpoint of a run folder (written on validation, read by recorded_best)


class HParamCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose directory is ``root/<dirs...>/<key value-...>``.

    Args:
        root: top directory of all runs.
        dirs: hyper-parameters that become directory levels (string values bare, e.g. ``geni``;
            others prefixed by their name, e.g. ``fold0``).
        hparams: hyper-parameters joined into the leaf name (``lr0.005-hidden8``); None/empty dropped.
        on_mismatch: what a run does when its folder holds checkpoints made with other settings (every
            run value except ``unrecorded`` is recorded in the folder's ``settings.json`` and in each
            checkpoint): ``error`` refuses with one line naming the settings, ``new_folder`` uses the
            first of ``<leaf>-v2``, ``<leaf>-v3``, ... that is new or holds the same settings.
        unrecorded: run values that change neither weights nor outputs (paths, workers, backend, ...).
        overwrite: a ``fit`` without ``--ckpt_path`` into a folder that holds a run deletes that run's
            files first; by default it is refused (continue it with ``--ckpt_path last``, or train into
            another ``root``).
        monitor, mode: the validation score that picks the best checkpoint; the command line fills
            them from the task (``default_monitor``: Spearman for node importance, RMSE or pinball for power).
        Other arguments are ``ModelCheckpoint``'s.

    Each checkpoint also carries the settings; the task refuses one whose settings differ from the
    config's before loading its weights (``BaseTask.on_load_checkpoint``).
    """

    def __init__(
        self,
        root: str = "runs",
        dirs: Sequence[str] = ("network", "dataset", "fold"),
        hparams: Sequence[str] = ("lr",),
        monitor: Optional[str] = None,
        mode: Optional[Literal["min", "max"]] = None,
        save_top_k: int = 1,
        save_last: Optional[bool] = True,
        filename: Optional[str] = None,
        on_mismatch: Literal["error", "new_folder"] = "error",
        unrecorded: Sequence[str] = UNRECORDED,
        overwrite: bool = False,
    ) -> None:
        if monitor is None or mode is None:
            raise ConfigError(
                "HParamCheckpoint needs monitor and mode (the command line fills them from the task's default)"
            )
        filename = filename or "epoch={epoch}-" + monitor.replace("/", "_") + "={" + monitor + ":.4f}"
        # no "-v1" copies: a run directory is keyed by its hyper-parameters, so a rerun replaces it;
        # save at validation end, where the monitored metric is fresh and last.ckpt is refreshed below
        super().__init__(
            monitor=monitor,
            mode=mode,
            save_top_k=save_top_k,
            save_last=save_last,
            filename=filename,
            auto_insert_metric_name=False,
            enable_version_counter=False,
            save_on_train_epoch_end=False,
        )
        if on_mismatch not in ("error", "new_folder"):
            raise ConfigError(f"HParamCheckpoint.on_mismatch must be 'error' or 'new_folder', got {on_mismatch!r}")
        self.root, self.dir_keys, self.hparam_keys = Path(root), list(dirs), list(hparams)
        check_named_once(self.dir_keys, self.hparam_keys)
        self.on_mismatch, self.unrecorded, self.overwrite = on_mismatch, list(unrecorded), overwrite
        self._recorded_best: Optional[str] = None
        self._warned: set[Path] = set()

    def settings(self, pl_module: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> dict[str, Any]:
        return recorded_settings(run_values(pl_module, datamodule), self.unrecorded)

    def check_names(self, pl_module: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> None:
        """Refuse, before the data is read, a ``dirs`` or ``hparams`` name this run has no value for (e.g.
        ``heads`` with a network that has none), in ``nie.core.naming.check_names``' one line."""
        network = str(run_values(pl_module, None).get("network", "none"))
        check_names(known_names(pl_module, datamodule), network, self.dir_keys, self.hparam_keys)

    def run_dir(self, pl_module: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> Path:
        """The run directory for this model and data; raises on a name the run has no value for, and on
        a folder recorded with other settings or other data (``on_mismatch: error``). This is where a
        run's identity is checked: folder reuse, resume, ``--ckpt_path best``, a cv fold read back."""
        values = run_values(pl_module, datamodule)
        named = run_path(self.root, values, self.dir_keys, self.hparam_keys)
        current = self.settings(pl_module, datamodule)
        folder, version = named, 1
        while (saved := folder_settings(folder)) is not None and (changed := differences(saved, current)):
            if self.on_mismatch == "error":
                raise RunFolderError(self._mismatch(folder, saved, current, changed))
            version += 1
            folder = named.with_name(f"{named.name}-v{version}")
        if saved is not None and DATA_FINGERPRINT in current and DATA_FINGERPRINT not in saved:
            self._warn_unchecked(folder, current)
        return folder

    def _mismatch(self, folder: Path, saved: dict[str, Any], current: dict[str, Any], changed: list[str]) -> str:
        if data_difference(saved, current) is None:
            return (
                f"{folder} holds a run made with other settings ({'; '.join(changed)}); name the setting in "
                "checkpoint.dirs or checkpoint.hparams, use another --checkpoint.root DIR, or set "
                "checkpoint.on_mismatch: new_folder"
            )
        apart = "--data.init_args.dataset NAME or " if "dataset" in [*self.dir_keys, *self.hparam_keys] else ""
        return (
            f"{folder} holds a run made from other data ({describe_data(saved)} there, {describe_data(current)} "
            f"now); give this data its own run folders with {apart}--checkpoint.root DIR"
        )

    def _warn_unchecked(self, folder: Path, current: dict[str, Any]) -> None:
        if folder not in self._warned:
            self._warned.add(folder)
            rank_zero_warn(
                f"{folder}: its {SETTINGS_FILE} records no data fingerprint (made before they were kept), so "
                f"its data cannot be checked against {describe_data(current)}"
            )

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.dirpath = str(self.run_dir(pl_module, getattr(trainer, "datamodule", None)))
        super().setup(trainer, pl_module, stage)

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The model and data are built: refuse to replace a run silently, else record the settings (the
        first file a fit writes into its folder)."""
        folder = Path(str(self.dirpath))
        held = sorted(p.name for p in folder.glob("*.ckpt")) if folder.is_dir() else []  # a run made there before
        if held and trainer.ckpt_path is None:
            if not self.overwrite:
                raise RunFolderError(
                    f"{folder} holds a run already ({', '.join(held)}): continue it with --ckpt_path last, "
                    "train into another --checkpoint.root DIR, or replace it with --checkpoint.overwrite true"
                )
            if trainer.is_global_zero:  # none of the replaced run's files outlives it
                for path in (p for p in folder.iterdir() if p.is_file()):
                    path.unlink()
        if trainer.is_global_zero:
            write_json(folder / SETTINGS_FILE, self.settings(pl_module, getattr(trainer, "datamodule", None)))

    @override
    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CHECKPOINT_KEY] = self.settings(pl_module, getattr(trainer, "datamodule", None))

    def _record_best(self, trainer: pl.Trainer) -> None:
        if trainer.is_global_zero and self.best_model_path and self.best_model_path != self._recorded_best:
            score = None if self.best_model_score is None else float(self.best_model_score)
            write_json(
                Path(str(self.dirpath)) / BEST_RECORD,
                {"best_model_path": self.best_model_path, "monitor": self.monitor, "score": score},
            )
            self._recorded_best = self.best_model_path

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        refresh_last_checkpoint(self, trainer)  # resuming after a kill needs the latest validated epoch
        self._record_best(trainer)


def known_names(pl_module: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> set[str]:
    """The names ``run_values`` will hold for this model and data, known before the data is read: the
    task's and network's values, the datamodule's arguments and the names of its data identity."""
    names = set(run_values(pl_module, None))
    if datamodule is not None:
        names |= set(datamodule.hparams)
        names |= {DATA_FINGERPRINT, DATA_PATHS} if hasattr(type(datamodule), DATA_FINGERPRINT) else set()
    return names


def recorded_best(folder: Path) -> Optional[str]:
    """The best checkpoint a run folder's ``best.json`` records, if it still exists (the one reader)."""
    record = folder / BEST_RECORD
    path = json.loads(record.read_text()).get("best_model_path") if record.is_file() else None
    return path if path and Path(path).is_file() else None
