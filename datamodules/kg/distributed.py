"""Sampled training on a knowledge graph served by DGL's distributed engine (``DistGraph``).

The graph's partitions (``train.py partition``) are held by DGL's servers, one per machine; each
trainer samples neighbourhoods across all of them and pulls only the features of the nodes a batch
touches, so no machine holds the whole graph. Launching servers and trainers is DGL's job (its
``launch.py``, which sets ``DGL_DIST_MODE`` and the other ``DGL_*`` variables); with one partition and
no servers (``DGL_DIST_MODE`` unset) the same config runs in DGL's standalone mode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import lightning.pytorch as pl
import pandas as pd
import torch

from datamodules.common import dataset_name
from datamodules.kg.datamodule import write_prediction_table
from datamodules.kg.partition import STAGE_IDS, read_spec
from datamodules.kg.settings import DistributedGraphSettings
from nie.core.distributed import process_share
from nie.core.errors import ConfigError
from nie.core.seed import import_dgl
from nie.importance.kernels import Graph
from nie.importance.spec import GraphBatch, GraphSpec


class DistributedBatches:
    """Neighbour-sampled blocks around a stage's seed nodes, with the features and labels they need
    pulled from the servers; nodes carry their original ids (``ndata["node_id"]``)."""

    def __init__(
        self, graph: Any, seeds: torch.Tensor, fanouts: list[int], batch_size: int, training: bool, drop_last: bool
    ) -> None:
        dgl = import_dgl()
        self.graph = graph
        self.loader = dgl.dataloading.DistNodeDataLoader(
            graph,
            seeds,
            dgl.dataloading.MultiLayerNeighborSampler(fanouts),
            batch_size=batch_size,
            shuffle=training,
            drop_last=drop_last and len(seeds) > batch_size,
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[GraphBatch]:
        dgl = import_dgl()
        g = self.graph
        semantic = "x_semantic" in g.ndata
        for inputs, outputs, blocks in self.loader:
            for block in blocks:
                block.edata["rel"] = g.edata["rel"][block.edata[dgl.EID]]
            yield GraphBatch(
                [Graph.from_dgl_block(b) for b in blocks],
                g.ndata["x"][inputs],
                g.ndata["node_id"][outputs],
                g.ndata["in_degree"][outputs],
                torch.arange(len(outputs)),
                g.ndata["label"][outputs],
                g.ndata["x_semantic"][inputs] if semantic else None,
            )


class DistributedKnowledgeGraphDataModule(pl.LightningDataModule):
    """The partitions of a knowledge graph, its inputs and one fold's split (as ``train.py partition``
    wrote them), trained with neighbour sampling on DGL's ``DistGraph``.

    Args:
        partitions: the partition config JSON ``train.py partition`` wrote.
        ip_config: DGL's machine list (one ``ip port`` line per machine); needed when DGL's launcher
            runs the trainers (``DGL_DIST_MODE=distributed``), unused in standalone mode.
        batch_size, fanouts, drop_last: as ``KnowledgeGraphDataModule``'s sampled training; evaluation
            samples full neighbourhoods.
        dataset: name in run directories (default: the partitioned graph's name).
    """

    def __init__(
        self,
        partitions: str,
        fanouts: list[int],
        batch_size: int = 256,
        ip_config: Optional[str] = None,
        drop_last: bool = True,
        dataset: Optional[str] = None,
    ) -> None:
        super().__init__()
        if batch_size < 1 or not fanouts:
            raise ConfigError(
                f"data.batch_size must be positive and data.fanouts non-empty, got {batch_size}, {fanouts}"
            )
        self.save_hyperparameters()
        self.layout = read_layout(partitions)
        self.hparams["dataset"] = dataset_name(dataset or self.layout["graph_name"], partitions, "graph")
        self.spec: GraphSpec = read_spec(partitions)
        self.graph: Any = None
        self.seeds: dict[str, torch.Tensor] = {}

    @property
    def settings(self) -> DistributedGraphSettings:
        """The arguments, typed."""
        return DistributedGraphSettings.of(self.hparams)

    def setup(self, stage: Optional[str] = None) -> None:
        """Connect to DGL's servers (once per process) and give each of Lightning's processes its share of
        every stage's seed nodes (training shards are reshuffled per epoch within the share)."""
        if self.graph is not None:
            return
        dgl = import_dgl()
        from dgl.distributed.dist_context import is_initialized

        h = self.settings
        distributed = os.environ.get("DGL_DIST_MODE", "standalone") == "distributed"
        if self.layout["num_parts"] > 1 and not distributed:
            raise ConfigError(
                f"{h.partitions}: {self.layout['num_parts']} partitions need DGL's servers: start servers and "
                "trainers with DGL's launch tool (DGL_DIST_MODE=distributed; README, 'Graphs beyond one machine')"
            )
        if distributed and not h.ip_config:
            raise ConfigError("data.ip_config: DGL's machine list is needed when DGL_DIST_MODE=distributed")
        if not is_initialized():
            dgl.distributed.initialize(h.ip_config or "")
        self.graph = g = dgl.distributed.DistGraph(self.layout["graph_name"], part_config=h.partitions)
        rank, world = process_share(self.trainer)
        every = torch.arange(g.num_nodes())
        for name in STAGE_IDS:  # a mask is a byte per node: each trainer reads it whole and takes its share
            self.seeds[name] = share(every[g.ndata[f"{name}_mask"][every].bool()], rank, world, name == "train")
        self.seeds["predict"] = share(every, rank, world, equal=False)

    def _loader(self, stage: str) -> DistributedBatches:
        h = self.settings
        training = stage == "train"
        fanouts = list(h.fanouts) if training else [-1] * len(h.fanouts)
        return DistributedBatches(
            self.graph, self.seeds[stage], fanouts, h.batch_size, training, training and h.drop_last
        )

    def train_dataloader(self) -> DistributedBatches:
        return self._loader("train")

    def val_dataloader(self) -> DistributedBatches:
        return self._loader("val")

    def test_dataloader(self) -> DistributedBatches:
        return self._loader("test")

    def predict_dataloader(self) -> DistributedBatches:
        return self._loader("predict")

    def transfer_batch_to_device(self, batch: GraphBatch, device: torch.device, dataloader_idx: int) -> GraphBatch:
        return batch.to(device)

    def write_predictions(self, outputs: list[dict[str, torch.Tensor]], path: str | Path) -> pd.DataFrame:
        """Scores per original node id, as a single-machine run writes them (without names)."""
        return write_prediction_table(outputs, path)


def share(seeds: torch.Tensor, rank: int, world: int, equal: bool) -> torch.Tensor:
    """Rank ``rank``'s seeds of ``world``; ``equal`` shares (the first seeds repeat to fill the last ones)
    give every rank as many training steps, which DDP's gradient exchange needs."""
    if equal:
        seeds = torch.cat([seeds, seeds[: (-len(seeds)) % world]])
    return seeds[rank::world]


def read_layout(part_config: str) -> dict[str, Any]:
    """DGL's partition config (graph name, number of partitions), or one line saying what is wrong."""
    path = Path(part_config)
    try:
        layout = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"data.partitions {path}: not a readable partition config ({err})") from None
    if not isinstance(layout, dict) or "graph_name" not in layout or "num_parts" not in layout:
        raise ConfigError(f"data.partitions {path}: expected DGL's partition config with graph_name and num_parts")
    return layout
