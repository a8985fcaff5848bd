"""The command line: LightningCLI with the project's defaults, metrics files and best-checkpoint lookup."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import logging
import re
import shutil
import sys
import warnings
from argparse import ArgumentError
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import lightning.pytorch as pl
import torch
import yaml
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from callbacks.checkpoint import HParamCheckpoint
from nie.core.errors import ConfigError, NIEError
from nie.core.io import atomic_path, check_writable, write_json
from nie.core.legacy import upgrade_class_paths
from nie.core.naming import network_name
from nie.core.resume import continue_logger_version
from nie.core.schedule import check_schedule_validates
from nie.core.seed import seed_everything
from nie.core.task import BaseTask, check_same_model

# train.py and cv hand LightningCLI their argv on purpose; the "args and sys.argv" warning is noise.
warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
# run directories are reused on purpose (resume, cv skipping finished folds)
warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")


class _NoAdvertisement(logging.Filter):
    """Lightning prints an advertisement for a hosted logger on every run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoAdvertisement())

SUBCOMMANDS = (
    "fit, validate, test, predict (Lightning's; predict writes predictions.csv in the run directory "
    "or --out), cv (k-fold cross-validation, of one config or an ensemble config: python train.py cv --config "
    "X.yaml [--out cv.json]) and select (rank configs on validation: python train.py select --candidates A.yaml "
    "B.yaml --out ranking.json)"
)

TRAINER_DEFAULTS: dict[str, Any] = {
    "deterministic": "warn",
    # the datamodules shard for DDP themselves: Lightning's DistributedSampler pads evaluation sets
    # with repeated samples, which would count nodes/windows twice in the metrics
    "use_distributed_sampler": False,
    "plugins": [{"class_path": "nie.core.checkpoint_io.AtomicCheckpointIO"}],
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": "runs", "name": "tensorboard", "default_hp_metric": False},
    },
}


def import_object(path: str) -> Any:
    """The object a dotted ``class_path`` names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


OPTION_OWNERS = {  # where a misspelled option of each config section may have meant to go
    "model": ("nie.importance.NodeImportanceTask", "nie.forecasting.PowerForecastTask"),
    "data": (
        "datamodules.SyntheticKnowledgeGraphDataModule",
        "datamodules.KnowledgeGraphDataModule",
        "datamodules.PowerDataModule",
    ),
    "trainer": ("lightning.pytorch.Trainer",),
}


def closest_options(section: str, name: str) -> list[str]:
    """Valid option names of a config section that look like ``name`` (for "did you mean")."""
    names: set[str] = set()
    for path in OPTION_OWNERS.get(section.split(".")[0], ()):
        names.update(
            p for p in inspect.signature(import_object(path).__init__).parameters if p not in ("self", "kwargs")
        )
    return difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)


def condense_parse_error(message: str) -> str:
    """jsonargparse's nested union report as one line: the key path and the innermost cause."""
    keys = ".".join(re.findall(r'Parser key "([^"]+)"', message))
    causes = [
        line
        for line in message.splitlines()
        if line.strip() and not line.strip().startswith(("Given value", "- Expected a <class 'NoneType'>"))
    ]
    deepest = max(causes, key=lambda line: len(line) - len(line.lstrip())).strip() if causes else message
    deepest = deepest.lstrip("- ")
    got = re.search(r"\. Got value: (.*)$", deepest) or re.search(r"^\s*Given value: (?!NestedArg)(.*)$", message, re.M)
    deepest = re.sub(r"\. Got value: .*$", "", deepest)
    if got and deepest.startswith("Expected"):
        deepest = f"{deepest}, got {got.group(1).strip()!r}"
    unknown = re.match(r"Option '([^']+)' is not accepted", deepest)
    if unknown and keys:
        close = closest_options(keys, unknown.group(1))
        deepest += f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{keys}: {deepest}" if keys and not deepest.startswith("Parser key") else deepest


