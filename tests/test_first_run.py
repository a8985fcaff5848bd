"""A new user's first run: README command 1 in a fresh clone writes only under runs/ and .cache/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def readme_command_1() -> list[str]:
    """The training half of the README's first command (the install half is CI's own first step)."""
    block = re.search(r"```bash\n(.*?)\n", (ROOT / "README.md").read_text()).group(1)
    install, train = block.split(" && ")
    assert install.startswith("pip install -e .")
    return train.split()


@pytest.mark.slow
def test_readme_command_1_in_a_fresh_clone_writes_only_runs_and_cache(tmp_path: Path) -> None:
    clone = tmp_path / "nie"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    command = readme_command_1()
    assert command[:2] == ["python", "train.py"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # Python's own caches are not the project's outputs
    done = subprocess.run([sys.executable, *command[1:]], cwd=clone, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "val/spearman" in done.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=normal"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    touched = sorted({line[3:].split("/")[0] for line in status})
    assert touched == [".cache", "runs"], status
