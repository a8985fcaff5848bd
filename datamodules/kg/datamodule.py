"""LightningDataModule for node importance on a knowledge graph (full-batch)."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Optional, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset
from typing_extensions import override

from datamodules.common import StagedDataModule, already_batched, dataset_name
from datamodules.kg.features import build_features, graph_fingerprint
from datamodules.kg.graph import KnowledgeGraph
from datamodules.kg.io import load_graph
from datamodules.kg.settings import GraphDataSettings
from datamodules.kg.splits import Split, chunked_split, literature_fold
from datamodules.kg.synthetic import write_synthetic_graph
from nie.core.distributed import process_share
from nie.core.errors import ConfigError
from nie.core.fingerprint import digest, files_stamp, remembered
from nie.core.io import atomic_path
from nie.core.seed import import_dgl
from nie.importance.kernels import DGL_INSTALL, Graph, dgl_importable, dgl_supports, resolve_backend
from nie.importance.spec import GraphBatch, GraphSpec, NodePretraining, scores_to_labels

Ids = npt.NDArray[np.int64]
Features = npt.NDArray[np.float32]


def require_sampling_support(device: torch.device) -> None:
    """Neighbour sampling is DGL's: fail at start-up, not mid-epoch, when it cannot run on ``device``."""
    if not dgl_importable():
        raise ConfigError(
            f"data.batch_size (neighbour-sampled mini-batches) needs DGL: {DGL_INSTALL}; "
            "full-batch training runs without it (leave data.batch_size unset)"
        )
    if not dgl_supports(device):
        raise ConfigError(
            f"data.batch_size (neighbour-sampled mini-batches) on {device} needs a DGL build with "
            f"support for it: {DGL_INSTALL}; full-batch training runs on any device "
            "(leave data.batch_size unset), or run with --trainer.accelerator cpu"
        )


