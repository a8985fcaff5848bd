"""Train, validate, test, predict or cross-validate from one YAML file.

python train.py fit --config configs/demo.yaml
python train.py cv --config configs/fb15k/pagerank.yaml --out results.json
"""

import sys

from nie.core.cli import NIECLI, exit_on_user_error
from nie.core.cv import cross_validate


def main(argv: list[str]) -> None:
    if argv[:1] == ["cv"]:
        exit_on_user_error(lambda: cross_validate(argv[1:]))
    else:
        exit_on_user_error(lambda: NIECLI(args=argv))


if __name__ == "__main__":
    main(sys.argv[1:])
