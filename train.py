"""Train, validate, test, predict or cross-validate from one YAML file.

    python train.py fit --config configs/demo.yaml
    python train.py cv --config configs/fb15k/pagerank.yaml --out results.json
"""

import sys

from nie.cli import NIECLI
from nie.cv import cross_validate
from nie.errors import NIEError


def main(argv: list[str]) -> None:
    try:
        if argv[:1] == ["cv"]:
            cross_validate(argv[1:])
        else:
            NIECLI(args=argv)
    except NIEError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
