"""Session 17's new-user probes: what a newcomer's slips on the demo get (one line, nothing written) and
that the fix the line suggests runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DEMO, TINY, refused_line, run_train

SHORT = [*TINY, "--trainer.max_epochs", "1"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["--checkpoint.hparams", "[lr,lr]"], "checkpoint.hparams names lr twice"),
        (["--checkpoint.dirs", "[network,network,fold]"], "checkpoint.dirs names network twice"),
        (["--checkpoint.dirs", "[network,heads]"], "checkpoint.dirs and checkpoint.hparams both name heads"),
    ],
)
@pytest.mark.parametrize("subcommand", ["fit", "cv"])
def test_a_name_given_twice_is_one_line_and_writes_nothing(
    workdir: Path, subcommand: str, names: list[str], expected: str
) -> None:
    message = refused_line(subcommand, "--config", DEMO, *SHORT, *names)
    assert message.startswith(f"error: {expected}")
    assert not list(workdir.iterdir())


def test_the_fix_for_a_name_given_twice_runs(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *SHORT, "--checkpoint.hparams", "[lr,heads,lr]")
    option, value = re.findall(r"e\.g\. (\S+) (\S+)$", message)[0]
    assert (option, value) == ("--checkpoint.hparams", "[lr,heads]")
    run_train("fit", "--config", DEMO, *SHORT, option, value)
    assert (workdir / "runs/geni/synthetic/fold0/lr0.005-heads4/settings.json").is_file()
