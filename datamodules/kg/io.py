"""Readers for the two knowledge-graph layouts, and an exporter between them.

* RGTN layout (folder): ``node_info*.tsv``, ``*rel-all*.txt[.gz]``, optional ``rel_name.json``.
* Pickle layout (RGTN's released inputs): a ``.pk`` dict with ``edges``, ``edge_types``,
  ``labels``, ``features``, ``invalid_masks``, plus an optional ``.pk`` of semantic features.

Pickles can run code when loaded: they are only ever read from paths the user configured.
"""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from datamodules.kg.graph import KnowledgeGraph
from nie.core.errors import DataError
from nie.core.io import atomic_path, read_csv

PICKLE_KEYS = ("edges", "edge_types", "labels", "invalid_masks")
TRIPLE_PATTERNS = ("*rel-all*.txt", "*rel-all*.txt.gz")
PICKLE_SUFFIXES = (".pk", ".pkl", ".pickle")

Ids = npt.NDArray[np.int64]


def _optional_match(folder: Path, patterns: tuple[str, ...], what: str) -> Path | None:
    """The one file in ``folder`` matching ``patterns``, None if there is none; several stop."""
    matches = sorted({p for pattern in patterns for p in folder.glob(pattern)})
    if len(matches) > 1:
        raise DataError(
            f"{folder}: several {what} files match {patterns}: {[m.name for m in matches]}; name one explicitly"
        )
    return matches[0] if matches else None


def _required_file(
    explicit: str | Path | None, folder: Path | None, patterns: tuple[str, ...], what: str, setting: str
) -> Path:
    """The configured file, else the one file in ``folder`` matching ``patterns``."""
    if explicit:
        return Path(explicit)
    if folder is None:
        raise DataError(f"no {what} file: set data.{setting}, or data.root to a folder holding it")
    match = _optional_match(folder, patterns, what)
    if match is None:
        raise DataError(f"{folder}: no {what} file (expected one matching {' or '.join(patterns)})")
    return match


@overload
def _numeric(
    column: pd.Series, path: Path, field: str, first_line: int, integer: Literal[True]
) -> npt.NDArray[np.int64]: ...


@overload
def _numeric(
    column: pd.Series, path: Path, field: str, first_line: int, integer: Literal[False]
) -> npt.NDArray[np.float64]: ...


def _numeric(
    column: pd.Series, path: Path, field: str, first_line: int, integer: bool
) -> npt.NDArray[np.int64] | npt.NDArray[np.float64]:
    """Column as numbers; the first non-numeric, NaN or infinite entry is reported with its line number."""
    values = pd.to_numeric(column, errors="coerce")
    bad = ~np.isfinite(values.to_numpy(np.float64))
    if integer and not bad.any():
        bad = (values % 1 != 0).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}, line {row + first_line}: field '{field}' = {column.iloc[row]!r} is not a valid "
            f"{'integer' if integer else 'finite number'}"
        )
    numbers: npt.NDArray[np.int64] | npt.NDArray[np.float64] = values.to_numpy(np.int64 if integer else np.float64)
    return numbers


