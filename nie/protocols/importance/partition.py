"""``train.py partition``: a graph config's graph, inputs and fold split written as DGL partitions.

    python train.py partition --config configs/<graph config>.yaml --parts 4 --out parts/

The inputs are built exactly as a single-machine run builds them (features, the fold's split,
labels); a run on the partitions uses ``datamodules.DistributedKnowledgeGraphDataModule`` with
``partitions: parts/<dataset>.json`` (docs/scaling.md, "Graphs beyond one machine"), each partition served by
DGL's server on its own machine. The folder is written whole or not at all, never over other files.
"""

from __future__ import annotations

from pathlib import Path

from datamodules.kg.datamodule import KnowledgeGraphDataModule
from datamodules.kg.partition import SPEC_FILE, check_new_folder, write_partitions
from nie.cli.experiment import Experiment
from nie.core.errors import ConfigError
from nie.core.io import check_writable
from nie.protocols.splits import command_parser


def partition(argv: list[str]) -> Path:
    parser = command_parser("partition", __doc__)
    parser.add_argument("--parts", type=int, required=True, help="number of partitions (machines)")
    parser.add_argument("--out", required=True, help="folder for the partitions")
    parser.add_argument("--method", choices=["metis", "random"], default="metis", help="DGL's partitioning")
    known, rest = parser.parse_known_args(argv)
    if known.parts < 1:
        raise ConfigError(f"--parts must be at least 1, got {known.parts}")
    if not rest:
        raise ConfigError(
            "partition needs a graph experiment: python train.py partition --config <yaml> --parts N --out DIR"
        )
    check_writable(Path(known.out) / SPEC_FILE)
    check_new_folder(Path(known.out))
    cli = Experiment.from_argv(rest).build()
    if not isinstance(cli.datamodule, KnowledgeGraphDataModule):
        raise ConfigError(f"partition needs a knowledge-graph datamodule, not {type(cli.datamodule).__name__}")
    cli.datamodule.setup()
    config = write_partitions(cli.datamodule, known.parts, known.out, known.method)
    print(f"{known.parts} partition(s) written; use data.init_args.partitions: {config}")
    return config
