"""torch's CPU threads: every available core by default, the environment's choice where set, too many refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from nie.core.errors import ConfigError
from nie.core.threads import available_cores, set_threads
from tests.conftest import DEMO, TINY, run_train


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch: pytest.MonkeyPatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))  # restored afterwards
    yield
    torch.set_num_threads(before)


def test_default_is_every_core_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert set_threads(None) == available_cores() == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert set_threads(None) == 1 == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "4096")  # more than the machine: all its cores
    assert set_threads(None) == available_cores()


@pytest.mark.parametrize("requested", [0, available_cores() + 1])
def test_impossible_thread_counts_stop_in_one_line(workdir: Path, requested: int) -> None:
    with pytest.raises(ConfigError, match=f"threads: {requested}, but this process may use"):
        set_threads(requested)
    with pytest.raises(SystemExit) as raised:
        run_train("fit", "--config", DEMO, *TINY, "--threads", str(requested))
    message = str(raised.value)
    assert message.startswith(f"error: threads: {requested}") and "\n" not in message, message
    assert not Path("runs").exists()


def test_a_run_uses_the_threads_it_asks_for(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--threads", "1", "--trainer.max_epochs", "1")
    assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"  # Lightning's launcher reads it
