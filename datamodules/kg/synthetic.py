"""Seeded knowledge graphs with planted importance, written in the RGTN layout.

Each node has a latent popularity. Edges attach preferentially to popular nodes and their
relation type depends on the target's popularity band, so both in-degree and the relation
mix carry signal; the score is exp of popularity plus noise. A GNN can learn it, PageRank
partly, and the files go through the same loader as real data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from nie.core.io import atomic_path


def make_synthetic_tables(
    num_nodes: int = 3000,
    num_relations: int = 6,
    avg_degree: int = 8,
    unlabeled_fraction: float = 0.05,
    seed: int = 0,
    isolated_nodes: int = 0,
) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    """Return the node table (node_id, name, score, valid, description) and [E, 3] triples; the last
    ``isolated_nodes`` nodes have no edge (real graphs have such nodes)."""
    rng = np.random.default_rng(seed)
    popularity = rng.normal(size=num_nodes)
    connected = num_nodes - isolated_nodes
    num_edges = num_nodes * avg_degree
    attach = np.exp(1.2 * popularity[:connected])
    dst = rng.choice(connected, size=num_edges, p=attach / attach.sum())
    src = rng.integers(0, connected, size=num_edges)
    band = np.digitize(popularity[dst], np.quantile(popularity, np.linspace(0, 1, num_relations + 1)[1:-1]))
    rel = np.where(rng.random(num_edges) < 0.7, band, rng.integers(0, num_relations, size=num_edges))
    keep = src != dst
    triples = np.unique(np.stack([src[keep], rel[keep], dst[keep]], axis=1), axis=0)
    score = np.round(np.exp(6.0 + 1.5 * popularity + 0.3 * rng.normal(size=num_nodes)))
    valid = (rng.random(num_nodes) >= unlabeled_fraction).astype(int)
    score[valid == 0] = 0
    nodes = pd.DataFrame(
        {
            "node_id": np.arange(num_nodes),
            "name": [f"node_{i}" for i in range(num_nodes)],
            "score": score.astype(np.int64),
            "valid": valid,
            "description": [f"synthetic entity {i}" for i in range(num_nodes)],
        }
    )
    return nodes, triples


def write_synthetic_graph(folder: str | Path, compress: bool = True, **kwargs: Any) -> Path:
    """Write ``node_info.tsv``, ``synthetic_rel-all.txt[.gz]`` and ``rel_name.json`` into ``folder``."""
    folder = Path(folder)
    nodes, triples = make_synthetic_tables(**kwargs)
    num_relations = kwargs.get("num_relations", 6)
    with atomic_path(folder / "node_info.tsv") as tmp:
        nodes.to_csv(tmp, sep="\t", index=False)
    name = "synthetic_rel-all.txt.gz" if compress else "synthetic_rel-all.txt"
    with atomic_path(folder / name) as tmp:
        pd.DataFrame(triples).to_csv(tmp, sep="\t", header=False, index=False, compression="gzip" if compress else None)
    with atomic_path(folder / "rel_name.json") as tmp:
        tmp.write_text(json.dumps({f"relation_{r}": r for r in range(num_relations)}))
    return folder
