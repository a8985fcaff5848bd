"""The command line of training and evaluation: ``python train.py --help`` prints ``HELP``."""

import sys
from typing import Callable

from nie.cli.exits import PROTOCOL_RESUME_HINT, exit_on_user_error
from nie.cli.lightning_cli import NIECLI
from nie.cli.parsing import split_configs
from nie.cli.predicting import predict_recorded_run
from nie.protocols.forecasting.backtest import backtest_command
from nie.protocols.importance.cv import cv_command
from nie.protocols.importance.partition import partition
from nie.protocols.select import select

PROTOCOLS: dict[str, Callable[[list[str]], object]] = {
    "cv": cv_command,
    "select": select,
    "backtest": backtest_command,
    "partition": partition,
}


SUBCOMMANDS = ("fit", "validate", "test", "predict", *PROTOCOLS)

HELP = f"""Train, evaluate, cross-validate, select, backtest or partition, each from YAML configs.

usage: python train.py {{{",".join(SUBCOMMANDS)}}} [options]

subcommands (python train.py <subcommand> --help gives each one's options):
  fit, validate, test, predict   Lightning's, with the project's run folders and metrics files:
                                 python train.py fit --config configs/demo.yaml
                                 (predict --ckpt_path FILE without --config: the run's recorded config)
  cv          k-fold cross-validation of a config or an ensemble config:
                python train.py cv --config configs/fb15k/pagerank.yaml --out results.json
  select      rank configs (base+patch joined by +) on validation, then test the chosen one:
                python train.py select --candidates configs/fb15k/rgtn.yaml \\
                    configs/fb15k/ensembles/best.yaml --out ranking.json
  backtest    rolling-origin evaluation of a power config with a backtest: section:
                python train.py backtest --config configs/gefcom2014/lstm_quantile.yaml \\
                    --config configs/gefcom2014/patches/gefcom2014_tasks.yaml --out backtest.json
  partition   a graph config's graph, inputs and fold split as DGL partitions (a run beyond one machine):
                python train.py partition --config configs/demo.yaml --parts 2 --out parts/"""


def main(argv: list[str]) -> None:
    if argv[:1] in (["-h"], ["--help"]):  # Lightning's own help would list its four subcommands only
        print(HELP)
        raise SystemExit(0)  # as argparse's --help: a script reading the exit code sees help, not a run
    elif not argv or not (argv[0] in SUBCOMMANDS or argv[0].startswith("-")):  # Lightning would name its four
        got = f"; got '{argv[0]}'" if argv else ""
        raise SystemExit(f"error: expected a subcommand: {', '.join(SUBCOMMANDS)} (python train.py --help){got}")
    elif argv[:1] == ["predict"] and not split_configs(argv[1:])[0] and "--help" not in argv:
        exit_on_user_error(lambda: predict_recorded_run(argv[1:]))  # the run's recorded experiment
    elif argv[:1] and argv[0] in PROTOCOLS:
        protocol = PROTOCOLS[argv[0]]
        exit_on_user_error(lambda: protocol(argv[1:]), PROTOCOL_RESUME_HINT)
    else:
        exit_on_user_error(lambda: NIECLI(args=argv))


if __name__ == "__main__":
    main(sys.argv[1:])
