"""Tables of RESULTS.md and BENCHMARKS.md made from committed results JSONs (spec: bench/tables.yaml).

A generated table sits in its document between ``<!-- table: NAME ... -->`` and ``<!-- /table -->``.
``render`` rewrites those regions from the JSONs, ``differences`` names every region (row, JSON file)
that differs from what its JSONs give, so a hand-edited figure or JSON cannot pass unnoticed.
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "bench" / "tables.yaml"
START = re.compile(r"^<!-- table: (?P<name>[\w.-]+)\b.*-->\s*$")
END = "<!-- /table -->"
MISSING = "–"
BACKFILLED = "ᵇ"


class TableError(Exception):
    """A spec, document or results JSON that cannot make a table: one line naming it."""


@dataclass(frozen=True)
class Region:
    """Lines ``start + 1 .. end - 1`` of ``document`` are table ``name``'s generated body."""

    document: str
    name: str
    start: int
    end: int


def load_spec(path: Path = SPEC) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict) or not isinstance(spec.get("tables"), dict):
        raise TableError(f"{path}: expected a mapping with a 'tables' mapping")
    for name, table in spec["tables"].items():  # a column list may hold shared lists (YAML aliases)
        lacking = [key for key in ("document", "columns", "rows") if key not in table]
        lacking += ["a row's source" for row in table.get("rows", []) if "source" not in row][:1]
        if lacking:
            raise TableError(f"{path}: table '{name}' needs {', '.join(lacking)}")
        table["columns"] = [c for item in table["columns"] for c in (item if isinstance(item, list) else [item])]
    return spec


def read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise TableError(f"{path}: no such results JSON") from None
    except json.JSONDecodeError as err:
        raise TableError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise TableError(f"{path}: expected a JSON object")
    return data


def named_sources(row: dict[str, Any]) -> dict[str | None, Any]:
    """A row's sources by the name columns read them by (``from``); one unnamed source when not a mapping."""
    return dict(row["source"]) if isinstance(row["source"], dict) else {None: row["source"]}


def source_files(row: dict[str, Any], root: Path) -> list[Path]:
    """The JSON files behind a row: ``source`` is one path or glob, a list of them, or a mapping of names
    to either (paths relative to root)."""
    given = [row["source"]] if not isinstance(row["source"], dict) else list(row["source"].values())
    patterns = [p for item in given for p in (item if isinstance(item, list) else [item])]
    files = []
    for pattern in patterns:
        found = sorted(glob.glob(str(root / pattern)))
        if not found:
            raise TableError(f"{pattern}: no such results JSON (a table row needs one)")
        files += [Path(p) for p in found]
    return files


def row_data(row: dict[str, Any], files: list[Path]) -> dict[str, Any]:
    """The JSON a row reads: one file, one item of one of its lists (``within`` + ``where``), or the
    folds of a cv summarised (``combine: folds``, files from ``cv_fold.json``)."""
    if row.get("combine") == "folds":
        from nie.protocols.splits import fold_table

        return fold_table([read_result(path)["metrics"] for path in files])
    if len(files) != 1:
        raise TableError(f"{row['source']}: {len(files)} files for one row (say combine: folds)")
    data = read_result(files[0])
    if "within" not in row:
        return data
    items = [i for i in data.get(row["within"], []) if all(i.get(k) == v for k, v in row["where"].items())]
    if len(items) != 1:
        raise TableError(f"{files[0]}: {len(items)} items of '{row['within']}' match {row['where']} (expected 1)")
    return items[0]


def lookup(data: dict[str, Any], key: str | list[str] | None) -> Any:
    """``key``: a top-level name (metric names hold '/' and '@'), a list of nested names, or none (all)."""
    if key is None:
        return data
    value: Any = data
    for part in [key] if isinstance(key, str) else key:
        value = value[part]
    return value


TRANSFORMS = {
    "minutes_of_folds": lambda v: sum(v["folds"]) / 60,
    "mib_to_gib": lambda v: v / 1024,
    "mib_to_gib_each": lambda v: {k: x / 1024 for k, x in v.items()},
    "peak_gib_of_steps": lambda v: (
        max(x["peak_rss_mib"] for x in v.values() if isinstance(x, dict) and "peak_rss_mib" in x) / 1024
    ),
}


def signed(value: float, digits: int = 4) -> str:
    """A difference with its sign, the minus as typeset (−)."""
    return f"{value:+.{digits}f}".replace("-", "−")


