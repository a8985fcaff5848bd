"""``fit``/``validate``/``test``/``predict``: LightningCLI with the project's defaults and run directories."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger
from typing_extensions import override

from callbacks.checkpoint import HParamCheckpoint, recorded_best
from callbacks.early_stopping import MinEpochsEarlyStopping
from callbacks.gradient_clipping import GradientNormClipping
from nie.cli.checkpoints import read_checkpoint, run_dir
from nie.cli.outputs import MetricsFiles, RunConfigSaver, run_provenance, stage_metrics, write_predictions
from nie.cli.parsing import expand_includes, import_object
from nie.cli.sections import add_sections
from nie.core.errors import ConfigError, NIEError
from nie.core.figures import ValidationFigures
from nie.core.io import check_writable, check_writable_folder
from nie.core.launch import fill_nodes_from_launcher
from nie.core.naming import network_name
from nie.core.resume import ResumeState, continue_logger_version
from nie.core.run_settings import check_same_model
from nie.core.schedule import check_schedule_validates
from nie.core.seed import seed_everything
from nie.core.task import BaseTask
from nie.core.tensorboard import HParamsEntry
from nie.core.threads import set_threads

# train.py and cv hand LightningCLI their argv on purpose; the "args and sys.argv" warning is noise.
warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
# run directories are reused on purpose (resume, cv skipping finished folds)
warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")


# Lightning prints an advertisement for a hosted logger on every run
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
    lambda record: "litlogger" not in record.getMessage()
)

FOLLOW_ROOT = "<checkpoint.root>"  # the default logger's save_dir: filled with the checkpoint section's root
TRAINER_DEFAULTS: dict[str, Any] = {
    "deterministic": "warn",
    # the datamodules shard for DDP themselves: Lightning's DistributedSampler pads evaluation sets
    # with repeated samples, which would count nodes/windows twice in the metrics
    "use_distributed_sampler": False,
    "plugins": [{"class_path": "nie.core.checkpoint_io.AtomicCheckpointIO"}],
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": FOLLOW_ROOT, "name": "tensorboard", "default_hp_metric": False},
    },
}


CALLBACK_SECTIONS: dict[type[pl.Callback], str] = {
    HParamCheckpoint: "checkpoint",
    MinEpochsEarlyStopping: "early_stopping",
    GradientNormClipping: "gradient_clipping",
}


def refuse_listed_sections(config: Any) -> None:
    """A section's callback also listed in ``trainer.callbacks`` would run twice (two checkpoint writers
    in one folder): one line saying where it goes instead."""
    for entry in config["trainer"].get("callbacks") or []:
        name = str(entry.get("class_path", "")).rsplit(".", 1)[-1] if hasattr(entry, "get") else type(entry).__name__
        for callback, key in CALLBACK_SECTIONS.items():
            if name == callback.__name__:
                raise ConfigError(
                    f"trainer.callbacks lists {callback.__name__}: set it in the '{key}:' section instead "
                    f"(e.g. {key}: {{...init_args...}}), which every run has"
                )


def fill_task_monitor(config: Any) -> None:
    """Checkpoint choice watches the task's default score unless the config names one; early stopping
    watches what checkpoint choice watches unless the config names another."""
    task = import_object(config["model"]["class_path"])
    default = task.default_monitor(config["model"].get("init_args") or {})
    for key in ("checkpoint", "early_stopping"):
        section = config[key]
        if section.get("monitor") is None:
            section["monitor"], section["mode"] = default[0], section.get("mode") or default[1]
        elif section.get("mode") is None:
            if section["monitor"] != default[0]:
                raise ConfigError(f"{key}.monitor is {section['monitor']}: set {key}.mode (min or max) too")
            section["mode"] = default[1]
        default = (section["monitor"], section["mode"])


def fill_logger_dir(config: Any) -> None:
    """A run's files have one root: a logger left at ``save_dir: <checkpoint.root>`` (the default) writes under
    ``checkpoint.root``; a logger the config gives its own ``save_dir`` keeps it."""
    for init_args in logger_arguments(config):
        if init_args.get("save_dir") == FOLLOW_ROOT:
            init_args["save_dir"] = config["checkpoint"]["root"]


def logger_arguments(config: Any) -> list[Any]:
    """The ``init_args`` of each logger the config's trainer section builds."""
    loggers = config["trainer"].get("logger")
    listed = loggers if isinstance(loggers, list) else [loggers]
    return [logger["init_args"] for logger in listed if hasattr(logger, "get") and logger.get("init_args")]