def read_node_info(
    path: Path,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], list[str] | None, list[str] | None]:
    """Scores, labeled mask, names and descriptions from a node_info TSV (row order = node id)."""
    if not path.is_file():
        raise DataError(f"{path}: node info file not found")
    table = read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    missing = [c for c in ("score", "valid") if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; the header has {list(table.columns)}")
    if table.empty:
        raise DataError(f"{path}: no nodes")
    if "node_id" in table.columns:
        ids = _numeric(table["node_id"], path, "node_id", 2, integer=True)
        if not np.array_equal(ids, np.arange(len(table))):
            row = int(np.flatnonzero(ids != np.arange(len(table)))[0])
            raise DataError(
                f"{path}, line {row + 2}: node_id {ids[row]} but rows must be in node-id order (expected {row})"
            )
    else:  # row order is the node id: a repeated row would silently become a second node
        repeated = table.duplicated(keep="first").to_numpy()
        if repeated.any():
            row = int(np.flatnonzero(repeated)[0])
            first = int(np.flatnonzero((table == table.iloc[row]).all(axis=1).to_numpy())[0])
            raise DataError(
                f"{path}, line {row + 2}: the same node as line {first + 2} (every field repeated); "
                "without a node_id column each row is a new node: remove the duplicate"
            )
    scores = _numeric(table["score"], path, "score", 2, integer=False)
    valid = _numeric(table["valid"], path, "valid", 2, integer=True)
    if not np.isin(valid, (0, 1)).all():
        row = int(np.flatnonzero(~np.isin(valid, (0, 1)))[0])
        raise DataError(f"{path}, line {row + 2}: field 'valid' = {valid[row]} (expected 0 or 1)")
    labeled = valid.astype(bool)
    if (scores[labeled] < 0).any():
        row = int(np.flatnonzero(labeled & (scores < 0))[0])
        raise DataError(f"{path}, line {row + 2}: field 'score' = {scores[row]} is negative (importance is a count)")
    names = table["name"].tolist() if "name" in table.columns else None
    descriptions = table["description"].tolist() if "description" in table.columns else None
    return scores, labeled, names, descriptions


def read_triples(path: Path, num_nodes: int) -> tuple[Ids, Ids, Ids]:
    """``src<TAB>rel<TAB>dst`` integer triples, checked against the node count."""
    if not path.is_file():
        raise DataError(f"{path}: triples file not found")
    try:  # integers straight from the parser: text columns would cost tens of bytes per field
        table = read_csv(path, sep="\t", header=None, dtype=np.int64, compression="infer")
    except DataError:  # the file itself is bad: already said in one line
        raise
    except (ValueError, TypeError):  # some field is not an integer: read it as text to say which
        table = read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, compression="infer")
    if table.shape[1] != 3:
        raise DataError(f"{path}: expected 3 tab-separated columns (src, rel, dst), found {table.shape[1]}")
    if all(dtype == np.int64 for dtype in table.dtypes):
        src, rel, dst = (table[i].to_numpy() for i in range(3))
    else:
        fields = enumerate(("src", "rel", "dst"))
        src, rel, dst = (_numeric(table[i], path, name, 1, integer=True) for i, name in fields)
    for name, ids in (("src", src), ("dst", dst)):
        bad = (ids < 0) | (ids >= num_nodes)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}, line {row + 1}: {name} node id {ids[row]} outside [0, {num_nodes}) "
                f"(node_info has {num_nodes} rows)"
            )
    if (rel < 0).any():
        row = int(np.flatnonzero(rel < 0)[0])
        raise DataError(f"{path}, line {row + 1}: negative relation id {rel[row]}")
    return src, rel, dst


def read_relation_names(path: Path, rel: Ids, triples_path: Path) -> dict[str, int]:
    """Relation name -> id; every relation id used by a triple must be named."""
    try:
        names = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable JSON object of relation name -> id: {err}") from None
    if not isinstance(names, dict) or not all(isinstance(v, int) for v in names.values()):
        raise DataError(f"{path}: expected a JSON object mapping relation names to integer ids")
    unknown = np.setdiff1d(np.unique(rel), np.fromiter(names.values(), dtype=np.int64))
    if unknown.size:
        row = int(np.flatnonzero(rel == unknown[0])[0])
        raise DataError(f"{triples_path}, line {row + 1}: relation id {unknown[0]} is missing from {path.name}")
    return names


def load_rgtn_folder(
    root: str | Path | None = None,
    node_info: str | Path | None = None,
    triples: str | Path | None = None,
    relation_names: str | Path | None = None,
) -> KnowledgeGraph:
    """Load the RGTN layout from ``root`` (discovering the files) or from explicit file paths."""
    folder = Path(root) if root is not None else None
    if folder is not None and not folder.is_dir():
        raise DataError(f"{folder}: data folder not found")
    node_path = _required_file(node_info, folder, ("node_info*.tsv",), "node info", "node_info")
    triple_path = _required_file(triples, folder, TRIPLE_PATTERNS, "triples", "triples")
    rel_path = (
        Path(relation_names)
        if relation_names
        else (None if folder is None else _optional_match(folder, ("rel_name.json",), "relation names"))
    )
    scores, labeled, names, descriptions = read_node_info(node_path)
    src, rel, dst = read_triples(triple_path, len(scores))
    rel_names = read_relation_names(rel_path, rel, triple_path) if rel_path else None
    num_relations = max(int(rel.max()) + 1 if rel.size else 0, max(rel_names.values()) + 1 if rel_names else 0)
    return KnowledgeGraph(src, dst, rel, scores, labeled, num_relations, names, descriptions, rel_names)


