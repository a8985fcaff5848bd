"""Sampled training on a knowledge graph served by DGL's distributed engine (``DistGraph``).

The graph's partitions (``train.py partition``) are held by DGL's servers, one per machine; each
trainer samples neighbourhoods across all of them and pulls only the features of the nodes a batch
touches, so no machine holds the whole graph. Launching servers and trainers is DGL's job (its
``launch.py``, which sets ``DGL_DIST_MODE`` and the other ``DGL_*`` variables); with one partition and
no servers (``DGL_DIST_MODE`` unset) the same config runs in DGL's standalone mode.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import pandas as pd
import torch
from typing_extensions import override

from datamodules.common import StagedDataModule, dataset_name
from datamodules.kg.datamodule import write_prediction_table
from datamodules.kg.partition import STAGE_IDS, read_partitions
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


class DistributedKnowledgeGraphDataModule(StagedDataModule):
    """The partitions of a knowledge graph, its inputs and one fold's split (as ``train.py partition``
    wrote them), trained with neighbour sampling on DGL's ``DistGraph``. The fold and the pre-training
    stage are fixed by the partitions: ``hparams`` reports them (for run folders) from ``graph_spec.json``.

    Arguments: the fields of ``DistributedGraphSettings`` (``datamodules/kg/settings.py``, documented there).
    """

    def __init__(self, **arguments: Any) -> None:
        super().__init__()
        h = DistributedGraphSettings(**arguments)
        if h.batch_size < 1 or not h.fanouts:
            raise ConfigError(
                f"data.batch_size must be positive and data.fanouts non-empty, got {h.batch_size}, {h.fanouts}"
            )
        if h.connect_timeout <= 0:
            raise ConfigError(f"data.connect_timeout must be positive seconds, got {h.connect_timeout}")
        self.save_hyperparameters(h.values())
        folder = read_partitions(h.partitions)
        self.layout = folder.layout
        self.hparams["dataset"] = dataset_name(h.dataset or self.layout["graph_name"], h.partitions, "graph")
        self.hparams.update(folder.fixed)
        self.spec: GraphSpec = folder.spec
        self.graph: Any = None
        self.seeds: dict[str, torch.Tensor] = {}

    @property
    def settings(self) -> DistributedGraphSettings:
        """The arguments, typed."""
        return DistributedGraphSettings.of(self.hparams)

    @override
    def setup(self, stage: Optional[str] = None) -> None:
        """Connect to DGL's servers (once per process) and give each of Lightning's processes its share of
        every stage's seed nodes (training shards are reshuffled per epoch within the share)."""
        if self.graph is not None:
            return
        self.graph = g = self.connect()
        rank, world = process_share(self.trainer)
        every = torch.arange(g.num_nodes())
        for name in STAGE_IDS:  # a mask is a byte per node: each trainer reads it whole and takes its share
            self.seeds[name] = share(every[g.ndata[f"{name}_mask"][every].bool()], rank, world, name == "train")
        self.seeds["predict"] = share(every, rank, world, equal=False)

    def connect(self) -> Any:
        """DGL's ``DistGraph`` of the partitions: through the servers in distributed mode, the lone
        partition itself in standalone mode; a server that does not answer, or that serves another graph,
        stops the run in one line."""
        dgl = import_dgl()
        from dgl.distributed.dist_context import is_initialized

        h = self.settings
        distributed = os.environ.get("DGL_DIST_MODE", "standalone") == "distributed"
        if self.layout["num_parts"] > 1 and not distributed:
            raise ConfigError(
                f"{h.partitions}: {self.layout['num_parts']} partitions need DGL's servers: start servers and "
                "trainers with DGL's launch tool (DGL_DIST_MODE=distributed; docs/scaling.md)"
            )
        servers = read_ip_config(h.ip_config, self.layout["num_parts"]) if distributed else []
        if not is_initialized():
            os.environ["DGL_DIST_MAX_TRY_TIMES"] = str(max(1, math.ceil(h.connect_timeout / RETRY_S)))
            try:
                dgl.distributed.initialize(h.ip_config or "")
            except dgl.distributed.rpc.DistConnectError:
                raise ConfigError(
                    f"data.ip_config {h.ip_config}: no answer from DGL's servers ({', '.join(servers)}) within "
                    f"{h.connect_timeout:g} s; start them with DGL's launch tool, or raise data.connect_timeout"
                ) from None
        g = dgl.distributed.DistGraph(self.layout["graph_name"], part_config=h.partitions)
        if g.num_nodes() != self.layout["num_nodes"] or g.num_edges() != self.layout["num_edges"]:
            raise ConfigError(
                f"data.ip_config {h.ip_config}: the servers serve a graph of {g.num_nodes()} nodes and "
                f"{g.num_edges()} edges, not {h.partitions}'s {self.layout['num_nodes']} and "
                f"{self.layout['num_edges']}; start them on this partition config"
            )
        return g

    @override
    def _loader(self, stage: str) -> DistributedBatches:
        h = self.settings
        training = stage == "train"
        fanouts = list(h.fanouts) if training else [-1] * len(h.fanouts)
        return DistributedBatches(
            self.graph, self.seeds[stage], fanouts, h.batch_size, training, training and h.drop_last
        )

    @override
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


RETRY_S = 3  # DGL's client retries a server every 3 s, DGL_DIST_MAX_TRY_TIMES times


def read_ip_config(ip_config: Optional[str], parts: int) -> list[str]:
    """DGL's machine list as ``ip:port`` strings: one line per partition, each on its own machine (DGL 2.1
    names a partition's shared memory after the graph, so two partitions served from one host overwrite
    each other: ``bench/dgl_partitions.py``)."""
    if not ip_config:
        raise ConfigError("data.ip_config: DGL's machine list is needed when DGL_DIST_MODE=distributed")
    try:
        lines = [line.split() for line in Path(ip_config).read_text().splitlines() if line.strip()]
    except OSError as err:
        raise ConfigError(f"data.ip_config {ip_config}: not readable ({err.strerror})") from None
    bad = [n for n, fields in enumerate(lines, 1) if len(fields) != 2 or not fields[1].isdigit()]
    if bad:
        raise ConfigError(f"data.ip_config {ip_config}: line {bad[0]} is not 'ip port'")
    if len(lines) != parts:
        raise ConfigError(
            f"data.ip_config {ip_config}: {len(lines)} machine(s) for {parts} partition(s); DGL serves one "
            "partition per machine"
        )
    hosts = [ip for ip, _ in lines]
    shared = next((ip for ip in hosts if hosts.count(ip) > 1), None)
    if shared is not None:
        raise ConfigError(
            f"data.ip_config {ip_config}: {shared} is named {hosts.count(shared)} times; DGL 2.1 serves one "
            "partition per host (two on one host overwrite each other's shared memory)"
        )
    return [f"{ip}:{port}" for ip, port in lines]