class SampledBatches:
    """Neighbour-sampled blocks around batches of ``stage.target_index`` nodes (DGL's DataLoader).

    Under DDP, ``use_ddp`` gives each process its own shard of the seed nodes.
    """

    def __init__(
        self,
        stage: GraphBatch,
        graph: Graph,
        labels: torch.Tensor,
        fanouts: list[int],
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        use_ddp: bool,
    ) -> None:
        dgl = import_dgl()  # seeded with the run's seed on first import

        self.stage, self.labels = stage, labels
        seeds = stage.output_nodes[stage.target_index]
        graph = graph.dgl()
        self.loader = dgl.dataloading.DataLoader(
            graph,
            seeds,
            dgl.dataloading.MultiLayerNeighborSampler(fanouts),
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=drop_last and len(seeds) > batch_size,
            use_ddp=use_ddp,
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[GraphBatch]:
        s = self.stage
        for inputs, outputs, blocks in self.loader:
            yield GraphBatch(
                [Graph.from_dgl_block(b) for b in blocks],
                s.x[inputs],
                outputs,
                s.in_degree[outputs],
                torch.arange(len(outputs)),
                self.labels[outputs],
                None if s.x_semantic is None else s.x_semantic[inputs],
            )


GRAPH_PATHS = ("root", "node_info", "triples", "relation_names", "semantic_pickle")


def check_arguments(h: GraphDataSettings) -> None:
    """Refuse, in one line each, argument values and combinations the datamodule cannot serve."""
    if h.batch_size is not None and h.batch_size < 1:
        raise ConfigError(f"data.batch_size={h.batch_size}: expected a number >= 1 (or unset: full-batch training)")
    if any(f == 0 or f < -1 for f in h.fanouts or []):
        raise ConfigError(f"data.fanouts={h.fanouts}: expected each entry -1 (all neighbours) or a number >= 1")
    if h.structural_dim < 1:
        raise ConfigError(f"data.structural_dim={h.structural_dim}: expected a number >= 1")
    if h.eval_batch_size is not None and h.batch_size is None:
        raise ConfigError(
            f"data.eval_batch_size={h.eval_batch_size}: only for a sampled run (data.batch_size set); "
            "a full-batch run evaluates the whole graph at once"
        )
    if h.eval_batch_size is not None and h.eval_batch_size < 1:
        raise ConfigError(
            f"data.eval_batch_size={h.eval_batch_size}: expected a number >= 1 (nodes per evaluation step)"
        )
    if h.batch_size is not None and not h.fanouts:
        raise ConfigError("data.batch_size needs data.fanouts (neighbours per layer, -1 = all), one per network layer")
    if h.batch_size is not None and h.backend == "torch":
        raise ConfigError(
            "data.batch_size samples neighbours with DGL, so it needs data.backend: dgl or auto "
            "(data.backend: torch is for full-batch training)"
        )


class KnowledgeGraphDataModule(StagedDataModule):
    """A knowledge graph with importance labels, split by the literature's 5-fold protocol.

    Arguments: the fields of ``GraphDataSettings`` (``datamodules/kg/settings.py``, documented there).
    """

    def __init__(self, **arguments: Any) -> None:
        h = GraphDataSettings(**arguments)
        check_arguments(h)
        super().__init__()
        # an explicit dict: every argument, defaults too (subclasses pass them through **kwargs)
        self.save_hyperparameters(h.values())
        self.hparams["dataset"] = dataset_name(h.dataset, h.root or h.node_info, "graph")
        self.graph: Optional[KnowledgeGraph] = None
        self._read_graph: Optional[KnowledgeGraph] = None  # read for the fingerprint, before setup
        self.split: Optional[Split] = None
        self._batches: dict[str, GraphBatch] = {}
        self._device_cache: dict[str, GraphBatch] = {}

    @property
    def settings(self) -> GraphDataSettings:
        """The arguments, typed, as ``hparams`` holds them now."""
        return GraphDataSettings.of(self.hparams)

    # ----------------------------------------------------------------- loading
    def load(self) -> KnowledgeGraph:
        """The graph files, read once (by ``setup`` and the fingerprint)."""
        if self._read_graph is None:
            self.prepare_data()  # a generated graph is written first: setup runs without a Trainer
            h = self.settings
            self._read_graph = load_graph(h.root, h.node_info, h.triples, h.relation_names, h.semantic_pickle)
        return self._read_graph

    @property
    def data_paths(self) -> dict[str, str]:
        """The graph's files and folder as given, resolved (what a run folder records of where they were)."""
        return {k: str(Path(self.hparams[k]).resolve()) for k in GRAPH_PATHS if self.hparams.get(k)}

    @property
    def data_fingerprint(self) -> str:
        """Hash of the graph read: its structure (the feature cache's key) and its labels."""
        self.prepare_data()  # a generated graph is written first

        def compute() -> str:
            graph = self.load()
            return digest(graph_fingerprint(graph), graph.scores.astype(np.float64), graph.labeled.astype(bool))

        return remembered(files_stamp(self.data_paths.values()), ("graph",), compute)

    @override
    def setup(self, stage: Optional[str] = None) -> None:
        """Load the graph, split its labeled nodes, build (and pre-train) the inputs, and make each stage's batch;
        a later setup on another device only switches the message-passing kernels."""
        h = self.settings
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        if h.batch_size is not None:
            require_sampling_support(device)
        backend = resolve_backend(h.backend, device, sampled=h.batch_size is not None)
        if self.graph is not None:
            self._use_backend(backend)
            return
        graph = self.load()
        self.split = split = self._split(graph)
        labels = torch.from_numpy(scores_to_labels(graph.scores, h.label_transform)).float()
        g, num_relations = graph.message_graph(h.self_loops)
        g = g.with_backend(backend)
        x, x_semantic = self._inputs(graph, g, num_relations, labels, split.train)
        self.graph = graph
        in_degree = g.in_degrees().float()
        train_labels = labels[split.train]
        self.spec = GraphSpec(
            graph.num_nodes,
            num_relations,
            x.shape[1],
            0 if x_semantic is None else x_semantic.shape[1],
            label_mean=float(train_labels.mean()),
            label_std=float(train_labels.std()) if len(train_labels) > 1 else 1.0,
            centrality_mean=float(torch.log(in_degree.clamp_min(1)).mean()),
            label_transform=h.label_transform,
        )
        self.full_graph, self.labels = g, labels
        x_sem = None if x_semantic is None else torch.from_numpy(x_semantic)
        self._batches = self._stage_batches(split, graph.num_nodes, g, x, x_sem, in_degree)
        rank_zero_info(f"message passing on the {backend} kernels (data.backend: {h.backend}, device {device})")

    def _split(self, graph: KnowledgeGraph) -> Split:
        """This fold's train/val/test nodes: the literature's folds or EASING's chunks."""
        h = self.settings
        if h.split == "chunks":
            return chunked_split(graph.labeled, h.fold, tuple(h.chunk_fractions), h.num_chunks)
        return literature_fold(graph.labeled, h.fold, h.num_folds)

    def _inputs(
        self, graph: KnowledgeGraph, g: Graph, num_relations: int, labels: torch.Tensor, train: Ids
    ) -> tuple[torch.Tensor, Optional[Features]]:
        """The input features [N, D] and the semantic branch's (or None), after the pre-training stage if any."""
        h = self.settings
        feature_names = h.features or (["given"] if "given" in graph.features else ["structural"])
        build = functools.partial(
            build_features,
            graph,
            cache_dir=h.cache_dir,
            structural_dim=h.structural_dim,
            structural_epochs=h.structural_epochs,
            seed=h.seed,
            structural_method=h.structural_method,
        )
        x = torch.from_numpy(build(feature_names))
        x_semantic = build(h.semantic_features) if h.semantic_features else None
        if h.pretraining is not None:  # sees the training fold's labels and nothing else
            x, x_semantic = self._pretrain(h.pretraining, g, num_relations, x, x_semantic, labels, train)
        return x, x_semantic

    def _stage_batches(
        self,
        split: Split,
        num_nodes: int,
        g: Graph,
        x: torch.Tensor,
        x_semantic: Optional[torch.Tensor],
        in_degree: torch.Tensor,
    ) -> dict[str, GraphBatch]:
        """The full-graph batch of each stage, supervising that stage's nodes (``predict``: every node); training
        also names the nodes without labels."""
        all_nodes = torch.arange(num_nodes)
        batches: dict[str, GraphBatch] = {}
        stages = {"train": split.train, "val": split.val, "test": split.test, "predict": np.arange(num_nodes)}
        for name, ids in stages.items():
            index = torch.from_numpy(np.asarray(ids, dtype=np.int64))
            batches[name] = GraphBatch([g], x, all_nodes, in_degree, index, self.labels[index], x_semantic)
        batches["train"].unlabeled_index = torch.from_numpy(split.unlabeled.astype(np.int64))
        return batches

    def _pretrain(
        self,
        pretraining: NodePretraining,
        g: Graph,
        num_relations: int,
        x: torch.Tensor,
        x_semantic: Optional[Features],
        labels: torch.Tensor,
        train_ids: Ids,
    ) -> tuple[torch.Tensor, Optional[Features]]:
        """Each input the pre-training stage names, replaced or extended by its own embeddings (the stage may
        train its own network, with a Trainer on this run's device)."""
        h = self.settings
        train = torch.from_numpy(np.asarray(train_ids, dtype=np.int64))
        for name in pretraining.inputs:
            if name == "structural":
                source = x
            elif x_semantic is None:
                raise ConfigError("data.pretraining pre-trains the semantic input, but data.semantic_features is empty")
            else:
                source = torch.from_numpy(x_semantic)
            embeddings = pretraining.embeddings(
                g, source, num_relations, train, labels[train], h.seed, h.cache_dir, self.trainer, name
            )
            if name == "structural":
                x = pretraining.apply(source, embeddings)
            else:
                x_semantic = pretraining.apply(source, embeddings).numpy()
        return x, x_semantic

    def _use_backend(self, backend: Literal["dgl", "torch"]) -> None:
        """Switch the kernels of an already set-up graph (a later stage on another device)."""
        if self.full_graph.backend == backend:
            return
        self.full_graph = self.full_graph.with_backend(backend)
        self._batches = {k: replace(b, graphs=[self.full_graph]) for k, b in self._batches.items()}
        self._device_cache.clear()
        rank_zero_info(f"message passing on the {backend} kernels (data.backend: {self.settings.backend})")

    def node_inputs(self) -> GraphBatch:
        """Every node's inputs on the full graph (features, in-degrees; what partitions are written from)."""
        if not self._batches:
            raise RuntimeError("call setup() before asking for the inputs")
        return self._batches["predict"]

    def training_labels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Node ids and labels of this fold's training nodes (all a baseline may see)."""
        return self.stage_labels("train")

    def stage_labels(self, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Node ids and labels of one split of this fold (``train``, ``val`` or ``test``)."""
        batch = self._batches[stage]
        return batch.output_nodes[batch.target_index], batch.target_labels()

    # ------------------------------------------------------------- dataloaders
    @override
    def _loader(self, stage: str) -> Iterable[GraphBatch]:
        """One full-graph batch per epoch, or for sampled training, sampled blocks around batches of the
        training nodes (a sampled run's task evaluates the full graph one layer at a time:
        ``nie.importance.layerwise``)."""
        if not self._batches:
            raise RuntimeError("call setup() before asking for dataloaders")
        h = self.settings
        rank, world = process_share(self.trainer)
        sampled_training = stage == "train" and h.batch_size is not None
        batch = self._batches[stage]
        if world > 1 and not sampled_training:
            # each process owns a disjoint shard of the stage's nodes (DGL's use_ddp shards sampled training)
            unlabeled = None if batch.unlabeled_index is None else batch.unlabeled_index[rank::world]
            batch = replace(
                batch,
                target_index=batch.target_index[rank::world],
                labels=batch.target_labels()[rank::world],
                unlabeled_index=unlabeled,
            )
        if not sampled_training:
            one_step = cast(Dataset[GraphBatch], [batch])  # the stage's full-graph batch: one step per epoch
            return DataLoader(one_step, batch_size=None, collate_fn=already_batched)
        return SampledBatches(
            batch,
            self.full_graph,
            self.labels,
            h.fanouts or [],  # set whenever batch_size is (checked on construction)
            cast(int, h.batch_size),
            shuffle=True,
            drop_last=h.drop_last,
            use_ddp=world > 1,
        )

    @override
    def transfer_batch_to_device(self, batch: GraphBatch, device: torch.device, dataloader_idx: int) -> GraphBatch:
        """Move the shared full graph, features and degrees to ``device`` once; per step only the
        stage's node ids and labels travel. A sampled run's evaluation keeps the graph on the host: its task
        moves one layer step at a time to the device (``nie.importance.layerwise``)."""
        if batch.graphs[0] is not self.full_graph:  # sampled blocks
            return batch.to(device)
        key = str(device)
        if key not in self._device_cache:
            whole = self._batches["predict"]
            on_host = self.settings.batch_size is not None
            self._device_cache[key] = (
                replace(whole, output_nodes=whole.output_nodes.to(device)) if on_host else whole.to(device)
            )
        return replace(
            self._device_cache[key],
            target_index=batch.target_index.to(device),
            labels=batch.target_labels().to(device),
            unlabeled_index=None if batch.unlabeled_index is None else batch.unlabeled_index.to(device),
        )

    # ----------------------------------------------------------------- outputs
    def write_predictions(self, outputs: list[dict[str, torch.Tensor]], path: str | Path) -> pd.DataFrame:
        """The predictions as ``write_prediction_table`` writes them, with the nodes' names."""
        assert self.graph is not None
        return write_prediction_table(outputs, path, self.graph.names)


def write_prediction_table(
    outputs: list[dict[str, torch.Tensor]], path: str | Path, names: Optional[list[str]] = None
) -> pd.DataFrame:
    """One row per node (id, name, predicted score, rank, and what the network explains of it:
    ``explain/<part>`` outputs become columns ``<part>``), sorted by rank, written atomically."""
    nodes = torch.cat([o["node"] for o in outputs]).cpu().numpy()
    scores = torch.cat([o["score"] for o in outputs]).float().cpu()
    table = pd.DataFrame(
        {"node_id": nodes, "name": [names[i] for i in nodes] if names else "", "score": scores.numpy()}
    )
    table["rank"] = table["score"].rank(ascending=False, method="first").astype(int)
    for key in (k for k in outputs[0] if k.startswith("explain/")) if outputs else ():
        table[key.removeprefix("explain/")] = torch.cat([o[key] for o in outputs]).float().cpu().numpy()
    table = table.sort_values("rank")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return table


class SyntheticKnowledgeGraphDataModule(KnowledgeGraphDataModule):
    """A seeded generated graph (RGTN layout on disk), loaded like real data; for demos and tests."""

    def __init__(
        self,
        num_nodes: int = 3000,
        num_relations: int = 6,
        avg_degree: int = 8,
        graph_seed: int = 0,
        isolated_nodes: int = 0,
        cache_dir: str = ".cache/nie",
        **kwargs: Any,
    ) -> None:
        for name, value, least in (
            ("num_nodes", num_nodes, 10),
            ("num_relations", num_relations, 1),
            ("avg_degree", avg_degree, 1),
            ("isolated_nodes", isolated_nodes, 0),
        ):
            if value < least:
                raise ConfigError(f"data.init_args.{name} must be at least {least}, got {value}")
        if isolated_nodes > num_nodes - 10:
            raise ConfigError(f"data.init_args.isolated_nodes={isolated_nodes} leaves fewer than 10 connected nodes")
        isolated = f"-i{isolated_nodes}" if isolated_nodes else ""
        folder = Path(cache_dir) / f"synthetic-n{num_nodes}-r{num_relations}-d{avg_degree}-s{graph_seed}{isolated}"
        kwargs["dataset"] = kwargs.get("dataset") or "synthetic"
        super().__init__(root=str(folder), cache_dir=cache_dir, **kwargs)
        self.folder = folder
        shape = dict(num_nodes=num_nodes, num_relations=num_relations, avg_degree=avg_degree)
        self.generator_args: dict[str, Any] = dict(shape, seed=graph_seed, isolated_nodes=isolated_nodes)
        self.hparams.update(shape, graph_seed=graph_seed, isolated_nodes=isolated_nodes)

    @override
    def prepare_data(self) -> None:
        if not (self.folder / "node_info.tsv").is_file():
            write_synthetic_graph(self.folder, **self.generator_args)
