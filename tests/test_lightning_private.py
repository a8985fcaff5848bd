"""The private Lightning APIs the project relies on still exist in the installed Lightning."""

from __future__ import annotations

import importlib

import pytest

from nie.core.lightning_private import PRIVATE_APIS


def owner(path: str) -> object:
    module, _, name = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path,name", PRIVATE_APIS, ids=[f"{p}.{n}" for p, n in PRIVATE_APIS])
def test_private_api_exists(path: str, name: str) -> None:
    cls = owner(path)
    if name in ("_version", "_experiment", "_last_global_step_saved"):  # instance attributes
        from lightning.pytorch.callbacks import ModelCheckpoint
        from lightning.pytorch.loggers import TensorBoardLogger

        instance = ModelCheckpoint() if cls is ModelCheckpoint else TensorBoardLogger(save_dir="unused")
        assert hasattr(instance, name), f"{path}.{name} is gone: update nie/core/lightning_private.py"
    else:
        assert hasattr(cls, name), f"{path}.{name} is gone: update nie/core/lightning_private.py"


def test_every_private_use_is_registered() -> None:
    """No module outside lightning_private reaches into Lightning's private names (the CLI hook aside)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    names = {name for _, name in PRIVATE_APIS}
    offenders = []
    for path in [*root.glob("nie/**/*.py"), *root.glob("callbacks/*.py"), *root.glob("datamodules/**/*.py")]:
        if path.name == "lightning_private.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in names - {"_parse_ckpt_path"}:
                offenders.append(f"{path.relative_to(root)}:{node.lineno} {node.attr}")
    assert not offenders