def paired_folds(pair: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold-by-fold differences second − first of one cv metric: ``folds`` (each signed), ``mean`` (and
    ``mean3`` to 3 decimals), how many folds went ``up`` and ``down``, and ``n``."""
    diffs = [b - a for a, b in zip(pair[0]["folds"], pair[1]["folds"], strict=True)]
    mean = sum(diffs) / len(diffs)
    return {
        "folds": " ".join(signed(d) for d in diffs),
        "mean": signed(mean),
        "mean3": signed(mean, 3),
        "up": sum(d > 0 for d in diffs),
        "down": sum(d < 0 for d in diffs),
        "n": len(diffs),
    }


TRANSFORMS["paired_folds"] = paired_folds


def cell(data: dict[str | None, Any], column: dict[str, Any], where: str, fmt: str | None = None) -> str:
    """One cell from the row's JSONs: the column's ``from`` names one source, or a list of them (a list of
    values for a transform such as ``paired_folds``)."""
    names = column.get("from")
    for name in names if isinstance(names, list) else [names]:
        if name not in data:
            raise TableError(f"{where}: column '{column['header']}' reads source '{name}', the row has none")
    try:
        if isinstance(names, list):
            value = [lookup(data[name], column.get("key")) for name in names]
        else:
            value = lookup(data[names], column.get("key"))
    except (KeyError, IndexError, TypeError):
        if "missing" in column:
            return str(column["missing"])
        raise TableError(f"{where}: no '{column.get('key')}' (column '{column['header']}')") from None
    if column.get("transform"):
        value = TRANSFORMS[column["transform"]](value)
    fmt = fmt or column.get("format", "{}")
    return fmt.format_map(value) if isinstance(value, dict) else fmt.format(value)


def commit_cell(files: list[Path]) -> str:
    """The commits the row's JSONs record (ᵇ: backfilled, the commit that committed the file)."""
    commits = []
    for path in files:
        provenance = read_result(path).get("provenance") or {}
        commit = str(provenance.get("commit") or MISSING)[:7]
        mark = BACKFILLED if provenance.get("backfilled") else ("+dirty" if provenance.get("dirty") else "")
        commits.append(commit + mark)
    return ", ".join(dict.fromkeys(commits))


def render_row(table: dict[str, Any], row: dict[str, Any], root: Path) -> str:
    files = source_files(row, root)
    sources = {name: {**row, "source": given} for name, given in named_sources(row).items()}
    data = {name: row_data(one, source_files(one, root)) for name, one in sources.items()}
    where = ", ".join(str(p.relative_to(root)) for p in files)
    cells = list(row.get("text", []))
    bold, literal, note = set(row.get("bold", [])), row.get("literal", {}), row.get("note", {})
    for column in table["columns"]:
        header = column["header"]
        fmt = row.get("formats", {}).get(header)
        value = str(literal[header]) + "†" if header in literal else cell(data, column, where, fmt)
        cells.append((f"**{value}**" if header in bold else value) + str(note.get(header, "")))
    return "| " + " | ".join([*cells, commit_cell(files)]) + " |"


def render_table(table: dict[str, Any], root: Path) -> list[str]:
    headers = [*table.get("text", []), *(c["header"] for c in table["columns"]), "commit"]
    lines = ["| " + " | ".join(headers) + " |", "|---" * len(headers) + "|"]
    lines += [render_row(table, row, root) for row in table["rows"]]
    return lines + list(table.get("published", []))


def regions(document: str, lines: list[str]) -> list[Region]:
    """The generated regions of ``document``; nested, unclosed or unopened markers are one error."""
    found: list[Region] = []
    start, name = -1, ""
    for number, line in enumerate(lines):
        match = START.match(line)
        if match and start < 0:
            start, name = number, match["name"]
        elif match or (line.strip() == END and start < 0):
            raise TableError(f"{document}:{number + 1}: table markers out of order")
        elif line.strip() == END:
            found.append(Region(document, name, start, number))
            start = -1
    if start >= 0:
        raise TableError(f"{document}:{start + 1}: table '{name}' has no closing {END}")
    return found


def rendered(spec: dict[str, Any], region: Region, root: Path) -> list[str]:
    table = spec["tables"].get(region.name)
    if table is None:
        raise TableError(f"{region.document}:{region.start + 1}: table '{region.name}' is not in the spec")
    if table["document"] != region.document:
        raise TableError(f"{region.document}: table '{region.name}' belongs to {table['document']}")
    return render_table(table, root)


def documents(spec: dict[str, Any]) -> list[str]:
    return sorted({table["document"] for table in spec["tables"].values()})


def render(spec: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Rewrite every generated region of the spec's documents; the documents changed."""
    changed = []
    for document in documents(spec):
        path = root / document
        lines = path.read_text().split("\n")
        for region in reversed(regions(document, lines)):
            new = rendered(spec, region, root)
            if region.end - region.start - 1 > len(new):
                raise TableError(
                    f"{document}:{region.start + 1}: table '{region.name}' has more lines than its spec "
                    "gives: a row typed by hand needs its JSON in bench/tables.yaml, a row dropped from the spec "
                    "is deleted from the document by hand (nothing rewritten)"
                )
            lines[region.start + 1 : region.end] = new
        text = "\n".join(lines)
        if text != path.read_text():
            path.write_text(text)
            changed.append(document)
    return changed


def region_differences(spec: dict[str, Any], region: Region, present: list[str], root: Path) -> list[str]:
    """One line per row of ``region`` that is not what its JSON gives, naming the row's JSON."""
    try:
        wanted = rendered(spec, region, root)
    except TableError as err:
        return [f"{region.document} table '{region.name}': {err}"]
    table = spec["tables"][region.name]
    rows, published = table["rows"], len(table.get("published", []))
    found = []
    for index in range(max(len(wanted), len(present))):
        have = present[index] if index < len(present) else "(nothing)"
        want = wanted[index] if index < len(wanted) else "(nothing)"
        if have == want:
            continue
        row = index - 2
        behind = (
            "header"
            if row < 0
            else f"JSON {rows[row]['source']}"
            if row < len(rows)
            else "published figures typed in the spec"
            if row < len(rows) + published
            else "no JSON behind it"
        )
        found.append(
            f"{region.document}:{region.start + 2 + index} table '{region.name}' ({behind}): "
            f"the document has {have!r}, the JSONs give {want!r}"
        )
    return found


def differences(spec: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Every generated region that differs from its JSONs, and every spec table without a region."""
    found, seen = [], set()
    for document in documents(spec):
        lines = (root / document).read_text().split("\n")
        for region in regions(document, lines):
            seen.add(region.name)
            found += region_differences(spec, region, lines[region.start + 1 : region.end], root)
    for name, table in spec["tables"].items():
        if name not in seen:
            found.append(f"{table['document']}: table '{name}' of the spec has no <!-- table: {name} --> region")
    return found
