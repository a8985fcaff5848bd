"""Warm start reads only tensors and plain data: a checkpoint holding arbitrary objects is one line."""

from pathlib import Path

import pytest
import torch

from nie.core.errors import ConfigError
from nie.core.task import BaseTask


class Arbitrary:
    """An object that only a full unpickle (arbitrary code) could rebuild."""


def test_warm_start_refuses_a_checkpoint_that_needs_a_full_unpickle(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}, "extra": Arbitrary()}, path)
    with pytest.raises(ConfigError, match="not a checkpoint whose weights load safely"):
        BaseTask._load_weights(None, str(path))  # type: ignore[arg-type]
