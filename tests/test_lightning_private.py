"""The private Lightning and jsonargparse APIs the project relies on are few, registered, and still there."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from nie.core.lightning_private import PRIVATE_USES, PrivateUse
from tests.private_uses import scan

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("nie/**/*.py", "datamodules/**/*.py", "callbacks/**/*.py", "train.py", "predict.py")
ATTRIBUTES = [use for use in PRIVATE_USES if not use.text]


def owner(path: str) -> object:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def instance(cls: object) -> object:
    """An instance, for attributes set in ``__init__``."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import TensorBoardLogger

    if cls is TensorBoardLogger:
        return TensorBoardLogger(save_dir="unused")
    if cls is Trainer:
        return Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    return ModelCheckpoint() if cls is ModelCheckpoint else cls


@pytest.mark.parametrize("use", ATTRIBUTES, ids=[use.owner for use in ATTRIBUTES])
def test_each_registered_private_name_still_exists(use: PrivateUse) -> None:
    cls = owner(use.owner)
    for name in use.names:
        assert hasattr(cls, name) or hasattr(instance(cls), name), (
            f"{use.owner}.{name} is gone: update nie/core/lightning_private.py"
        )


def found(root: Path, patterns: tuple[str, ...]) -> list[tuple[str, int, str]]:
    return scan(root, sorted({p for pattern in patterns for p in root.glob(pattern)}))


def unregistered(uses: list[tuple[str, int, str]]) -> list[str]:
    allowed = {(where, name) for use in ATTRIBUTES for where in use.where for name in use.names}
    return [f"{path}:{line} {name}" for path, line, name in uses if (path, name) not in allowed]


def test_every_private_use_in_production_code_is_registered() -> None:
    """A scan of the production code finds exactly the registered uses: no new one, no stale entry."""
    uses = found(ROOT, PRODUCTION)
    assert not unregistered(uses), "register these in nie/core/lightning_private.py, or use a public API"
    seen = {(path, name) for path, _, name in uses}
    stale = [(w, n) for use in ATTRIBUTES for w in use.where for n in use.names if (w, n) not in seen]
    assert not stale, "registered but no longer used: drop them from PRIVATE_USES"


def test_the_registry_stays_short() -> None:
    assert len(PRIVATE_USES) <= 6


PLANTED = """
import lightning.pytorch as pl
from lightning.fabric.utilities.logger import _flatten_dict
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_only


class CLI(LightningCLI):
    def _run_subcommand(self, subcommand):
        return self.trainer.fit_loop.epoch_progress


class Ours(pl.Callback):
    def _own_helper(self):
        self._mine = 1
        return self._mine


def hack(trainer, checkpoint):
    rank_zero_only.rank = 0
    return checkpoint._monitor_candidates(trainer), _flatten_dict({})
"""


def test_the_scan_finds_a_new_private_use(tmp_path: Path) -> None:
    (tmp_path / "planted.py").write_text(PLANTED)
    names = {name for _, _, name in found(tmp_path, ("*.py",))}
    assert names == {"_flatten_dict", "_run_subcommand", "fit_loop", "rank", "_monitor_candidates"}
    assert unregistered(found(tmp_path, ("*.py",)))


def test_the_hparams_tab_flattens_as_lightning_does() -> None:
    """``nie.core.tensorboard`` writes the same names and values as ``TensorBoardLogger.log_hyperparams``."""
    from argparse import Namespace

    import numpy as np
    import torch
    from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
    from lightning.pytorch.loggers import TensorBoardLogger

    from nie.core.tensorboard import flat_params

    params = {
        "a": {"b": 1, "c": [1, 2], "d": Namespace(x=3)},
        "e": [{"f": 1.5}, {"g": None}],
        "h": np.float32(2.5),
        "i": torch.nn.ReLU,
        "k": True,
        "l": [],
        "t": torch.tensor(1.0),
        "u": torch.zeros(2, 2),
    }
    expected = TensorBoardLogger._sanitize_params(_flatten_dict(_convert_params(params)))
    ours = flat_params(params)
    assert list(ours) == list(expected)
    assert all(type(ours[k]) is type(expected[k]) and str(ours[k]) == str(expected[k]) for k in expected)


@pytest.mark.parametrize("use", [u for u in PRIVATE_USES if u.text], ids=lambda use: use.owner)
def test_the_message_formats_read_are_still_written(use: PrivateUse) -> None:
    """The phrases the one-line error reader looks for still occur in the library's own source."""
    import importlib.util

    spec = importlib.util.find_spec(use.owner.split(".")[0])
    assert spec is not None and spec.origin is not None
    source = "".join(p.read_text() for p in Path(spec.origin).parent.rglob("*.py"))
    assert [phrase for phrase in use.names if phrase not in source] == []
