"""A knowledge graph cut into partitions for DGL's distributed engine (``DistGraph``).

One machine that can hold the graph once builds the inputs exactly as a single-machine run would
(features, this fold's split, labels) and writes them with the edges into ``parts`` partitions; the
machines of a distributed run then each serve one partition and sample from all of them. The node
ids of a partitioned graph are DGL's own (reshuffled so each partition's are contiguous);
``ndata["node_id"]`` keeps the original ones, so predictions come back in the graph's own ids.
Beside DGL's files, ``graph_spec.json`` records the graph's spec and the data settings the partitions
fix (the fold, the pre-training stage), which a run on them reports as its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import torch

from datamodules.kg.datamodule import KnowledgeGraphDataModule
from nie.core.errors import ConfigError
from nie.core.io import write_json
from nie.core.seed import import_dgl
from nie.importance.spec import GraphSpec

PartitionMethod = Literal["random", "metis"]
STAGE_IDS = ("train", "val", "test")  # each a node mask, ndata["<stage>_mask"]
SPEC_FILE = "graph_spec.json"
PART_FILES = ("node_feats", "edge_feats", "part_graph")  # what DGL's partition config names per partition
FIXED = ("fold", "pretraining")  # data settings the partitions fix; runs on them report them as theirs


@dataclass(frozen=True)
class Partitions:
    """A partition folder as read back: DGL's config, the graph's spec, the data settings it fixes."""

    config: Path
    layout: dict[str, Any]
    spec: GraphSpec
    fixed: dict[str, Any]  # fold, pretraining: hyper-parameters of the data that wrote the partitions


def write_partitions(
    datamodule: KnowledgeGraphDataModule,
    parts: int,
    out: str | Path,
    method: PartitionMethod = "metis",
) -> Path:
    """Partition a set-up ``KnowledgeGraphDataModule``'s graph and inputs into ``out`` (written whole or
    not at all); returns the partition config (the JSON a ``DistributedKnowledgeGraphDataModule`` reads)."""
    dgl = import_dgl()
    g = input_graph(datamodule)
    if parts > g.num_nodes():
        raise ConfigError(f"--parts {parts}: more partitions than the graph's {g.num_nodes()} nodes")
    name = str(datamodule.hparams["dataset"])
    folder = Path(out)
    check_new_folder(folder)
    partial = folder.resolve().with_name(f".{folder.resolve().name}.partial-{os.getpid()}")
    try:
        dgl.distributed.partition_graph(g, name, parts, str(partial), part_method=method)
        check_node_ranges(json.loads((partial / f"{name}.json").read_text()), method)
        fixed = {k: getattr(datamodule.hparams.get(k), "run_name", datamodule.hparams.get(k)) for k in FIXED}
        write_json(partial / SPEC_FILE, {"spec": dataclasses.asdict(datamodule.spec), "data": fixed})
        partial.replace(folder)  # an empty folder is replaced; one holding files refuses (checked before)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder / f"{name}.json"


def check_new_folder(folder: Path) -> None:
    """Partitions are never written over others (a run may be using them)."""
    if folder.is_dir() and any(folder.iterdir()):
        raise ConfigError(f"--out {folder}: already holds files; give a new or empty folder")


def input_graph(datamodule: KnowledgeGraphDataModule) -> Any:
    """The graph's edges with every input a run needs as node and edge data."""
    dgl = import_dgl()
    inputs = datamodule.node_inputs()
    graph = datamodule.full_graph.dgl()
    g = dgl.graph(graph.edges(), num_nodes=graph.num_nodes())  # the edges only: ndata below, no cached frames
    g.edata["rel"] = graph.edata["rel"]
    g.ndata["x"] = inputs.x.float()
    if inputs.x_semantic is not None:
        g.ndata["x_semantic"] = inputs.x_semantic.float()
    g.ndata["in_degree"] = inputs.in_degree.float()
    g.ndata["label"] = datamodule.labels.float()
    for name in STAGE_IDS:  # boolean masks (as uint8): DGL splits them among the trainers
        mask = torch.zeros(g.num_nodes(), dtype=torch.uint8)
        mask[datamodule.stage_labels(name)[0]] = 1
        g.ndata[f"{name}_mask"] = mask
    g.ndata["node_id"] = torch.arange(g.num_nodes())
    return g


def check_node_ranges(layout: dict[str, Any], method: str) -> None:
    """Every partition must hold nodes: an empty one is a −1 range in DGL's partition book, which its
    2.1 samplers do not handle (dmlc/dgl#7785)."""
    for ranges in layout["node_map"].values():
        empty = [i for i, (start, end) in enumerate(ranges) if end <= start]
        if empty:
            raise ConfigError(
                f"--parts {layout['num_parts']}: DGL's {method} partitioning left partition(s) {empty} without "
                "nodes; use fewer partitions"
            )


def read_partitions(part_config: str | Path) -> Partitions:
    """A partition folder checked whole before DGL reads it: the config, every file it names, and the spec
    written with them for the same graph; each problem one line."""
    path = Path(part_config)
    layout = read_layout(path)
    missing = [f for f in part_files(path, layout) if not f.is_file()]
    if missing:
        raise ConfigError(
            f"data.partitions {path}: {missing[0]} is missing ({len(missing)} of the files the config names); "
            "copy the whole partition folder (train.py partition --out) to every machine"
        )
    spec_path = path.parent / SPEC_FILE
    try:
        written = json.loads(spec_path.read_text())
        spec = GraphSpec(**written["spec"])
        fixed = {k: written["data"][k] for k in FIXED}
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(
            f"{spec_path}: missing or not written by this version ({err!r}); write the partitions again with "
            "`python train.py partition`"
        ) from None
    if spec.num_nodes != layout["num_nodes"]:
        raise ConfigError(
            f"data.partitions {path}: partitions a graph of {layout['num_nodes']} nodes but {spec_path} describes "
            f"one of {spec.num_nodes}: the folder mixes two graphs' partitions; write them again"
        )
    return Partitions(path, layout, spec, fixed)


def part_files(part_config: Path, layout: dict[str, Any]) -> list[Path]:
    """Every file DGL's partition config names (relative to the config's folder)."""
    files = []
    for part in range(layout["num_parts"]):
        entry: Optional[dict[str, str]] = layout.get(f"part-{part}")
        if not isinstance(entry, dict) or any(k not in entry for k in PART_FILES):
            raise ConfigError(f"data.partitions {part_config}: part-{part} does not name {', '.join(PART_FILES)}")
        files += [part_config.parent / entry[k] for k in PART_FILES]
    return files


def read_layout(part_config: Path) -> dict[str, Any]:
    """DGL's partition config (graph name, number of partitions), or one line saying what is wrong."""
    try:
        layout = json.loads(part_config.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"data.partitions {part_config}: not a readable partition config ({err})") from None
    keys = ("graph_name", "num_parts", "num_nodes", "node_map")
    if not isinstance(layout, dict) or any(k not in layout for k in keys):
        raise ConfigError(f"data.partitions {part_config}: expected DGL's partition config with {', '.join(keys)}")
    return layout
