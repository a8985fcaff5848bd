"""What a run writes besides checkpoints: metrics JSON, predictions (+ figure) and the resolved config."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import lightning.pytorch as pl
import yaml
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.trainer.states import TrainerFn
from typing_extensions import override

from nie.cli.checkpoints import run_dir
from nie.core.contracts import DrawsPredictions, ReportsData, WritesPredictions
from nie.core.errors import ConfigError
from nie.core.io import atomic_path, write_json
from nie.core.provenance import provenance, stamped
from nie.core.run_settings import data_identity


def resolved_config(cli: Any) -> Any:
    """The configuration a command line resolved (its subcommand's part), as plain data."""
    config = yaml.safe_load(cli.parser.dump(cli.config, skip_none=False))
    subcommand = config.pop("subcommand", None)
    config = config.get(subcommand, config) if subcommand else config
    config.pop("include", None)  # resolved already
    return config


def run_provenance(cli: Any, started: float) -> dict[str, Any]:
    """``nie.core.provenance`` of a built command line: its resolved config, its data's identity and the
    wall time since ``started`` (``time.perf_counter``)."""
    seconds = time.perf_counter() - started
    return provenance(config=resolved_config(cli), data=data_identity(cli.datamodule), wall_seconds=seconds)


def stage_metrics(trainer: pl.Trainer, stage: str) -> dict[str, float]:
    """The ``val/*`` or ``test/*`` values the last evaluation logged."""
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(f"{stage}/")}


class MetricsFiles(pl.Callback):
    """Write ``val_metrics.json`` after every ``validate`` and ``test_metrics.json`` after every ``test``
    into the run directory (and to ``out`` when given, with the ``provenance`` that ``stamp`` gives): one
    writer for ``fit`` (its best checkpoint is validated at the end), ``validate``, ``test`` and every fold
    of ``cv``. Validation inside ``fit`` is not written; its curve is TensorBoard's."""

    def __init__(self, out: Optional[str] = None, stamp: Optional[Callable[[], dict[str, Any]]] = None) -> None:
        self.out, self.stamp = out, stamp

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        metrics = stage_metrics(trainer, stage)
        write_json(run_dir(trainer, pl_module, getattr(trainer, "datamodule", None)) / f"{stage}_metrics.json", metrics)
        if self.out:
            write_json(self.out, stamped(metrics, self.stamp()) if self.stamp else metrics)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == TrainerFn.VALIDATING:
            self._write(trainer, pl_module, "val")

    @override
    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module, "test")


def write_predictions(
    model: pl.LightningModule, datamodule: pl.LightningDataModule, outputs: list[Any], out: str | Path
) -> None:
    """The predictions as CSV (the datamodule's table) and, where the task draws one, a PNG beside it."""
    if not isinstance(datamodule, WritesPredictions):
        raise ConfigError(f"{type(datamodule).__name__} cannot write predictions (no write_predictions)")
    table = datamodule.write_predictions(outputs, out)
    figure = model.prediction_figure(table) if isinstance(model, DrawsPredictions) else None
    if figure is not None:
        with atomic_path(Path(out).with_suffix(".png")) as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    print(f"wrote {out}")


class RunConfigSaver(SaveConfigCallback):
    """Save the resolved ``config.yaml`` of a ``fit`` into the run directory, beside the checkpoints (and
    the datamodule's ``data_report``, if it keeps one), never into the current directory. Written when
    training starts, not at setup: a run refused before its model and data are built (a bad network
    option, a folder holding another run) leaves nothing in its folder."""

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Nothing yet (Lightning's callback saves here, before the model is built)."""

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.save_config(trainer, pl_module, "fit")

    @override
    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":  # a later test/validate must not replace the config that made the checkpoints
            return
        folder = run_dir(trainer, pl_module, getattr(trainer, "datamodule", None))
        config = self.config.clone()
        config.pop("include", None)  # resolved already: the saved config stands alone
        with atomic_path(folder / "config.yaml") as tmp:
            self.parser.save(config, tmp, skip_none=False, overwrite=True, multifile=False)
        datamodule = getattr(trainer, "datamodule", None)
        report = datamodule.data_report if isinstance(datamodule, ReportsData) else None
        if report:  # what the data's missing-value policy dropped, per split
            write_json(folder / "data_report.json", report)
