"""A run-folder name (``checkpoint.dirs``, ``checkpoint.hparams``) the run has no value for: one short line
naming it, the network and the list without it, before any data is read (nothing written); the fix it
suggests runs. Never dropped silently: the names are the run's identity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DEMO, TINY, refused_line, run_train

RGCN = ["--model.init_args.network", "nie.importance.RGCN"]
SHORT = [*TINY, "--trainer.max_epochs", "1"]


@pytest.mark.parametrize("subcommand", ["fit", "cv"])
def test_demo_with_a_network_without_heads_is_one_line_and_writes_nothing(workdir: Path, subcommand: str) -> None:
    message = refused_line(subcommand, "--config", DEMO, *RGCN, *SHORT)
    assert message == (
        "error: checkpoint.hparams names heads, which this run (network rgcn) has no value for: "
        "name only its own, e.g. --checkpoint.hparams [lr]"
    )
    assert not list(workdir.iterdir())  # no run folder, no TensorBoard version, no data cache


def test_a_mistyped_folder_level_is_refused_too(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *SHORT, "--checkpoint.dirs", "[network,dataset,fodl]")
    assert message.startswith("error: checkpoint.dirs names fodl, which this run (network geni) has no value for")
    assert message.endswith("e.g. --checkpoint.dirs [network,dataset]")
    assert not list(workdir.iterdir())


def test_the_suggested_fix_runs(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *RGCN, *SHORT)
    option, value = re.findall(r"e\.g\. (\S+) (\S+)$", message)[0]
    run_train("fit", "--config", DEMO, *RGCN, *SHORT, option, value)
    assert (workdir / "runs/rgcn/synthetic/fold0/lr0.005/settings.json").is_file()
