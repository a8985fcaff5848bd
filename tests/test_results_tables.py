"""The tables of RESULTS.md and BENCHMARKS.md are what their committed JSONs give (bench/tables.yaml), every
results JSON records where it came from, and a row typed by hand or a JSON edited by hand is named. The tool
runs as a maintainer runs it (``python bench/tables.py --render/--check/--stale``), on generated checkouts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "bench" / "tables.py"
SPEC = """
tables:
  runs:
    document: DOC.md
    text: [model]
    columns:
      - {header: RMSE, key: test/rmse, format: "{:.4f}"}
      - {header: Spearman, key: spearman, format: "{mean:.3f} ± {std:.3f}", missing: "–"}
    rows:
      - {text: [lstm], source: results/lstm.json, depends: [model.py]}
      - {text: [gat], source: results/gat.json, bold: [RMSE], depends: [model.py]}
  pair:
    document: DOC.md
    text: [model]
    columns:
      - {header: val RMSE, from: val, key: test/rmse, format: "{:.3f}"}
      - {header: test RMSE, from: test, key: test/rmse, format: "{:.3f}"}
      - {header: wall, from: test}
    rows:
      - {text: [both], source: {val: results/gat.json, test: results/lstm.json}, literal: {wall: 3},
         depends: [model.py]}
"""
DOC = """# Doc

<!-- table: runs (generated) -->
<!-- /table -->

<!-- table: pair (generated) -->
<!-- /table -->

| hand | typed |
|---|---|
| a | 1 |
"""


def write(root: Path, commit: str = "a" * 40) -> Path:
    """A checkout with two results JSONs (one backfilled), a document and the spec of its two tables."""
    (root / "results").mkdir()
    (root / "bench").mkdir()
    lstm = {"test/rmse": 0.07925, "provenance": {"commit": commit, "dirty": False}}
    gat = {
        "test/rmse": 0.1,
        "spearman": {"mean": 0.66, "std": 0.01},
        "provenance": {"backfilled": True, "commit": commit},
    }
    (root / "results" / "lstm.json").write_text(json.dumps(lstm))
    (root / "results" / "gat.json").write_text(json.dumps(gat))
    (root / "bench" / "tables.yaml").write_text(SPEC)
    (root / "model.py").write_text("x = 1\n")
    (root / "DOC.md").write_text(DOC)
    return root / "DOC.md"


def tables(root: Path, option: str) -> tuple[int, list[str], str]:
    """``python bench/tables.py OPTION --root ROOT``: its exit status, output lines and error output."""
    done = subprocess.run([sys.executable, str(TABLES), option, "--root", str(root)], capture_output=True, text=True)
    return done.returncode, done.stdout.splitlines(), done.stderr


def test_tables_are_rendered_from_their_jsons_and_every_difference_is_named(tmp_path: Path) -> None:
    doc = write(tmp_path)
    assert tables(tmp_path, "--render") == (0, ["DOC.md"], "")
    rendered = doc.read_text()
    assert (
        "| lstm | 0.0793 | – | aaaaaaa |" in rendered and "| gat | **0.1000** | 0.660 ± 0.010 | aaaaaaaᵇ |" in rendered
    )
    assert "| both | 0.100 | 0.079 | 3† | aaaaaaaᵇ, aaaaaaa |" in rendered  # two JSONs by name, a typed cell
    assert tables(tmp_path, "--check") == (0, [], "")

    lstm = tmp_path / "results" / "lstm.json"
    lstm.write_text(lstm.read_text().replace("0.07925", "0.07"))  # a JSON edited by hand
    status, found, _ = tables(tmp_path, "--check")
    assert status == 1 and len(found) == 2 and all("results/lstm.json" in line for line in found)
    assert "0.0793" in found[0] and "0.0700" in found[0]
    lstm.write_text(lstm.read_text().replace("0.07", "0.07925"))

    doc.write_text(rendered.replace("| 0.0793 |", "| 0.0768 |"))  # a figure typed into a generated table
    status, found, _ = tables(tmp_path, "--check")
    assert status == 1 and ["results/lstm.json" in line for line in found] == [True]
    typed = doc.read_text().replace("<!-- /table -->", "| typed | 0.1 | – | – |\n<!-- /table -->", 1)
    doc.write_text(typed)  # and a row
    assert any("no JSON behind it" in line for line in tables(tmp_path, "--check")[1])
    status, _, error = tables(tmp_path, "--render")
    assert status == 2 and error.startswith("error: ") and "more lines than its spec" in error
    assert doc.read_text() == typed  # the row typed by hand is not silently dropped

    doc.write_text(rendered)
    (tmp_path / "results" / "gat.json").unlink()
    status, found, _ = tables(tmp_path, "--check")
    assert status == 1 and len(found) == 2  # one error per table reading it
    assert all("results/gat.json: no such results JSON" in line for line in found)


def test_stale_lists_tables_without_jsons_typed_cells_and_rows_whose_code_changed(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    write(tmp_path)
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "runs"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    for path in (tmp_path / "results").glob("*.json"):
        path.write_text(path.read_text().replace("a" * 40, commit))
    status, found, _ = tables(tmp_path, "--stale")
    assert status == 0 and found[0] == "DOC.md:9: table 'hand | typed' (1 rows): no JSON behind it"
    assert len(found) == 2 and "results/lstm.json" in found[1] and "'wall' = 3 is typed by hand (†)" in found[1]
    (tmp_path / "model.py").write_text("x = 2\n")
    changed = tables(tmp_path, "--stale")[1][2:]
    assert len(changed) == 4 and all(f"changed since {commit[:7]}: model.py" in line for line in changed)
    rows = [line.split(" row ")[1].split(":")[0] for line in changed]  # each JSON of each row
    assert rows == ["results/lstm.json", "results/gat.json", "results/gat.json", "results/lstm.json"]


def test_every_results_json_records_its_provenance() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "results").rglob("*.json"))
        if not (json.loads(path.read_text()).get("provenance") or {}).get("commit")
    ]
    assert missing == [], f"results JSONs without provenance (python bench/tables.py --backfill FILE): {missing}"


def test_the_documents_tables_are_what_their_jsons_give() -> None:
    """RESULTS.md and BENCHMARKS.md: every generated region equals what its committed JSONs give."""
    done = subprocess.run([sys.executable, str(TABLES), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
