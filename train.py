"""Train, validate, test, predict or cross-validate from one YAML file.

python train.py fit --config configs/demo.yaml
python train.py cv --config configs/fb15k/pagerank.yaml --out results.json
python train.py select --candidates configs/fb15k/rgtn.yaml configs/fb15k/best.yaml --out ranking.json
python train.py backtest --config configs/gefcom2014/backtest.yaml --out backtest.json
python train.py partition --config configs/demo.yaml --parts 2 --out parts/
"""

import sys

from nie.cli.exits import exit_on_user_error
from nie.cli.forecasting.backtest import backtest
from nie.cli.importance.cv import cross_validate
from nie.cli.importance.partition import partition
from nie.cli.lightning_cli import NIECLI
from nie.cli.select import select


def main(argv: list[str]) -> None:
    if argv[:1] == ["cv"]:
        exit_on_user_error(lambda: cross_validate(argv[1:]))
    elif argv[:1] == ["backtest"]:
        exit_on_user_error(lambda: backtest(argv[1:]))
    elif argv[:1] == ["partition"]:
        exit_on_user_error(lambda: partition(argv[1:]))
    elif argv[:1] == ["select"]:
        exit_on_user_error(lambda: select(argv[1:]))
    else:
        exit_on_user_error(lambda: NIECLI(args=argv))


if __name__ == "__main__":
    main(sys.argv[1:])
