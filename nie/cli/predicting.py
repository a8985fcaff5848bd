"""Predicting with a checkpoint and the experiment its run recorded: ``predict.py``, and ``train.py predict``
given a checkpoint file without a config (one loader: ``Experiment.recorded`` of the run's ``config.yaml``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from nie.cli.checkpoints import read_checkpoint
from nie.cli.experiment import Experiment
from nie.cli.outputs import write_predictions
from nie.core.errors import ConfigError
from nie.core.io import check_writable


def find_config(ckpt: Path) -> Path:
    """The ``config.yaml`` saved in the checkpoint's run directory (or a parent of it)."""
    for folder in ckpt.resolve().parents:
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    raise ConfigError(f"no config.yaml beside {ckpt} or in its parent folders; pass --config")


def predict(ckpt: str, config: Optional[str] = None, out: Optional[str] = None, option: str = "--ckpt") -> Path:
    """Write the checkpoint's predictions (default: ``predictions.csv`` beside it) with the experiment
    ``config`` names (default: the one its run recorded)."""
    ckpt_path = Path(ckpt)
    if ckpt_path.is_dir():
        held = ", ".join(sorted(p.name for p in ckpt_path.glob("*.ckpt"))) or "no .ckpt file"
        raise ConfigError(f"{option} {ckpt}: a folder (holding {held}); give one checkpoint file in it")
    if not ckpt_path.is_file():
        raise ConfigError(f"{option} {ckpt}: checkpoint not found")
    read_checkpoint(ckpt_path, option)
    config_path = Path(config) if config else find_config(ckpt_path)
    out = str(ckpt_path.parent / "predictions.csv") if out is None else out
    check_writable(out)
    out_path = Path(out)
    cli = Experiment.recorded(config_path).with_trainer(logger=False).build()
    outputs = cli.trainer.predict(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt_path))
    write_predictions(cli.model, cli.datamodule, list(outputs or []), out_path)
    return out_path


def predict_recorded_run(argv: list[str]) -> Path:
    """``train.py predict --ckpt_path FILE [--out CSV]`` without ``--config``: the run's recorded experiment."""
    parser = argparse.ArgumentParser(prog="train.py predict", description=__doc__)
    parser.add_argument("--ckpt_path", required=True, help="checkpoint file of a run folder holding config.yaml")
    parser.add_argument("--out", help="output CSV (default: predictions.csv beside the checkpoint)")
    known = parser.parse_args(argv)
    return predict(known.ckpt_path, None, known.out, option="--ckpt_path")
