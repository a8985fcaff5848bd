"""Predict with a trained checkpoint and the config saved beside it; write a CSV atomically.

python predict.py --ckpt runs/geni/synthetic/fold0/lr0.005-heads4/last.ckpt --out predictions.csv

``--config`` may instead name the experiment config the run was trained from (``configs/fb15k/skes.yaml``, say);
its ``include:`` files are read first, as ``train.py`` reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nie.cli.checkpoints import read_checkpoint
from nie.cli.exits import exit_on_user_error
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


def predict(ckpt: str, config: str | None = None, out: str | None = None) -> Path:
    ckpt_path = Path(ckpt)
    if not ckpt_path.is_file():
        raise ConfigError(f"--ckpt {ckpt}: checkpoint not found")
    read_checkpoint(ckpt_path, "--ckpt")
    config_path = Path(config) if config else find_config(ckpt_path)
    out_path = Path(out) if out else ckpt_path.parent / "predictions.csv"
    check_writable(out_path)
    cli = Experiment.recorded(config_path).with_trainer(logger=False).build()
    outputs = cli.trainer.predict(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt_path))
    write_predictions(cli.model, cli.datamodule, list(outputs or []), out_path)
    return out_path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="checkpoint file")
    parser.add_argument("--config", help="config (default: the config.yaml saved with the run)")
    parser.add_argument("--out", help="output CSV (default: predictions.csv beside the checkpoint)")
    args = parser.parse_args(argv)
    exit_on_user_error(lambda: predict(args.ckpt, args.config, args.out))


if __name__ == "__main__":
    main(sys.argv[1:])
