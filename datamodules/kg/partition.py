"""A knowledge graph cut into partitions for DGL's distributed engine (``DistGraph``).

One machine that can hold the graph once builds the inputs exactly as a single-machine run would
(features, this fold's split, labels) and writes them with the edges into ``parts`` partitions; the
machines of a distributed run then each serve one partition and sample from all of them. The node
ids of a partitioned graph are DGL's own (reshuffled so each partition's are contiguous);
``ndata["node_id"]`` keeps the original ones, so predictions come back in the graph's own ids.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

import torch

from datamodules.kg.datamodule import KnowledgeGraphDataModule
from nie.core.errors import ConfigError
from nie.core.io import write_json
from nie.core.seed import import_dgl
from nie.importance.spec import GraphSpec

PartitionMethod = Literal["random", "metis"]
STAGE_IDS = ("train", "val", "test")  # each a node mask, ndata["<stage>_mask"]
SPEC_FILE = "graph_spec.json"


def write_partitions(
    datamodule: KnowledgeGraphDataModule,
    parts: int,
    out: str | Path,
    method: PartitionMethod = "metis",
) -> Path:
    """Partition a set-up ``KnowledgeGraphDataModule``'s graph and inputs into ``out``; returns the
    partition config (the JSON a ``DistributedKnowledgeGraphDataModule`` reads)."""
    dgl = import_dgl()
    inputs = datamodule.node_inputs()
    spec = datamodule.spec
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
    name = str(datamodule.hparams["dataset"])
    folder = Path(out)
    dgl.distributed.partition_graph(g, name, parts, str(folder), part_method=method)
    write_json(folder / SPEC_FILE, dataclasses.asdict(spec))
    return folder / f"{name}.json"


def read_spec(part_config: str | Path) -> GraphSpec:
    """The graph's spec written beside its partitions."""
    path = Path(part_config).parent / SPEC_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: missing; write partitions with `python train.py partition`")
    return GraphSpec(**json.loads(path.read_text()))
