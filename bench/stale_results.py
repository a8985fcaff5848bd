"""What the generated tables cannot vouch for, so a maintainer knows what to rerun or convert:
tables of the documents with no JSON behind them, cells typed by hand, rows without a recorded
commit, and rows whose code (the files their config names) changed since that commit."""

from __future__ import annotations

import importlib
import inspect
import subprocess
from pathlib import Path
from typing import Any, Iterator

import yaml

from bench.results_tables import ROOT, TableError, documents, read_result, regions, source_files


def unsourced_tables(spec: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Markdown tables outside every generated region (and outside code blocks), one line each."""
    found = []
    for document in documents(spec):
        lines = (root / document).read_text().split("\n")
        covered = {n for r in regions(document, lines) for n in range(r.start, r.end + 1)}
        fenced, block = False, []
        for number, line in enumerate([*lines, ""]):
            fenced ^= line.startswith("```")
            if line.startswith("|") and not fenced and number not in covered:
                block.append(number)
            elif block:
                header = lines[block[0]].strip("| ")[:60]
                found.append(f"{document}:{block[0] + 1}: table '{header}' ({len(block) - 2} rows): no JSON behind it")
                block = []
    return found


def literal_cells(spec: dict[str, Any]) -> list[str]:
    """Cells and published lines the spec types by hand: no JSON vouches for them."""
    published = [
        f"{table['document']} table '{name}': published figures typed in the spec: {line[:60]}"
        for name, table in spec["tables"].items()
        for line in table.get("published", [])
    ]
    return published + [
        f"{table['document']} table '{name}' row {row['source']}: '{header}' = {value} is typed by hand (†)"
        for name, table in spec["tables"].items()
        for row in table["rows"]
        for header, value in row.get("literal", {}).items()
    ]


def class_paths(config: Any) -> Iterator[str]:
    if isinstance(config, dict):
        if isinstance(config.get("class_path"), str):
            yield config["class_path"]
        for value in config.values():
            yield from class_paths(value)
    elif isinstance(config, list):
        for value in config:
            yield from class_paths(value)


def code_files(class_path: str, root: Path) -> set[Path]:
    """The files defining ``class_path`` and its base classes inside the repository."""
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return set()
    files = set()
    for base in inspect.getmro(cls) if inspect.isclass(cls) else [cls]:
        try:
            path = Path(inspect.getsourcefile(base) or "").resolve()
        except TypeError:
            continue
        if path.is_relative_to(root):
            files.add(path)
    return files


def config_files(path: Path) -> list[Path]:
    """``path`` and every file it includes, recursively (paths relative to the including file)."""
    if not path.is_file():
        raise TableError(f"{path}: no such config (named by a table row's 'config')")
    config = yaml.safe_load(path.read_text()) or {}
    included = config.get("include", []) if isinstance(config, dict) else []
    return [path, *(f for name in included for f in config_files(path.parent / name))]


def dependencies(row: dict[str, Any], provenance: dict[str, Any], root: Path) -> set[Path]:
    """The files a row's result depends on: its configs (the spec's, with their includes, or the resolved
    one its JSON records), the code of every class they name, and the row's own ``depends``."""
    configs = [f for name in row.get("config", []) for f in config_files(root / name)]
    loaded = [yaml.safe_load(path.read_text()) for path in configs]
    if isinstance(provenance.get("config"), dict):
        loaded.append(provenance["config"])
    files = {path.resolve() for path in configs} | {(root / name).resolve() for name in row.get("depends", [])}
    for class_path in {c for config in loaded for c in class_paths(config)}:
        files |= code_files(class_path, root)
    return files


def changed_since(commit: str, files: set[Path], root: Path) -> list[str]:
    """The files of ``files`` that differ between ``commit`` and the working tree."""
    names = sorted(str(path.relative_to(root)) for path in files)
    done = subprocess.run(
        ["git", "diff", "--name-only", commit, "--", *names], cwd=root, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise TableError(f"git cannot compare with commit {commit}: {done.stderr.strip()}")
    return done.stdout.split()


def changed_rows(spec: dict[str, Any], root: Path = ROOT) -> list[str]:
    found = []
    for name, table in spec["tables"].items():
        for row in table["rows"]:
            for path in source_files(row, root):
                provenance = read_result(path).get("provenance") or {}
                where = f"{table['document']} table '{name}' row {path.relative_to(root)}"
                if not provenance.get("commit"):
                    found.append(f"{where}: its JSON records no commit")
                    continue
                changed = changed_since(provenance["commit"], dependencies(row, provenance, root), root)
                if changed:
                    found.append(f"{where}: changed since {provenance['commit'][:7]}: {' '.join(changed)}")
    return found


def stale(spec: dict[str, Any], root: Path = ROOT) -> list[str]:
    return list(dict.fromkeys(unsourced_tables(spec, root) + literal_cells(spec) + changed_rows(spec, root)))
