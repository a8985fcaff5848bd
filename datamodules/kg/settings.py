"""The graph datamodule's arguments as typed values (Lightning keeps them in ``hparams``, an untyped dict)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from datamodules.kg.features import StructuralMethod
from nie.core.settings import Settings
from nie.importance.kernels import Backend
from nie.importance.spec import LabelTransform, NodePretraining


@dataclass(frozen=True)
class GraphDataSettings(Settings):
    """``KnowledgeGraphDataModule``'s arguments (documented there), read from its ``hparams``; ``dataset`` is
    resolved."""

    root: Optional[str]
    node_info: Optional[str]
    triples: Optional[str]
    relation_names: Optional[str]
    semantic_pickle: Optional[str]
    dataset: str
    fold: int
    num_folds: int
    split: Literal["folds", "chunks"]
    num_chunks: int
    chunk_fractions: tuple[float, float, float]
    label_transform: LabelTransform
    self_loops: bool
    features: Optional[list[str]]
    semantic_features: Optional[list[str]]
    structural_method: StructuralMethod
    structural_dim: int
    structural_epochs: int
    cache_dir: str
    seed: int
    batch_size: Optional[int]
    fanouts: Optional[list[int]]
    drop_last: bool
    pretraining: Optional[NodePretraining]
    backend: Backend


@dataclass(frozen=True)
class DistributedGraphSettings(Settings):
    """``DistributedKnowledgeGraphDataModule``'s arguments (documented there); ``dataset`` is resolved."""

    partitions: str
    fanouts: list[int]
    batch_size: int
    ip_config: Optional[str]
    drop_last: bool
    dataset: str
    connect_timeout: float = 300.0  # added later: older checkpoints read the default
