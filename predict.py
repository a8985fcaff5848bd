"""Predict with a trained checkpoint and the config saved beside it; write a CSV atomically.

python predict.py --ckpt runs/geni/synthetic/fold0/lr0.005-heads4/last.ckpt --out predictions.csv

``--config`` may instead name the experiment config the run was trained from (``configs/fb15k/skes.yaml``, say);
its ``include:`` files are read first, as ``train.py`` reads them.
"""

from __future__ import annotations

import argparse
import sys

import nie.protocols  # noqa: F401  # registers the protocols' config sections (backtest:)
from nie.cli.exits import exit_on_user_error
from nie.cli.predicting import predict


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="checkpoint file")
    parser.add_argument("--config", help="config (default: the config.yaml saved with the run)")
    parser.add_argument("--out", help="output CSV (default: predictions.csv beside the checkpoint)")
    args = parser.parse_args(argv)
    exit_on_user_error(lambda: predict(args.ckpt, args.config, args.out))


if __name__ == "__main__":
    main(sys.argv[1:])