def _as_array(data: dict[str, object], key: str, path: Path) -> npt.NDArray[Any]:
    value = data[key]
    if isinstance(value, torch.Tensor):
        array: npt.NDArray[Any] = value.detach().cpu().numpy()
        return array
    if isinstance(value, np.ndarray):
        return value
    raise DataError(f"{path}: '{key}' must be a tensor or array, got {type(value).__name__}")


def load_pickle(path: str | Path, semantic_path: str | Path | None = None) -> KnowledgeGraph:
    """Load the pickle layout (and an optional semantic-feature pickle of shape [N, D])."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: pickle file not found")
    with path.open("rb") as f:
        try:
            data = pickle.load(f)
        except Exception as err:  # noqa: BLE001 - any unpickling failure is bad input
            raise DataError(f"{path}: not a readable pickle: {err}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a dict with keys {PICKLE_KEYS}, got {type(data).__name__}")
    missing = [k for k in PICKLE_KEYS if k not in data]
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}; it has {sorted(data)}")
    if not (isinstance(data["edges"], (tuple, list)) and len(data["edges"]) == 2):
        raise DataError(f"{path}: 'edges' must be a (src, dst) pair of tensors")
    src, dst = (np.asarray(e.numpy() if isinstance(e, torch.Tensor) else e, dtype=np.int64) for e in data["edges"])
    rel = _as_array(data, "edge_types", path).astype(np.int64)
    scores = _as_array(data, "labels", path).astype(np.float64).reshape(-1)
    labeled = _as_array(data, "invalid_masks", path).reshape(-1) == 0
    n = scores.shape[0]
    if not (src.shape == dst.shape == rel.shape):
        raise DataError(
            f"{path}: 'edges' and 'edge_types' lengths differ ({src.shape[0]}, {dst.shape[0]}, {rel.shape[0]})"
        )
    if labeled.shape[0] != n:
        raise DataError(f"{path}: 'invalid_masks' has {labeled.shape[0]} entries, 'labels' has {n}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise DataError(f"{path}: 'edges' has node ids outside [0, {n})")
    if not np.isfinite(scores[labeled]).all():
        raise DataError(f"{path}: 'labels' has NaN or infinite values on labeled nodes")
    features = {}
    if "features" in data and data["features"] is not None:
        features["given"] = _check_features(_as_array(data, "features", path), n, path, "features")
    if semantic_path is not None:
        semantic_path = Path(semantic_path)
        if not semantic_path.is_file():
            raise DataError(f"{semantic_path}: semantic feature pickle not found")
        with semantic_path.open("rb") as f:
            features["semantic"] = _check_features(np.asarray(pickle.load(f)), n, semantic_path, "semantic features")
    num_relations = int(rel.max()) + 1 if rel.size else 0
    return KnowledgeGraph(src, dst, rel, scores, labeled, num_relations, features=features)


def _check_features(array: npt.NDArray[Any], num_nodes: int, path: Path, what: str) -> npt.NDArray[np.float32]:
    if array.ndim != 2 or array.shape[0] != num_nodes:
        raise DataError(f"{path}: {what} must have shape [{num_nodes}, D], got {list(array.shape)}")
    if not np.isfinite(array).all():
        raise DataError(f"{path}: {what} contain NaN or infinite values")
    return array.astype(np.float32)


def export_pickle(graph: KnowledgeGraph, path: str | Path, features: npt.NDArray[np.float32] | None = None) -> None:
    """Write ``graph`` in the pickle layout (atomically), with ``features`` as its feature matrix."""
    payload = {
        "edges": (torch.from_numpy(graph.src), torch.from_numpy(graph.dst)),
        "edge_types": torch.from_numpy(graph.rel),
        "labels": torch.from_numpy(graph.scores),
        "invalid_masks": torch.from_numpy((~graph.labeled).astype(np.int64)),
        "features": None if features is None else torch.from_numpy(np.asarray(features, dtype=np.float32)),
    }
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        pickle.dump(payload, f)


def load_graph(
    root: str | Path | None = None,
    node_info: str | Path | None = None,
    triples: str | Path | None = None,
    relation_names: str | Path | None = None,
    semantic_pickle: str | Path | None = None,
) -> KnowledgeGraph:
    """Detect the layout: a ``.pk`` file is the pickle layout, a folder the RGTN layout."""
    if root is not None and Path(root).suffix in PICKLE_SUFFIXES:
        return load_pickle(root, semantic_pickle)
    if root is None and node_info is None:
        raise DataError("no data given: set data.root (a folder or a .pk file) or data.node_info and data.triples")
    return load_rgtn_folder(root, node_info, triples, relation_names)
