"""Predict with a trained checkpoint and the config saved beside it; write a CSV atomically.

python predict.py --ckpt runs/geni/synthetic/fold0/lr0.005-heads4/last.ckpt --out predictions.csv

``--config`` may instead name the experiment config the run was trained from (``configs/fb15k/skes.yaml``, say);
its ``include:`` files are read first, as ``train.py`` reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from nie.cli.checkpoints import read_checkpoint
from nie.cli.exits import exit_on_user_error
from nie.cli.lightning_cli import CALLBACK_SECTIONS, NIECLI
from nie.cli.outputs import write_predictions
from nie.core.errors import ConfigError
from nie.core.io import check_writable


def find_config(ckpt: Path) -> Path:
    """The ``config.yaml`` saved in the checkpoint's run directory (or a parent of it)."""
    for folder in ckpt.resolve().parents:
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    raise ConfigError(f"no config.yaml beside {ckpt} or in its parent folders; pass --config")


def load_run_config(path: Path) -> dict | list[str]:
    """The run's config: an experiment config that includes others as ``train.py``'s arguments (its
    parser reads the included files first: ``nie.cli.parsing.expand_includes``), or the saved run config
    as a dict, keeping only what builds the run (not the subcommand's own options)."""
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not a readable YAML config: {err}") from None
    if isinstance(config, dict) and config.get("include"):
        return ["--config", str(path), "--trainer.logger", "false"]
    if not isinstance(config, dict) or "model" not in config or "data" not in config:
        raise ConfigError(
            f"{path}: expected a config with 'model' and 'data' sections (the config.yaml saved with the run, or "
            "an experiment config that has them or names the files that do under include:)"
        )
    sections = ("seed_everything", "model", "data", "trainer", *CALLBACK_SECTIONS.values())
    config = {k: v for k, v in config.items() if k in sections}
    for section, value in config.items():  # an experiment may include a section from a file (data: data.yaml)
        if isinstance(value, str) and value.endswith((".yaml", ".yml")):
            included = path.parent / value
            try:
                config[section] = yaml.safe_load(included.read_text())
            except (OSError, yaml.YAMLError) as err:
                raise ConfigError(
                    f"{path}: section '{section}' includes {included}, which is not readable: {err}"
                ) from None
    config.setdefault("trainer", {})["logger"] = False
    return config


def predict(ckpt: str, config: str | None = None, out: str | None = None) -> Path:
    ckpt_path = Path(ckpt)
    if not ckpt_path.is_file():
        raise ConfigError(f"--ckpt {ckpt}: checkpoint not found")
    read_checkpoint(ckpt_path, "--ckpt")
    config_path = Path(config) if config else find_config(ckpt_path)
    out_path = Path(out) if out else ckpt_path.parent / "predictions.csv"
    check_writable(out_path)
    cli = NIECLI(args=load_run_config(config_path), run=False)
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