def wrapped_user_error(err: BaseException) -> Optional[str]:
    """The project's own error that jsonargparse wrapped while instantiating a class ("Does not validate
    against any of the Union subtypes ... Errors: - <our message>"), as one line; None if there is none."""
    cause: Optional[BaseException] = err
    while cause is not None:
        if isinstance(cause, NIEError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    listed = re.search(r"^Errors:\n\s*- (.+)$", str(err), re.M)
    return listed.group(1).strip() if listed and "Union subtypes" in str(err) else None


def exit_on_user_error(main: Callable[[], Any]) -> Any:
    """Run ``main``; a configuration or data mistake exits with one ``error:`` line, not a traceback."""
    try:
        return main()
    except SIGTERMException:  # Lightning stops cleanly (last.ckpt saved) but would exit 0
        sys.exit("interrupted by SIGTERM after saving last.ckpt; rerun with --ckpt_path last to resume")
    except NIEError as err:
        sys.exit(f"error: {err}")
    except ArgumentError as err:
        sys.exit(f"error: {condense_parse_error(str(err))}")
    except (ValueError, TypeError) as err:
        message = wrapped_user_error(err)
        if message is None:
            raise
        sys.exit(f"error: {message}")


def walk_configs(args: Sequence[str]) -> Iterator[tuple[Optional[str], Optional[str]]]:
    """Each argument in order as ``(config path, None)`` for ``--config X`` / ``--config=X`` or
    ``(None, argument)`` for anything else."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--config" and i + 1 < len(args):
            yield args[i + 1], None
            i += 2
            continue
        yield (arg[9:], None) if arg.startswith("--config=") else (None, arg)
        i += 1


def split_configs(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``--config`` paths of ``args``, and the other arguments in their order."""
    walked = list(walk_configs(args))
    return [p for p, _ in walked if p is not None], [a for p, a in walked if p is None]


def expand_includes(args: list[str]) -> list[str]:
    """Put the files a config ``include``s (paths relative to it, parsed first, recursively) before it,
    so an experiment is one YAML that names its shared trainer/data settings and overrides them."""
    expanded: list[str] = []
    for path, arg in walk_configs(args):
        if path is None:
            expanded.append(arg)
            continue
        for included in config_includes(Path(path), ()):
            expanded += ["--config", str(included)]
        expanded += ["--config", path]
    return expanded


def config_includes(path: Path, chain: tuple[Path, ...]) -> list[Path]:
    """Every file ``path`` includes, deepest first; a missing file or a cycle is one clear error."""
    try:
        config = yaml.safe_load(path.read_text()) if path.is_file() else None
    except yaml.YAMLError:
        return []  # jsonargparse reports the syntax error with the file name
    names = (config or {}).get("include") if isinstance(config, dict) else None
    if not names:
        return []
    found: list[Path] = []
    for name in [names] if isinstance(names, str) else names:
        included = path.parent / name
        if not included.is_file():
            raise ConfigError(f"{path}: include {name!r}: no such file {included}")
        if included.resolve() in chain:
            raise ConfigError(f"{path}: include {name!r} includes itself")
        found += [*config_includes(included, (*chain, path.resolve())), included]
    return found


def read_checkpoint(path: str | Path, option: str) -> dict:
    """A Lightning checkpoint's contents (tensors and plain data only); anything else is one clear error."""
    try:
        checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - torch raises pickle, zip and runtime errors for a non-checkpoint
        raise ConfigError(f"{option} {path}: not a PyTorch Lightning checkpoint ({type(err).__name__})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{option} {path}: not a PyTorch Lightning checkpoint (no state_dict)")
    return checkpoint


def run_dir(trainer: pl.Trainer, model: pl.LightningModule, datamodule: Optional[pl.LightningDataModule]) -> Path:
    """Where a run's checkpoints, config and metrics live (the named checkpoint directory)."""
    callback = trainer.checkpoint_callback
    if isinstance(callback, HParamCheckpoint):
        return callback.run_dir(model, datamodule)
    return Path(trainer.log_dir or trainer.default_root_dir)


def write_predictions(
    model: pl.LightningModule, datamodule: pl.LightningDataModule, outputs: list, out: str | Path
) -> None:
    """The predictions as CSV (the datamodule's table) and, where the task draws one, a PNG beside it."""
    table = datamodule.write_predictions(outputs, out)
    figure = model.prediction_figure(table) if hasattr(model, "prediction_figure") else None
    if figure is not None:
        with atomic_path(Path(out).with_suffix(".png")) as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    print(f"wrote {out}")


class RunConfigSaver(SaveConfigCallback):
    """Save the resolved ``config.yaml`` of a ``fit`` into the run directory, beside the checkpoints (and
    the datamodule's ``data_report``, if it keeps one), never into the current directory."""

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":  # a later test/validate must not replace the config that made the checkpoints
            return
        folder = run_dir(trainer, pl_module, trainer.datamodule)
        config = self.config.clone()
        config.pop("include", None)  # resolved already: the saved config stands alone
        with atomic_path(folder / "config.yaml") as tmp:
            self.parser.save(config, tmp, skip_none=False, overwrite=True, multifile=False)
        report = getattr(trainer.datamodule, "data_report", None)
        if report:  # what the data's missing-value policy dropped, per split
            write_json(folder / "data_report.json", report)


class NIECLI(LightningCLI):
    """``fit``/``validate``/``test``/``predict`` with seeding, metrics JSON and ``--ckpt_path best`` across runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
            {
                "exit_on_error": False,  # exit_on_user_error prints one line
                "description": f"Subcommands: {SUBCOMMANDS}.",
            },
        )
        super().__init__(*args, **kwargs)

    def _parse_ckpt_path(self) -> None:
        """Load a checkpoint's hyper-parameters over the config's model, as LightningCLI does, after
        upgrading class paths of earlier releases and refusing a checkpoint of another task or network
        (instead of silently building that other model)."""
        subcommand = self.config.get("subcommand")
        ckpt_path = subcommand and self.config[subcommand].get("ckpt_path")
        if not (ckpt_path and Path(ckpt_path).is_file()):
            return
        checkpoint = read_checkpoint(ckpt_path, "--ckpt_path")
        hparams = upgrade_class_paths(checkpoint.get("hyper_parameters", {}))
        hparams.pop("_instantiator", None)
        model = self.config[subcommand].model
        network = model.init_args.get("network") or {}
        network_class = import_object(network["class_path"]) if "class_path" in network else None
        saved_task = hparams.get("_class_path")
        check_same_model(
            saved_task and import_object(saved_task).__name__,
            checkpoint.get("network_name"),
            import_object(model.class_path).__name__,
            network_name(network_class),
            source=f"--ckpt_path {ckpt_path}",
        )
        if not hparams:
            return
        if "_class_path" in hparams:
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)

    def _run_subcommand(self, subcommand: str) -> None:
        try:
            super()._run_subcommand(subcommand)
        except NIEError:
            self._discard_unused_log_dir()
            raise

    def _discard_unused_log_dir(self) -> None:
        """Lightning opens the TensorBoard version folder before the data is set up: a run that stops on
        bad input before logging anything must not leave an empty ``version_N`` behind."""
        for logger in self.trainer.loggers:
            folder = Path(logger.log_dir) if isinstance(logger, TensorBoardLogger) else None
            if folder is None or not folder.is_dir() or (folder / "hparams.yaml").exists():
                continue
            logger.experiment.close()
            shutil.rmtree(folder, ignore_errors=True)
            for parent in (Path(logger.root_dir), Path(logger.save_dir)):  # the folders it made, if now empty
                with contextlib.suppress(OSError):
                    parent.rmdir()

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, expand_includes(args) if isinstance(args, list) else args)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--include",
            type=Optional[list[str]],
            default=None,
            help="In a config file: shared config files (relative to it) read before it.",
        )
        parser.add_argument(
            "--out",
            type=Optional[str],
            default=None,
            help="Also write the metrics JSON of validate/test (predict: the predictions CSV) here.",
        )

    def before_instantiate_classes(self) -> None:
        subcommand = self.config.get("subcommand")
        out = subcommand and self.config[subcommand].get("out")
        if out:  # before the data is loaded or anything computed
            check_writable(out)
        if subcommand == "predict":  # predicting logs nothing: no TensorBoard version
            self.config["predict"]["trainer"]["logger"] = False
        seed = self._get(self.config, "seed_everything")
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed_everything(seed)

    def instantiate_classes(self) -> None:
        """As LightningCLI, and the run's seed becomes a value run directories may name
        (``HParamCheckpoint(hparams=[..., seed_everything])``): members of a seed ensemble need apart."""
        super().instantiate_classes()
        seed = self._get(self.config, "seed_everything")
        if isinstance(seed, int) and not isinstance(seed, bool):
            self.model.run_seed = seed

    # ------------------------------------------------------------ ckpt_path=best
    def _resolve_best(self, subcommand: str) -> None:
        """``--ckpt_path best`` (``last``) in a new process: the best (last) checkpoint of the earlier ``fit``."""
        config = self.config_init[subcommand]
        callback = self.trainer.checkpoint_callback
        if config.get("ckpt_path") in ("last", "best") and not isinstance(callback, HParamCheckpoint):
            raise ConfigError(
                f"--ckpt_path {config['ckpt_path']} needs the HParamCheckpoint callback (it records "
                "the run's checkpoints); pass a checkpoint file instead"
            )
        if config.get("ckpt_path") == "last":
            last = callback.run_dir(self.model, self.datamodule) / "last.ckpt"
            if not last.is_file():
                raise ConfigError(f"--ckpt_path last: no {last}; run fit with the same config first")
            config["ckpt_path"] = str(last)
        if config.get("ckpt_path") != "best":
            return
        best = callback.recorded_best(self.model, self.datamodule)
        if best is None:
            raise ConfigError(
                f"--ckpt_path best: no best checkpoint recorded in {callback.run_dir(self.model, self.datamodule)}; "
                "run fit with the same config first"
            )
        config["ckpt_path"] = best

    def before_fit(self) -> None:
        """``--ckpt_path last`` in a new process: resume from this run directory's ``last.ckpt``, logging into
        the TensorBoard version the checkpoint's run wrote."""
        check_schedule_validates(self.trainer)
        config = self.config_init["fit"]
        callback = self.trainer.checkpoint_callback
        if config.get("ckpt_path") == "last" and isinstance(callback, HParamCheckpoint):
            last = callback.run_dir(self.model, self.datamodule) / "last.ckpt"
            config["ckpt_path"] = str(last) if last.is_file() else None
        if config.get("ckpt_path") and Path(config["ckpt_path"]).is_file():
            continue_logger_version(self.trainer, read_checkpoint(config["ckpt_path"], "--ckpt_path"))

    def before_validate(self) -> None:
        self._resolve_best("validate")

    def before_test(self) -> None:
        self._resolve_best("test")

    def before_predict(self) -> None:
        self._resolve_best("predict")
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

    # ----------------------------------------------------------- metrics files
    def stage_metrics(self, stage: str) -> dict[str, float]:
        return {k: float(v) for k, v in self.trainer.callback_metrics.items() if k.startswith(f"{stage}/")}

    def _write_metrics(self, subcommand: str, stage: str) -> None:
        metrics = self.stage_metrics(stage)
        if self.trainer.is_global_zero:
            write_json(run_dir(self.trainer, self.model, self.datamodule) / f"{stage}_metrics.json", metrics)
            out = self.config_init[subcommand].get("out")
            if out:
                write_json(out, metrics)

    def after_fit(self) -> None:
        """Score the best checkpoint on validation, print the table and save it as ``val_metrics.json``.

        The loggers are detached meanwhile (a last val/* point for an earlier epoch would make every
        curve jump back); the scores go to TensorBoard once, as ``best_val/*`` (the HParams metrics).
        """
        if self.trainer.checkpoint_callback is not None and self.trainer.checkpoint_callback.best_model_path:
            loggers, self.trainer.loggers = self.trainer.loggers, []
            try:
                self.trainer.validate(self.model, datamodule=self.datamodule, ckpt_path="best")
            finally:
                self.trainer.loggers = loggers
            self._write_metrics("fit", "val")
            best = {f"best_{k}": v for k, v in self.stage_metrics("val").items()}
            for logger in loggers:
                logger.log_metrics(best, step=self.trainer.global_step)
                logger.finalize("success")  # fit already closed the writer: flush what reopened it

    def after_validate(self) -> None:
        self._write_metrics("validate", "val")

    def after_test(self) -> None:
        self._write_metrics("test", "test")
