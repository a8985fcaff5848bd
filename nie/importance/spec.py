"""The data→model contract of node importance: sizes and label transform (``GraphSpec``), what a
step receives (``GraphBatch``), the interface of a pre-training stage (``NodePretraining``), and what
the task and the baselines ask of a datamodule (``GraphData``, ``GraphTrainingData``).
What a network offers the task is in ``nie.importance.contracts``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Protocol, runtime_checkable

import lightning.pytorch as pl
import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from nie.core.errors import ConfigError
from nie.importance.kernels import Graph
from nie.importance.kernels.graph import move_optional

LabelTransform = Literal["log1p", "none"]


def scores_to_labels(scores: npt.NDArray[np.float64], transform: LabelTransform) -> npt.NDArray[np.float64]:
    """Importance scores (page views, popularity) to the labels networks regress."""
    labels: npt.NDArray[np.float64] = np.log1p(scores) if transform == "log1p" else scores.astype(np.float64)
    return labels


@dataclass(frozen=True)
class GraphSpec:
    """Sizes a network needs before it sees data, and how labels relate to scores."""

    num_nodes: int
    num_relations: int  # including the self-loop relation when self-loops are added
    in_dim: int
    semantic_dim: int = 0
    label_mean: float = 0.0  # mean training label: networks start their output there
    label_std: float = 1.0  # standard deviation of the training labels, for networks that standardise
    centrality_mean: float = 1.0  # mean log(in-degree) over nodes, for GENI's output initialisation
    label_transform: LabelTransform = "log1p"

    def to_scores(self, labels: Tensor) -> Tensor:
        """Predicted labels back to score space, never negative: importance is a count."""
        labels = labels.clamp_min(0)
        return torch.expm1(labels) if self.label_transform == "log1p" else labels


def required_semantic(x_semantic: Optional[Tensor]) -> Tensor:
    """Semantic features, which a network with a semantic branch cannot do without."""
    if x_semantic is None:
        raise ConfigError("the network needs semantic features, but the batch has none: set data.semantic_features")
    return x_semantic


@dataclass
class GraphBatch:
    """Message-passing graphs, inputs, and the supervised nodes of one step.

    ``graphs`` is one graph per layer: the same full graph repeated (full-batch) or sampled
    blocks; each carries its edges' relation ids and the kernel backend it runs on. Outputs are for the destination
    nodes of the last graph, ``output_nodes`` (global ids); ``target_index`` picks the
    supervised ones among them and ``labels`` are their labels. ``unlabeled_index`` (training
    batches of full-graph semi-supervised learning) picks the nodes whose labels no loss may see.
    """

    graphs: list[Graph]
    x: Tensor
    output_nodes: Tensor
    in_degree: Tensor
    target_index: Tensor
    labels: Optional[Tensor] = None
    x_semantic: Optional[Tensor] = None
    unlabeled_index: Optional[Tensor] = None

    def to(self, device: torch.device | str) -> GraphBatch:
        # every field but ``graphs`` must be a tensor or an optional one: moved by name, unchecked by mypy (the test
        # tests/test_sampling.py::test_every_graph_batch_field_but_graphs_is_a_tensor holds the rule)
        tensors: dict[str, Any] = {
            f.name: move_optional(getattr(self, f.name), device) for f in fields(self) if f.name != "graphs"
        }
        return replace(self, graphs=[g.to(device) for g in self.graphs], **tensors)

    def target_labels(self) -> Tensor:
        """``labels``, which every batch of a stage with labelled nodes carries (training, validation, test)."""
        if self.labels is None:
            raise ValueError("this batch carries no labels (a prediction batch): nothing to fit or score")
        return self.labels

    def semantic_inputs(self) -> Tensor:
        """``x_semantic``, for networks with a semantic branch (``data.semantic_features`` set)."""
        return required_semantic(self.x_semantic)

    def full_graph(self, network: str) -> Graph:
        """The step's one full graph, for a ``network`` that needs every node (a sampled batch is refused)."""
        graph = self.graphs[0]
        if len(self.graphs) != 1 or graph.num_src != graph.num_dst:
            raise ConfigError(f"{network} needs the full graph in every step: leave data.batch_size unset")
        return graph

    def with_graphs(self, num_layers: int) -> list[Graph]:
        """The graphs for a ``num_layers``-layer network (repeating a lone full graph)."""
        if len(self.graphs) == 1:
            return self.graphs * num_layers
        if len(self.graphs) != num_layers:
            raise ConfigError(
                f"the batch has {len(self.graphs)} sampled blocks but the network has {num_layers} layers; "
                f"set data.fanouts to {num_layers} entries"
            )
        return self.graphs


class NodePretraining:
    """A stage that turns a fold's graph, inputs and *training* labels into node embeddings, which
    then replace or extend the input features (``data.pretraining``)."""

    inputs: tuple[str, ...] = ("structural",)  # which inputs it pre-trains: structural and/or semantic

    @property
    def run_name(self) -> str:
        """How run directories name the stage."""
        return "pretraining"

    def embeddings(
        self,
        graph: Graph,
        x: Tensor,
        num_relations: int,
        train_ids: Tensor,
        train_labels: Tensor,
        seed: int,
        cache_dir: str | Path,
        trainer: Optional[pl.Trainer] = None,
        input_name: str = "structural",
    ) -> Tensor:
        """Embeddings [N, D] on the CPU of the input ``x`` named ``input_name``; ``trainer`` is the
        run's (its device and logger), if any."""
        raise NotImplementedError

    def apply(self, x: Tensor, embeddings: Tensor) -> Tensor:
        """The network's input features given the embeddings."""
        raise NotImplementedError


@runtime_checkable
class GraphTrainingData(Protocol):
    """The training part of the data, all a baseline's ``fit`` may read."""

    def training_labels(self) -> tuple[Tensor, Tensor]:
        """Node ids and labels of this fold's training nodes."""
        ...


class GraphData(Protocol):
    """What the node-importance task asks of its datamodule (besides Lightning's dataloaders)."""

    @property
    def spec(self) -> GraphSpec: ...

    @property
    def hparams(self) -> Mapping[str, Any]:
        """The data's settings; the task reads ``batch_size`` (None: full-batch training)."""
        ...