def check_run_folders(config: Any) -> None:
    """``checkpoint.root`` and each logger's ``save_dir`` can be made and written in: one line before a run
    writes there (not a traceback from the logger at fit); predicting writes in neither, so is not checked."""
    check_writable_folder(config["checkpoint"]["root"], "checkpoint.root")
    for init_args in logger_arguments(config):
        if init_args.get("save_dir"):
            check_writable_folder(init_args["save_dir"], "trainer.logger save_dir")


class NIECLI(LightningCLI):
    """``fit``/``validate``/``test``/``predict`` with seeding, metrics JSON and ``--ckpt_path best``/``last``
    across processes (the run directory's recorded checkpoints)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.started = time.perf_counter()  # the wall time a result's provenance records
        kwargs.setdefault("model_class", BaseTask)
        kwargs.setdefault("datamodule_class", pl.LightningDataModule)
        kwargs.setdefault("subclass_mode_model", True)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("save_config_callback", RunConfigSaver)
        # the run directory gets the config (RunConfigSaver); with the logger off, log_dir would be the
        # current directory and Lightning would write ./config.yaml there
        kwargs.setdefault("save_config_kwargs", {"overwrite": True, "save_to_log_dir": False})
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("trainer_defaults", TRAINER_DEFAULTS)
        kwargs.setdefault("auto_configure_optimizers", False)
        kwargs.setdefault(
            "parser_kwargs",
            {"exit_on_error": False, "description": "python train.py --help lists the subcommands."},  # exits: 1 line
        )
        try:
            super().__init__(*args, **kwargs)
        except NIEError:
            self.discard_unused_log_dir()
            raise

    # ----------------------------------------------------------- the config
    @override
    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, expand_includes(args) if isinstance(args, list) else args)

    @override
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # the three training callbacks are config sections, so a shared file sets them once and an
        # experiment or patch overrides one value by key (``early_stopping.patience: 40``)
        for callback, key in CALLBACK_SECTIONS.items():
            parser.add_lightning_class_args(callback, key)
        parser.add_argument(
            "--include",
            type=Optional[list[str]],
            default=None,
            help="In a config file: shared config files (relative to it) read before it.",
        )
        add_sections(parser)  # the protocols' own sections (backtest:), registered by their packages
        parser.add_argument(
            "--threads",
            type=Optional[int],
            default=None,
            help="Threads of torch's CPU kernels (default: OMP_NUM_THREADS where set, else every core available).",
        )
        parser.add_argument(
            "--out",
            type=Optional[str],
            default=None,
            help="Also write the metrics JSON of validate/test (predict: the predictions CSV) here.",
        )

    def subcommand_config(self) -> Any:
        """The part of the parsed config for the running subcommand."""
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config

    @override
    def before_instantiate_classes(self) -> None:
        config = self.subcommand_config()
        refuse_listed_sections(config)
        fill_task_monitor(config)
        if self.config.get("subcommand") == "predict":  # predicting logs nothing: no TensorBoard version
            config["trainer"]["logger"] = False
        fill_logger_dir(config)
        if self.config.get("subcommand") in ("fit", "validate", "test"):  # cv, backtest: per split (Splits.run)
            check_run_folders(config)
        if config.get("out") is not None:  # before the data is loaded or anything computed
            check_writable(config["out"])
        set_threads(config.get("threads"))
        fill_nodes_from_launcher(config["trainer"])
        seed = config.get("seed_everything")
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed_everything(seed)

    @override
    def instantiate_classes(self) -> None:
        """As LightningCLI, plus the metrics writer; the run's seed becomes a value run directories may
        name (``HParamCheckpoint(hparams=[..., seed_everything])``): members of a seed ensemble need apart."""
        super().instantiate_classes()
        callbacks: list[pl.Callback] = self.trainer.callbacks  # type: ignore[attr-defined]  # set in Trainer.__init__
        callbacks.append(MetricsFiles(self.subcommand_config().get("out"), lambda: run_provenance(self, self.started)))
        callbacks.extend([ValidationFigures(), ResumeState(), HParamsEntry()])  # what the task leaves to callbacks
        seed = self.subcommand_config().get("seed_everything")
        if isinstance(seed, int) and not isinstance(seed, bool):
            self.model.run_seed = seed
        if isinstance(self.trainer.checkpoint_callback, HParamCheckpoint):  # before any data is read
            self.trainer.checkpoint_callback.check_names(self.model, self.datamodule)

    @override
    def _parse_ckpt_path(self) -> None:
        """LightningCLI's loading of a checkpoint's hyper-parameters over the config's model, after refusing a
        checkpoint of another task or network (instead of silently building that other model). Overrides a
        private LightningCLI hook (registered in ``nie.core.lightning_private.PRIVATE_USES``)."""
        subcommand = self.config.get("subcommand")
        ckpt_path = subcommand and self.config[subcommand].get("ckpt_path")
        if ckpt_path and ckpt_path not in ("best", "last") and not Path(ckpt_path).is_file():
            # before anything is built: no run folder, no TensorBoard version for a mistyped path
            raise ConfigError(f"--ckpt_path {ckpt_path}: checkpoint not found (a checkpoint file, best or last)")
        if not (ckpt_path and Path(ckpt_path).is_file()):
            return
        checkpoint = read_checkpoint(ckpt_path, "--ckpt_path")
        model = self.config[subcommand].model
        network = model.init_args.get("network") or {}
        network_class = import_object(network["class_path"]) if "class_path" in network else None
        saved_task = checkpoint.get("hyper_parameters", {}).get("_class_path")
        try:
            saved_name = saved_task and import_object(saved_task).__name__
        except (ImportError, AttributeError):
            raise ConfigError(
                f"--ckpt_path {ckpt_path}: saved by a pre-release nie whose task {saved_task} no longer exists: "
                "retrain it with this version"
            ) from None
        check_same_model(
            saved_name,
            checkpoint.get("network_name"),
            import_object(model.class_path).__name__,
            network_name(network_class),
            source=f"--ckpt_path {ckpt_path}",
        )
        super()._parse_ckpt_path()

    def discard_unused_log_dir(self) -> None:
        """Lightning opens the TensorBoard version folder before the data is set up: a run that stops on
        bad input before logging anything must not leave an empty ``version_N`` behind."""
        trainer: Optional[pl.Trainer] = getattr(self, "trainer", None)
        for logger in trainer.loggers if trainer is not None else []:
            if not isinstance(logger, TensorBoardLogger):
                continue
            folder = Path(logger.log_dir)
            if not folder.is_dir() or (folder / "hparams.yaml").exists():
                continue
            logger.experiment.close()
            shutil.rmtree(folder, ignore_errors=True)
            for parent in (Path(logger.root_dir), Path(logger.save_dir)):  # the folders it made, if now empty
                with contextlib.suppress(OSError):
                    parent.rmdir()

    # ----------------------------------------------------------- checkpoints
    def _resolve_ckpt(self, subcommand: str, missing: str = "; run fit with the same config first") -> None:
        """``--ckpt_path last`` (and, but for ``fit``, which refuses it, ``best``) in a new process: this run
        directory's ``last.ckpt`` (the best checkpoint its ``fit`` recorded); none there is one line ending with
        ``missing`` (nothing is silently run without it)."""
        config = self.config_init[subcommand]
        wanted = config.get("ckpt_path")
        if (wanted, subcommand) == ("best", "fit"):
            raise ConfigError(
                "--ckpt_path best: fit continues from last or a checkpoint file; best is for validate, test and predict"
            )
        if wanted not in ("last", "best"):
            return
        callback = self.trainer.checkpoint_callback
        if not isinstance(callback, HParamCheckpoint):
            raise ConfigError(
                "--ckpt_path best/last needs the HParamCheckpoint callback (it records the run's checkpoints); "
                "pass a checkpoint file instead"
            )
        folder = callback.run_dir(self.model, self.datamodule)
        found = recorded_best(folder) if wanted == "best" else folder / "last.ckpt"
        if not found:
            raise ConfigError(f"--ckpt_path {wanted}: no best checkpoint recorded in {folder}{missing}")
        if not Path(found).is_file():
            raise ConfigError(f"--ckpt_path {wanted}: no {found}{missing}")
        config["ckpt_path"] = str(found)

    # ----------------------------------------------------------- subcommands
    def before_fit(self) -> None:
        """``--ckpt_path last`` in a new process: resume from this run directory's ``last.ckpt`` (none there
        is refused: nothing is silently trained afresh), logging into the TensorBoard version the
        checkpoint's run wrote."""
        check_schedule_validates(self.trainer)
        self._resolve_ckpt(
            "fit",
            " to resume (no fit of this config and --checkpoint.root saved one there); leave out --ckpt_path to "
            "start afresh",
        )
        config = self.config_init["fit"]
        if config.get("ckpt_path") and Path(config["ckpt_path"]).is_file():
            continue_logger_version(self.trainer, read_checkpoint(config["ckpt_path"], "--ckpt_path", trusted=True))

    def before_validate(self) -> None:
        self._resolve_ckpt("validate")

    def before_test(self) -> None:
        self._resolve_ckpt("test")

    def before_predict(self) -> None:
        self._resolve_ckpt("predict")
        if self.config_init["predict"].get("ckpt_path") is None:
            raise ConfigError("predict needs --ckpt_path (a checkpoint file, best or last)")

    def after_predict(self) -> None:
        """Write the predictions (one row per node or forecast hour) to --out or the run directory."""
        outputs = self.trainer.predict_loop.predictions
        if not self.trainer.is_global_zero or not outputs:
            return
        out = (
            self.config_init["predict"].get("out")
            or run_dir(self.trainer, self.model, self.datamodule) / "predictions.csv"
        )
        write_predictions(self.model, self.datamodule, outputs, out)

    def after_fit(self) -> None:
        validate_best(self.trainer, self.model, self.datamodule)


def validate_best(
    trainer: pl.Trainer, model: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]
) -> dict[str, float]:
    """Score the best checkpoint of a finished ``fit`` on validation (``val_metrics.json``, printed) and
    log it once to TensorBoard as ``best_val/*`` (the HParams tab's metrics); returns those scores.

    The loggers are detached meanwhile: a last val/* point for an earlier epoch would make every
    curve jump back."""
    if trainer.checkpoint_callback is None or not getattr(trainer.checkpoint_callback, "best_model_path", None):
        return {}
    loggers, trainer.loggers = trainer.loggers, []
    try:
        trainer.validate(model, datamodule=datamodule, ckpt_path="best")
    finally:
        trainer.loggers = loggers
    best = {f"best_{k}": v for k, v in stage_metrics(trainer, "val").items()}
    for logger in loggers:
        logger.log_metrics(best, step=trainer.global_step)
        logger.finalize("success")  # fit already closed the writer: flush what reopened it
    return best
