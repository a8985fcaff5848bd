"""The in-memory knowledge graph every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import dgl
import numpy as np
import torch


@dataclass
class KnowledgeGraph:
    """A multi-relational graph with importance scores for some nodes.

    ``scores`` are raw (e.g. page views); ``labeled`` marks nodes whose score is known.
    ``features`` holds node feature sets shipped with the data (e.g. ``given``, ``semantic``).
    """

    src: np.ndarray
    dst: np.ndarray
    rel: np.ndarray
    scores: np.ndarray
    labeled: np.ndarray
    num_relations: int
    names: list[str] | None = None
    descriptions: list[str] | None = None
    relation_names: dict[str, int] | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return int(self.scores.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    def in_degrees(self) -> np.ndarray:
        return np.bincount(self.dst, minlength=self.num_nodes)

    def message_graph(self, self_loops: bool = True) -> tuple[dgl.DGLGraph, int]:
        """The DGL graph networks pass messages on (relation ids in ``edata["rel"]``) and its number
        of relations; ``self_loops`` adds one loop per node under a relation id of its own."""
        g = dgl.graph((torch.from_numpy(self.src), torch.from_numpy(self.dst)), num_nodes=self.num_nodes)
        g.edata["rel"] = torch.from_numpy(self.rel)
        g.edata["added_loop"] = torch.zeros(self.num_edges, dtype=torch.bool)
        if not self_loops:
            return g, self.num_relations
        g = dgl.add_self_loop(g)
        g.edata["rel"][self.num_edges:] = self.num_relations
        g.edata["added_loop"][self.num_edges:] = True
        return g, self.num_relations + 1
