"""Provenance for results JSONs committed before runs recorded it: only what git knows for certain,
the commit that committed the file's content, marked as backfilled (no versions, machine or config
are invented)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.results_tables import ROOT, TableError, read_result

COMMIT_SOURCE = "git log -1 -- FILE: the commit that committed this file (the run's own commit was not recorded)"


def committing_commit(path: Path, root: Path = ROOT) -> str:
    """The last commit that changed ``path`` (the one that added it when it was never rewritten)."""
    done = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--", str(path.resolve().relative_to(root))],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise TableError(f"{path}: git has no commit of this file (commit it first)")
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(path)], cwd=root).returncode
    if dirty:
        raise TableError(f"{path}: differs from its committed content; backfill records only committed files")
    return done.stdout.strip()


def backfill(path: Path, root: Path = ROOT) -> str:
    """Add ``provenance: {backfilled, commit, commit_source}`` to ``path`` keeping its layout; what was done."""
    data = read_result(path)
    if "provenance" in data:
        return "has provenance already, left as it is"
    commit = committing_commit(path, root)
    text = path.read_text()
    was_sorted = list(data) == sorted(data)
    data["provenance"] = {
        "backfilled": True,
        "commit": commit,
        "commit_source": COMMIT_SOURCE,
    }
    new = json.dumps(data, indent=2, sort_keys=was_sorted) + ("\n" if text.endswith("\n") else "")
    path.write_text(new)
    return f"backfilled commit {commit[:7]}"
