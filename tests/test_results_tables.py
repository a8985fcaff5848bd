"""The tables of RESULTS.md and BENCHMARKS.md are what their committed JSONs give (bench/tables.yaml), every
results JSON records where it came from, and a row typed by hand or a JSON edited by hand is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results_tables import ROOT, TableError, differences, load_spec, render
from bench.stale_results import changed_rows, literal_cells, unsourced_tables

SPEC = """
tables:
  runs:
    document: DOC.md
    text: [model]
    columns:
      - {header: RMSE, key: test/rmse, format: "{:.4f}"}
      - {header: Spearman, key: spearman, format: "{mean:.3f} ± {std:.3f}", missing: "–"}
    rows:
      - {text: [lstm], source: results/lstm.json}
      - {text: [gat], source: results/gat.json, bold: [RMSE]}
"""
DOC = """# Doc

<!-- table: runs (generated) -->
<!-- /table -->

| hand | typed |
|---|---|
| a | 1 |
"""


def write(root: Path) -> dict:
    (root / "results").mkdir()
    provenance = {"commit": "a" * 40, "dirty": False}
    (root / "results" / "lstm.json").write_text(json.dumps({"test/rmse": 0.07925, "provenance": provenance}))
    gat = {
        "test/rmse": 0.1,
        "spearman": {"mean": 0.66, "std": 0.01},
        "provenance": {"backfilled": True, "commit": "b" * 40},
    }
    (root / "results" / "gat.json").write_text(json.dumps(gat))
    (root / "DOC.md").write_text(DOC)
    (root / "tables.yaml").write_text(SPEC)
    spec = load_spec(root / "tables.yaml")
    render(spec, root)
    return spec


def test_a_table_is_rendered_from_its_jsons_with_their_commits(tmp_path: Path) -> None:
    spec = write(tmp_path)
    text = (tmp_path / "DOC.md").read_text()
    assert "| lstm | 0.0793 | – | aaaaaaa |" in text
    assert "| gat | **0.1000** | 0.660 ± 0.010 | bbbbbbbᵇ |" in text
    assert differences(spec, tmp_path) == []


def test_a_json_edited_by_hand_is_named(tmp_path: Path) -> None:
    spec = write(tmp_path)
    path = tmp_path / "results" / "lstm.json"
    path.write_text(path.read_text().replace("0.07925", "0.07"))
    found = differences(spec, tmp_path)
    assert len(found) == 1 and "results/lstm.json" in found[0] and "0.0793" in found[0] and "0.0700" in found[0]


def test_a_figure_or_row_typed_into_a_generated_table_is_named(tmp_path: Path) -> None:
    spec = write(tmp_path)
    doc = tmp_path / "DOC.md"
    doc.write_text(doc.read_text().replace("| 0.0793 |", "| 0.0768 |"))
    assert ["results/lstm.json" in line for line in differences(spec, tmp_path)] == [True]
    doc.write_text(doc.read_text().replace("<!-- /table -->", "| typed | 0.1 | – | – |\n<!-- /table -->"))
    assert any("no JSON behind it" in line for line in differences(spec, tmp_path))
    with pytest.raises(TableError, match="more lines than its spec"):
        render(spec, tmp_path)  # the row typed by hand is not silently dropped


def test_a_row_without_its_json_is_one_error(tmp_path: Path) -> None:
    spec = write(tmp_path)
    (tmp_path / "results" / "gat.json").unlink()
    found = differences(spec, tmp_path)
    assert len(found) == 1 and "results/gat.json: no such results JSON" in found[0]


def test_tables_outside_generated_regions_are_listed(tmp_path: Path) -> None:
    spec = write(tmp_path)
    assert unsourced_tables(spec, tmp_path) == ["DOC.md:10: table 'hand | typed' (1 rows): no JSON behind it"]


def test_rows_whose_code_changed_since_their_commit_are_listed(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    spec = write(tmp_path)
    (tmp_path / "model.py").write_text("x = 1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "runs"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    for name in ("lstm", "gat"):
        path = tmp_path / "results" / f"{name}.json"
        path.write_text(path.read_text().replace("a" * 40, commit).replace("b" * 40, commit))
    for row in spec["tables"]["runs"]["rows"]:
        row["depends"] = ["model.py"]
    assert changed_rows(spec, tmp_path) == []
    (tmp_path / "model.py").write_text("x = 2\n")
    found = changed_rows(spec, tmp_path)
    assert len(found) == 2 and all(f"changed since {commit[:7]}: model.py" in line for line in found)


def test_the_documents_tables_are_what_their_jsons_give() -> None:
    """RESULTS.md and BENCHMARKS.md: every generated region equals what its committed JSONs give."""
    assert differences(load_spec()) == []


def test_every_results_json_records_its_provenance() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "results").rglob("*.json"))
        if not (json.loads(path.read_text()).get("provenance") or {}).get("commit")
    ]
    assert missing == [], f"results JSONs without provenance (python bench/tables.py --backfill FILE): {missing}"


def test_the_check_command_passes_on_the_documents() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tables.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_row_reads_several_jsons_by_name_and_typed_cells_are_marked(tmp_path: Path) -> None:
    spec = write(tmp_path)
    spec["tables"]["runs"]["columns"] = [
        {"header": "val RMSE", "from": "val", "key": "test/rmse", "format": "{:.3f}"},
        {"header": "test RMSE", "from": "test", "key": "test/rmse", "format": "{:.3f}"},
        {"header": "wall", "from": "test"},
    ]
    row = {"text": ["both"], "source": {"val": "results/gat.json", "test": "results/lstm.json"}, "literal": {"wall": 3}}
    spec["tables"]["runs"]["rows"] = [row]
    (tmp_path / "DOC.md").write_text(DOC)
    render(spec, tmp_path)
    assert "| both | 0.100 | 0.079 | 3† | bbbbbbbᵇ, aaaaaaa |" in (tmp_path / "DOC.md").read_text()
    (typed,) = literal_cells(spec)
    assert "results/lstm.json" in typed and "'wall' = 3 is typed by hand (†)" in typed
