"""bench/device_check.sh, the script kept for the day a GPU is lent, runs end to end in its CPU smoke mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = str(ROOT / "bench" / "device_check.sh")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", SCRIPT, *args], cwd=tmp_path, capture_output=True, text=True, env=env)


def test_device_check_smoke_runs_every_item(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run(tmp_path, "--smoke", "--out", str(out))
    logs = {p.name: p.read_text()[-1500:] for p in out.glob("*.log")}
    assert done.returncode == 0, (done.stdout, done.stderr[-2000:], logs)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["smoke"] and set(summary["items"]) == {"kernels", "geni", "rgtn", "lstm"}
    assert all(item["status"] == "ok" for item in summary["items"].values()), summary
    assert json.loads((out / "kernels.json").read_text())["agree"]
    assert "spearman" in summary["items"]["geni"]["figures"]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("# device check on cpu") and len(lines) == 5, done.stdout
    # only what comes back from a device run: the JSON files and logs, no run folders
    assert {p.name for p in out.iterdir()} == {
        "summary.json",
        "kernels.json",
        "geni_cv.json",
        "rgtn_cv.json",
        "lstm_test.json",
        "geni.log",
        "rgtn.log",
        "lstm.log",
    }
    assert not (ROOT / "device_check").exists() and not list(tmp_path.glob("runs"))


def test_missing_data_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    done = _run(tmp_path, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--only", "geni")
    assert done.returncode == 2
    assert done.stderr.startswith("error: the device check needs: ") and done.stderr.count("\n") == 1
    assert "nowhere/fb15k/node_info.tsv" in done.stderr and not done.stdout


def test_an_unwritable_out_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = _run(tmp_path, "--smoke", "--out", str(tmp_path / "file" / "below"))
    assert done.returncode == 2 and done.stderr.startswith("error: --out ") and done.stderr.count("\n") == 1
    assert not done.stdout
