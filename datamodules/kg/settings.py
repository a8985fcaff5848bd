"""The graph datamodules' arguments, defined once: names, types, defaults and docs (``nie.core.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from datamodules.kg.features import StructuralMethod
from nie.core.settings import Settings
from nie.importance.kernels import Backend
from nie.importance.spec import LabelTransform, NodePretraining


@dataclass(frozen=True)
class GraphDataSettings(Settings):
    """``KnowledgeGraphDataModule``'s arguments (its ``hparams``, typed; there ``dataset`` is resolved).

    Args:
        root: a folder in the RGTN layout, or a ``.pk`` file in the pickle layout.
        node_info, triples, relation_names: explicit RGTN-layout files (instead of discovery).
        semantic_pickle: optional pickle of semantic features [N, D] (pickle layout).
        dataset: name used in run directories (default: the folder or file name).
        fold, num_folds: which fold of the cross-validation to train on (with ``split: chunks``:
            which repeat, of ``num_folds`` repeats).
        split: ``folds``, the literature's 5-fold protocol (70/10/20 of the labeled nodes), or
            ``chunks``, the semi-supervised setting of EASING: the labeled nodes cut into
            ``num_chunks`` chunks, ``chunk_fractions`` (train, val, test) of them drawn per repeat,
            the rest of the labeled nodes treated as unlabeled.
        label_transform: ``log1p`` trains on log(1 + score) (the literature), ``none`` on raw scores.
        self_loops: add a self-loop to every node, with its own relation id.
        features: feature sets stacked as input (``given``, ``structural``, ``semantic``, ``degree``);
            default ``given`` when the data ships features, else ``structural``.
        structural_method: how ``structural`` features are computed: ``spectral`` (seconds, no DGL) or
            ``deepwalk`` (random walks, minutes, needs DGL); ``structural_dim`` columns,
            ``structural_epochs`` DeepWalk epochs.
        semantic_features: feature sets for a second (semantic) input branch, e.g. ``[semantic]``.
        cache_dir: where computed features are cached, keyed by graph and settings.
        batch_size: ``None`` trains on the full graph each step; a number trains on that many
            labeled training nodes per step with neighbour sampling (seeds are training nodes,
            unlabeled nodes still appear as neighbours). Evaluation then takes full neighbourhoods.
        fanouts: neighbours sampled per layer (-1 = all), one entry per network layer.
        eval_batch_size: destination nodes per step of a sampled run's evaluation (validation, test,
            prediction; default ``batch_size``), which computes each layer for every node before the next
            (``nie.importance.layerwise``). Every neighbour is taken, so the outputs do not depend on it;
            it bounds the memory of one step's edges.
        drop_last: drop the last, smaller training batch (keeps every batch large enough for a
            listwise loss over ``ltr_list_size`` nodes).
        pretraining: a pre-training stage run per fold on this fold's training labels only, whose
            embeddings replace or extend ``features`` (e.g. ``nie.importance.LICAP``).
        backend: the message-passing kernels (``nie.importance.kernels``): ``dgl`` (fused, needs DGL with
            support for the device), ``torch`` (any device, no DGL) or ``auto`` (torch for full-batch
            runs, as fast or faster on CPU for every network; DGL for sampled ones, whose blocks are DGL's).
    """

    root: Optional[str] = None
    node_info: Optional[str] = None
    triples: Optional[str] = None
    relation_names: Optional[str] = None
    semantic_pickle: Optional[str] = None
    dataset: Optional[str] = None
    fold: int = 0
    num_folds: int = 5
    split: Literal["folds", "chunks"] = "folds"
    num_chunks: int = 1000
    chunk_fractions: tuple[float, float, float] = (0.1, 0.1, 0.1)
    label_transform: LabelTransform = "log1p"
    self_loops: bool = True
    features: Optional[list[str]] = None
    semantic_features: Optional[list[str]] = None
    structural_method: StructuralMethod = "deepwalk"
    structural_dim: int = 64
    structural_epochs: int = 3
    cache_dir: str = ".cache/nie"
    seed: int = 0
    batch_size: Optional[int] = None
    fanouts: Optional[list[int]] = None
    eval_batch_size: Optional[int] = None
    drop_last: bool = True
    pretraining: Optional[NodePretraining] = None
    backend: Backend = "auto"


@dataclass(frozen=True)
class DistributedGraphSettings(Settings):
    """``DistributedKnowledgeGraphDataModule``'s arguments (its ``hparams``, typed; ``dataset`` resolved there).

    Args:
        partitions: the partition config JSON ``train.py partition`` wrote.
        ip_config: DGL's machine list (one ``ip port`` line per machine, one machine per partition);
            needed when DGL's launcher runs the trainers (``DGL_DIST_MODE=distributed``), unused in
            standalone mode.
        batch_size, fanouts, drop_last: as ``KnowledgeGraphDataModule``'s sampled training; evaluation
            samples full neighbourhoods.
        dataset: name in run directories (default: the partitioned graph's name).
        connect_timeout: seconds a trainer waits for DGL's servers to answer (they load their partition
            first) before it stops with one line.
    """

    partitions: str
    fanouts: list[int]
    batch_size: int = 256
    ip_config: Optional[str] = None
    drop_last: bool = True
    dataset: Optional[str] = None
    connect_timeout: float = 300.0
