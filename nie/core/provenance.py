"""What a result was made from: code, configuration, data, libraries, machine and wall time.

Every result JSON (``cv``, ``test --out``, ``backtest``, ``select``, ``bench/``) carries this record under
the key ``provenance``, so a figure in RESULTS.md can be traced to the commit, data and libraries that
made it and a stale row can be found. A tree with uncommitted changes is recorded (``dirty``: the files), not
refused. The code state is the one this process started with (``code_at_start``), not the one when the result
is written: in a shared tree a commit may land while a long run trains.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

PROVENANCE_KEY = "provenance"
REPOSITORY = Path(__file__).resolve().parents[2]
# libraries a run may use beyond the required ones; recorded when the run imported them
OPTIONAL_LIBRARIES = ("lightgbm", "xgboost", "catboost", "sklearn", "statsmodels", "sentence_transformers")


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def code_state() -> dict[str, Any]:
    """The commit of the code and the tracked files that differ from it (``dirty``: their paths, empty for a
    clean tree; both None outside a git checkout)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit.strip() if commit else None,
        "dirty": None if status is None else sorted(line[3:].split(" -> ")[-1] for line in status.splitlines()),
    }


_AT_START: dict[str, Any] = {}


def code_at_start() -> dict[str, Any]:
    """The code state when this process began: read once, on this module's import, which every entry point
    (``train.py``, ``predict.py``, ``bench/``) does before it runs anything."""
    if not _AT_START:
        _AT_START.update(code_state())
    return dict(_AT_START)


code_at_start()


def _version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, Optional[str]]:
    """Python and the libraries whose numbers a result depends on (dgl: installed or None)."""
    found: dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in ("torch", "lightning", "dgl", "numpy", "pandas"):
        found[name] = _version(name)
    for name in OPTIONAL_LIBRARIES:
        module = sys.modules.get(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", "unknown"))
    return found


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """CPU model, the cores this process may use (and the machine's), and the GPU (None without one)."""
    import torch

    from nie.core.threads import available_cores

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_model(),
        "cores": available_cores(),
        "machine_cores": os.cpu_count(),
        "gpu": gpu,
        "gpus": torch.cuda.device_count() if gpu else 0,
        "os": platform.platform(),
    }


def provenance(
    config: Any = None,
    data: Any = None,
    wall_seconds: Optional[float] = None,
    code: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """The record a result JSON keeps under ``provenance``: ``commit`` and ``dirty`` (``code``, by default the
    state the process started with: ``code_at_start``), ``config`` (the resolved
    configuration as plain data), ``data`` (the data's fingerprint and paths,
    ``nie.core.run_settings.data_identity``), ``versions``, ``machine`` and ``wall_seconds`` (of the command
    that made the result)."""
    return {
        **(code if code is not None else code_at_start()),
        "config": config,
        "data": data,
        "versions": versions(),
        "machine": machine(),
        "wall_seconds": wall_seconds,
    }


def stamped(result: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """``result`` with ``record`` under ``provenance`` (a new dict; the result's own keys unchanged)."""
    return {**result, PROVENANCE_KEY: record}
