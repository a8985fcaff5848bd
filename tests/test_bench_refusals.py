"""bench/scale.py's outputs refused in one line before anything is generated (the benches' shared
``check_outputs``; run as a script: tests never import the benches)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCALE = Path(__file__).resolve().parents[1] / "bench" / "scale.py"


@pytest.mark.parametrize("option", ["--out", "--figure"])
@pytest.mark.parametrize("place, expected", [("{work}", "is a folder; give a file path"), ("{blocker}/x", "is a file")])
def test_scale_bench_refuses_an_unwritable_output(tmp_path: Path, option: str, place: str, expected: str) -> None:
    work, blocker = tmp_path / "work", tmp_path / "blocker"
    work.mkdir()
    blocker.write_text("")
    path = place.format(work=work, blocker=blocker)
    command = [sys.executable, str(SCALE), "--sizes", "50", "--work", str(work), option, path]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode != 0 and not list(work.iterdir())
    assert done.stderr.strip().startswith(f"error: {option} {path}: ") and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
