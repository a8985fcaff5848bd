"""What a node-importance step receives, full-batch or sampled."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch
from torch import Tensor

from nie.errors import ConfigError
from nie.kernels import Graph


@dataclass(frozen=True)
class GraphSpec:
    """Sizes a network needs before it sees data."""

    num_nodes: int
    num_relations: int  # including the self-loop relation when self-loops are added
    in_dim: int
    semantic_dim: int = 0
    label_mean: float = 0.0  # mean training label: networks start their output there
    centrality_mean: float = 1.0  # mean log(in-degree) over nodes, for GENI's output initialisation


@dataclass
class GraphBatch:
    """Message-passing graphs, inputs, and the supervised nodes of one step.

    ``graphs`` is one graph per layer: the same full graph repeated (full-batch) or sampled
    blocks; each carries its edges' relation ids and the kernel backend it runs on. Outputs are for the destination
    nodes of the last graph, ``output_nodes`` (global ids); ``target_index`` picks the
    supervised ones among them and ``labels`` are their labels.
    """

    graphs: list[Graph]
    x: Tensor
    output_nodes: Tensor
    in_degree: Tensor
    target_index: Tensor
    labels: Optional[Tensor] = None
    x_semantic: Optional[Tensor] = None

    def to(self, device: torch.device | str) -> "GraphBatch":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return replace(
            self,
            graphs=[g.to(device) for g in self.graphs],
            x=move(self.x),
            output_nodes=move(self.output_nodes),
            in_degree=move(self.in_degree),
            target_index=move(self.target_index),
            labels=move(self.labels),
            x_semantic=move(self.x_semantic),
        )

    def with_graphs(self, num_layers: int) -> list[Graph]:
        """The graphs for a ``num_layers``-layer network (repeating a lone full graph)."""
        if len(self.graphs) == 1:
            return self.graphs * num_layers
        if len(self.graphs) != num_layers:
            raise ConfigError(f"the batch has {len(self.graphs)} sampled blocks but the network has {num_layers} layers; set data.fanouts to {num_layers} entries")
        return self.graphs
