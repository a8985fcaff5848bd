"""A scan of Python sources for uses of Lightning's and jsonargparse's private API.

A use is: a ``_``-prefixed name imported from their modules; an attribute ``x._name`` whose name is
private in their sources and no class of the scanned code defines (so not the project's own); a
``_``-prefixed method of theirs overridden in a subclass; an attribute of one of their objects set from
outside (``rank_zero_only.rank = 0``); and the Trainer's loops (instances of private classes).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path
from typing import Iterable, Iterator

LIBRARIES = ("lightning", "jsonargparse", "lightning_utilities", "torch.utils.tensorboard")
SOURCES = ("lightning.pytorch", "lightning.fabric", "jsonargparse", "lightning_utilities", "torch.utils.tensorboard")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


@functools.cache
def library_private_names() -> frozenset[str]:
    """Every ``_``-prefixed identifier in the libraries' sources (read as text: parsing them takes long)."""
    names: set[str] = set()
    for package in SOURCES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None, package
        for path in Path(spec.origin).parent.rglob("*.py"):
            names.update(re.findall(r"(?<![\w.])_[A-Za-z]\w*|(?<=\.)_[A-Za-z]\w*", path.read_text()))
    return frozenset(n for n in names if is_private(n))


@functools.cache
def trainer_loops() -> frozenset[str]:
    """The Trainer's public attributes that hold instances of private classes (its loops)."""
    from lightning.pytorch import Trainer

    trainer = Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    return frozenset(k for k, v in vars(trainer).items() if not k.startswith("_") and type(v).__name__.startswith("_"))


def from_library(module: str) -> bool:
    return any(module == lib or module.startswith(f"{lib}.") for lib in LIBRARIES)


def defined_names(trees: Iterable[ast.AST]) -> set[str]:
    """The attributes the scanned code defines itself: its classes' methods and class variables, and
    what its methods set on ``self``."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(item.name)
                    elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                        names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _on_self(node):
                names.add(node.attr)
    return names


def _on_self(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def _library_names(tree: ast.AST) -> dict[str, str]:
    """Names bound in a module by ``from <library> import ...`` or ``import <library> as ...``, and the
    dotted path of what each names."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and from_library(node.module):
            bound.update({alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names})
        elif isinstance(node, ast.Import):
            bound.update({alias.asname or alias.name: alias.name for alias in node.names if from_library(alias.name)})
    return bound


def _library_class(base: ast.expr, bound: dict[str, str]) -> object:
    """The library class a base-class expression (``LightningCLI``, ``pl.Callback``) names, or None."""
    parts: list[str] = []
    while isinstance(base, ast.Attribute):
        parts.insert(0, base.attr)
        base = base.value
    if not isinstance(base, ast.Name) or base.id not in bound:
        return None
    path = ".".join([bound[base.id], *parts])
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return importlib.import_module(path)


def uses(tree: ast.AST, own: set[str]) -> Iterator[tuple[int, str]]:
    """``(line, name)`` of each private use in ``tree``; ``own`` are the names the project defines."""
    private, loops, bound = library_private_names(), trainer_loops(), _library_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and from_library(node.module):
            if any(is_private(part) for part in node.module.split(".")):
                yield node.lineno, node.module
            yield from ((node.lineno, a.name) for a in node.names if is_private(a.name))
        elif isinstance(node, ast.Attribute):
            if is_private(node.attr) and node.attr in private and node.attr not in own or node.attr in loops:
                yield node.lineno, node.attr
            elif isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id in bound:
                yield node.lineno, node.attr  # a library object's attribute set from outside
        elif isinstance(node, ast.ClassDef):
            bases = [c for c in (_library_class(b, bound) for b in node.bases) if c is not None]
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_private(item.name):
                    if any(hasattr(base, item.name) for base in bases):
                        yield item.lineno, item.name  # overrides a private hook


def scan(root: Path, paths: Iterable[Path]) -> list[tuple[str, int, str]]:
    """``(path relative to root, line, name)`` of every private use in ``paths``."""
    trees = {path: ast.parse(path.read_text()) for path in paths}
    own = defined_names(trees.values())
    return [
        (path.relative_to(root).as_posix(), line, name)
        for path, tree in trees.items()
        for line, name in uses(tree, own)
    ]
