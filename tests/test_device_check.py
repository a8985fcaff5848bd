"""bench/device_check.sh, the script kept for the day a GPU is lent, runs end to end in its CPU smoke mode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def test_device_check_smoke_runs_every_item(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", str(ROOT / "bench" / "device_check.sh"), "--smoke", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    logs = {p.name: p.read_text()[-1500:] for p in out.glob("*.log")}
    assert done.returncode == 0, (done.stdout, done.stderr[-2000:], logs)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["smoke"] and set(summary["items"]) == {"kernels", "geni", "rgtn", "lstm"}
    assert all(item["status"] == "ok" for item in summary["items"].values()), summary
    assert json.loads((out / "kernels.json").read_text())["agree"]
    for name in ("geni_cv.json", "rgtn_cv.json", "lstm_test.json"):
        assert (out / name).is_file(), name
    assert "spearman" in summary["items"]["geni"]["figures"]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("# device check on cpu") and len(lines) == 5, done.stdout
    assert not (ROOT / "device_check").exists()  # nothing written into the checkout
