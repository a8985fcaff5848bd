"""Both graph layouts, the exporter round trip, features cache, and one clear error per bad input."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules.kg.features import build_features
from datamodules.kg.io import export_pickle, load_graph
from nie.core.errors import DataError
from tests.conftest import SHARED_DATA, needs_shared


def test_rgtn_folder_loads(tiny_graph_dir: Path) -> None:
    g = load_graph(tiny_graph_dir)
    assert g.num_nodes == 200 and g.num_edges > 500 and g.num_relations == 3
    assert g.names[5] == "node_5" and 0 < g.labeled.sum() < 200
    assert (g.scores[~g.labeled] == 0).all()


def test_explicit_paths_equal_discovery(tiny_graph_dir: Path) -> None:
    a = load_graph(tiny_graph_dir)
    b = load_graph(node_info=tiny_graph_dir / "node_info.tsv", triples=tiny_graph_dir / "synthetic_rel-all.txt.gz")
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_pickle_round_trip(tiny_graph_dir: Path, tmp_path: Path) -> None:
    g = load_graph(tiny_graph_dir)
    features = np.random.default_rng(0).normal(size=(g.num_nodes, 7)).astype(np.float32)
    export_pickle(g, tmp_path / "g.pk", features)
    semantic = np.ones((g.num_nodes, 3), dtype=np.float32)
    (tmp_path / "sem.pk").write_bytes(pickle.dumps(semantic))
    back = load_graph(tmp_path / "g.pk", semantic_pickle=tmp_path / "sem.pk")
    for field in ("src", "dst", "rel", "scores", "labeled"):
        np.testing.assert_array_equal(getattr(back, field), getattr(g, field))
    np.testing.assert_array_equal(back.features["given"], features)
    np.testing.assert_array_equal(back.features["semantic"], semantic)
    assert back.num_relations == g.num_relations


def test_structural_features_are_cached(tiny_graph_dir: Path, tmp_path: Path) -> None:
    g = load_graph(tiny_graph_dir)
    first = build_features(g, ["structural", "degree"], tmp_path / "cache", structural_dim=8, structural_epochs=1)
    cached = list((tmp_path / "cache").glob("structural-*.npy"))
    assert first.shape == (200, 8 + 2 + 3) and len(cached) == 1
    again = build_features(g, ["structural"], tmp_path / "cache", structural_dim=8, structural_epochs=1)
    np.testing.assert_array_equal(again, first[:, :8])
    cached[0].write_bytes(b"corrupt")  # a corrupt cache is rebuilt, not used
    rebuilt = build_features(g, ["structural"], tmp_path / "cache", structural_dim=8, structural_epochs=1)
    np.testing.assert_allclose(rebuilt, first[:, :8])


def _write(
    folder: Path,
    node_rows: list[str],
    triples: list[str],
    rel_names: dict | None = None,
    header: str = "node_id\tname\tscore\tvalid",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node_info.tsv").write_text("\n".join([header, *node_rows]) + "\n")
    with gzip.open(folder / "g_rel-all.txt.gz", "wt") as f:
        f.write("\n".join(triples) + "\n")
    if rel_names is not None:
        (folder / "rel_name.json").write_text(json.dumps(rel_names))
    return folder


GOOD_NODES = ["0\ta\t10\t1", "1\tb\t0\t0", "2\tc\t5\t1"]
GOOD_TRIPLES = ["0\t0\t1", "1\t1\t2"]


@pytest.mark.parametrize(
    ("nodes", "triples", "rel_names", "header", "message"),
    [
        (GOOD_NODES, GOOD_TRIPLES, None, "node_id\tname\tvalid", r"missing column\(s\) \['score'\]"),
        (["0\ta\tten\t1", *GOOD_NODES[1:]], GOOD_TRIPLES, None, None, r"node_info.tsv, line 2: field 'score' = 'ten'"),
        (["0\ta\tnan\t1", *GOOD_NODES[1:]], GOOD_TRIPLES, None, None, r"line 2: field 'score'"),
        (["0\ta\t10\t2", *GOOD_NODES[1:]], GOOD_TRIPLES, None, None, r"line 2: field 'valid' = 2"),
        (GOOD_NODES, ["0\t0\t1", "1\t1\t3"], None, None, r"rel-all.txt.gz, line 2: dst node id 3 outside \[0, 3\)"),
        (GOOD_NODES, ["0\t0\t1", "-1\t1\t2"], None, None, r"line 2: src node id -1"),
        (GOOD_NODES, ["0\t0\t1", "1\tx\t2"], None, None, r"line 2: field 'rel' = 'x'"),
        (GOOD_NODES, GOOD_TRIPLES, {"a": 0}, None, r"line 2: relation id 1 is missing from rel_name.json"),
        (
            ["0\ta\t10\t1", "2\tb\t0\t0"],
            ["0\t0\t1"],
            None,
            None,
            r"line 3: node_id 2 but rows must be in node-id order",
        ),
    ],
)
def test_bad_graph_files(tmp_path: Path, nodes, triples, rel_names, header, message) -> None:
    folder = _write(tmp_path / "g", nodes, triples, rel_names, header or "node_id\tname\tscore\tvalid")
    with pytest.raises(DataError, match=message):
        load_graph(folder)


def test_missing_files(tmp_path: Path, tiny_graph_dir: Path) -> None:
    with pytest.raises(DataError, match="data folder not found"):
        load_graph(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no node info file"):
        load_graph(tmp_path / "empty")
    with pytest.raises(DataError, match=r"^no triples file: set data.triples, or data.root to a folder holding it$"):
        load_graph(node_info=tiny_graph_dir / "node_info.tsv")
    with pytest.raises(DataError, match="pickle file not found"):
        load_graph(tmp_path / "nope.pk")


def test_bad_pickles(tmp_path: Path) -> None:
    (tmp_path / "a.pk").write_bytes(pickle.dumps({"edges": (torch.tensor([0]), torch.tensor([1]))}))
    with pytest.raises(DataError, match=r"missing key\(s\) \['edge_types', 'labels', 'invalid_masks'\]"):
        load_graph(tmp_path / "a.pk")
    bad = {
        "edges": (torch.tensor([0]), torch.tensor([5])),
        "edge_types": torch.tensor([0]),
        "labels": torch.tensor([1.0, 2.0]),
        "invalid_masks": torch.tensor([0, 0]),
    }
    (tmp_path / "b.pk").write_bytes(pickle.dumps(bad))
    with pytest.raises(DataError, match=r"node ids outside \[0, 2\)"):
        load_graph(tmp_path / "b.pk")
    (tmp_path / "c.pk").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a readable pickle"):
        load_graph(tmp_path / "c.pk")


@needs_shared("fb15k")
def test_fb15k_counts() -> None:
    g = load_graph(SHARED_DATA / "fb15k")
    assert (g.num_nodes, g.num_edges, g.num_relations, int(g.labeled.sum())) == (14951, 592213, 1345, 14111)
