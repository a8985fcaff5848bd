"""The in-memory knowledge graph every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
