"""Dependencies point one way: the import graph of the project's own packages, parsed from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nie", "datamodules", "callbacks")
PROTOCOLS = ("nie.protocols",)  # functions over an experiment: may import every other package
CLI_LAYER = ("nie.cli",)  # the command line: may import every package but the protocols built on it
CONTRACTS = ("nie.importance.spec", "nie.importance.kernels", "nie.forecasting.spec")  # what data hands models


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at any depth of the file (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def lazy_homes(path: Path) -> set[str]:
    """Modules a package ``__init__`` exports lazily (string values of its ``_HOMES`` table)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.split(".")[0] in PACKAGES
            and " " not in node.value
        ):
            found.add(node.value)
    return found if path.name == "__init__.py" else set()


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def allowed(importer: str, imported: str) -> bool:
    if within(importer, PROTOCOLS):
        return True
    if within(imported, PROTOCOLS):
        return False
    if within(importer, CLI_LAYER):
        return True
    if within(imported, CLI_LAYER):
        return False
    if within(importer, ("nie.core",)):
        return within(imported, ("nie.core",))
    if within(importer, ("nie.importance",)):
        return within(imported, ("nie.core", "nie.importance"))
    if within(importer, ("nie.forecasting",)):
        return within(imported, ("nie.core", "nie.forecasting"))
    if within(importer, ("datamodules.kg",)):
        return within(
            imported,
            ("nie.core", "datamodules.kg", "datamodules.common", "nie.importance.spec", "nie.importance.kernels"),
        )
    if within(importer, ("datamodules.power",)):
        return within(imported, ("nie.core", "datamodules.power", "datamodules.common", "nie.forecasting.spec"))
    if within(importer, ("datamodules",)):
        return within(imported, ("nie.core", "datamodules"))
    if within(importer, ("callbacks",)):
        return within(imported, ("nie.core", "callbacks"))
    return False


SOURCES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    importer = module_name(path)
    wrong = sorted(
        name
        for name in project_imports(path) | lazy_homes(path)
        if not allowed(importer, name) and not within(name, (importer,))
    )
    assert not wrong, f"{importer} must not import {wrong}"


def test_the_rules_catch_a_model_importing_data() -> None:
    assert not allowed("nie.importance.task", "datamodules.kg.datamodule")
    assert not allowed("nie.forecasting.models", "datamodules.power.features")
    assert not allowed("datamodules.kg.datamodule", "nie.importance.licap")
    assert not allowed("callbacks.checkpoint", "nie.cli.lightning_cli")
    assert not allowed("nie.core.task", "nie.cli.outputs")
    assert not allowed("nie.core.io", "callbacks.checkpoint")
    assert not allowed("nie.core.task", "nie.importance.spec")
    assert allowed("datamodules.power.datamodule", "nie.forecasting.spec")
    assert allowed("nie.cli.checkpoints", "callbacks.checkpoint")
    assert allowed("nie.protocols.importance.cv", "datamodules.kg.datamodule")
    assert allowed("nie.protocols.splits", "nie.cli.experiment")
    assert not allowed("nie.cli.experiment", "nie.protocols.splits")
    assert not allowed("nie.core.task", "nie.protocols.splits")


def long_functions(path: Path, limit: int = 50) -> list[str]:
    """Functions of ``path`` longer than ``limit`` lines (def line to the end of the body)."""
    tree = ast.parse(path.read_text())
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit
    ]


BENCH = sorted((ROOT / "bench").rglob("*.py"))


def test_no_function_is_over_fifty_lines() -> None:
    assert [f for path in [*SOURCES, *BENCH] for f in long_functions(path)] == []


def imports_bench(source: str) -> bool:
    """Whether ``source`` imports the ``bench`` scripts (anywhere in the file)."""
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        if any(name == "bench" or name.startswith("bench.") for name in names):
            return True
    return False


def test_no_test_imports_the_benches() -> None:
    """What a test and a bench both need lives in the package (e.g. ``nie.importance.agreement``); a bench
    tool's own tests run its command line (``tests/test_results_tables.py``)."""
    assert imports_bench("def f():\n    from bench.scale import measure\n") and not imports_bench("import benchmark")
    importing = [p.name for p in sorted((ROOT / "tests").rglob("*.py")) if imports_bench(p.read_text())]
    assert importing == []


def section_maps(source: str) -> int:
    """Dict literals mapping the training callbacks to their config sections."""
    sections = {"checkpoint", "early_stopping", "gradient_clipping"}
    found = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            values = {v.value for v in node.values if isinstance(v, ast.Constant)}
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            found += sections <= values or {"HParamCheckpoint", "MinEpochsEarlyStopping"} <= keys
    return found


def test_the_callback_sections_are_mapped_once() -> None:
    """``nie.cli.lightning_cli.CALLBACK_SECTIONS`` is the one map; predict.py and the benches read it."""
    assert section_maps('M = {"HParamCheckpoint": "c", "MinEpochsEarlyStopping": "e"}') == 1
    scripts = [ROOT / "train.py", ROOT / "predict.py"]
    counts = {str(p.relative_to(ROOT)): section_maps(p.read_text()) for p in [*SOURCES, *BENCH, *scripts]}
    assert {path: n for path, n in counts.items() if n} == {"nie/cli/lightning_cli.py": 1}


def test_each_class_is_defined_once() -> None:
    """One definition per concept (issue 35: ``LabelledStages`` was defined twice): no two production classes share
    a name."""
    homes: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                homes.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert homes["LabelledStages"] == ["nie/core/contracts.py"]
    assert {name: paths for name, paths in homes.items() if len(paths) > 1} == {}
