"""The in-memory knowledge graph every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from nie.importance.kernels import Graph


@dataclass
class KnowledgeGraph:
    """A multi-relational graph with importance scores for some nodes.

    ``scores`` are raw (e.g. page views); ``labeled`` marks nodes whose score is known.
    ``features`` holds node feature sets shipped with the data (e.g. ``given``, ``semantic``).
    """

    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    rel: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    labeled: npt.NDArray[np.bool_]
    num_relations: int
    names: list[str] | None = None
    descriptions: list[str] | None = None
    relation_names: dict[str, int] | None = None
    features: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return int(self.scores.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    def message_graph(self, self_loops: bool = True) -> tuple[Graph, int]:
        """The graph networks pass messages on and its number of relations; ``self_loops`` adds one
        loop per node (after the data's edges) under a relation id of its own."""
        src, dst, rel = (
            torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)) for a in (self.src, self.dst, self.rel)
        )
        added = torch.zeros(self.num_edges, dtype=torch.bool)
        if not self_loops:
            return Graph(src, dst, rel, self.num_nodes, self.num_nodes, added), self.num_relations
        nodes = torch.arange(self.num_nodes)
        loops = torch.full((self.num_nodes,), self.num_relations, dtype=torch.int64)
        graph = Graph(
            torch.cat([src, nodes]),
            torch.cat([dst, nodes]),
            torch.cat([rel, loops]),
            self.num_nodes,
            self.num_nodes,
            torch.cat([added, torch.ones(self.num_nodes, dtype=torch.bool)]),
        )
        return graph, self.num_relations + 1
