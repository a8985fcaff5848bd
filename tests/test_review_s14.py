"""Session 14 review follow-ups: provenance's commit, the interrupted-protocol hint, old split records,
the bench scripts' imports, early run-folder checks and bench summaries' atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nie.core import provenance as provenance_module
from tests.conftest import DEMO, TINY
from train import main as train_main


def test_provenance_records_the_commit_the_process_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"rev-parse": "a" * 40 + "\n", "status": " M nie/core/io.py\nR  old.py -> new.py\n"}
    monkeypatch.setattr(provenance_module, "_git", lambda *args: answers[args[0]])
    monkeypatch.setattr(provenance_module, "_AT_START", {})
    started = provenance_module.code_at_start()
    answers["rev-parse"], answers["status"] = "b" * 40 + "\n", ""  # a commit lands while the run trains
    record: dict[str, Any] = provenance_module.provenance(config={})
    assert record["commit"] == "a" * 40 and started["commit"] == "a" * 40
    assert record["dirty"] == ["new.py", "nie/core/io.py"]
    assert provenance_module.code_state() == {"commit": "b" * 40, "dirty": []}  # what it would have said at write
    assert provenance_module.provenance(code=provenance_module.code_state())["commit"] == "b" * 40


@pytest.mark.parametrize("command", ["cv", "select", "backtest"])
def test_an_interrupted_protocol_is_told_to_rerun_itself_not_to_pass_ckpt_path(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    import train

    def interrupted(argv: list[str]) -> None:
        raise SIGTERMException

    monkeypatch.setitem(train.PROTOCOLS, command, interrupted)
    with pytest.raises(SystemExit) as raised:
        train.main([command, "--config", "configs/demo.yaml"])
    assert str(raised.value) == (
        "interrupted by SIGTERM; rerun the same command: finished splits are read back "
        "and a split cut short continues from its last.ckpt"
    )


def test_an_old_split_record_is_read_back_with_a_warning_naming_what_went_unchecked(tmp_path: Path) -> None:
    from nie.core.run_settings import SETTINGS_FILE
    from nie.protocols.splits import unchecked

    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"lr": 0.005, "network": "GENI"}))
    made_with = {"lr": 0.005, "network": "GENI", "top_k": 100, "trainer.max_epochs": 2, "early_stopping.patience": 3}
    assert unchecked(tmp_path, made_with) == (
        "read back with only its folder's settings checked; not checked: early_stopping.*, top_k, trainer.*"
    )


def test_the_ensemble_weights_bench_runs() -> None:
    """It crashed once fit_weights took an EnsembleSection (mypy now checks bench/ too)."""
    done = subprocess.run(
        [sys.executable, "bench/ensemble_weights.py", "--members", "2", "--step", "0.5", "--nodes", "50"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("| 2 | 3 |")  # members, grid points


def test_a_cv_members_root_monitor_and_scale_come_from_its_built_parts(workdir: Path) -> None:
    from nie.protocols.importance.cv import member

    built = member(["--config", DEMO, *TINY, "--checkpoint.root", "elsewhere"]).facts
    assert (built.root, built.monitor, built.mode) == (Path("elsewhere"), "val/spearman", "max")
    assert built.predicts_labels is True  # GENI
    pagerank = '{"class_path": "nie.importance.PageRank"}'
    default = member(
        ["--config", DEMO, *TINY, "--model.init_args.network", pagerank, "--checkpoint.hparams", "[lr]"]
    ).facts
    assert default.root == Path("runs") and default.predicts_labels is False  # HParamCheckpoint's default root


def test_the_subcommands_are_listed_once(capsys: pytest.CaptureFixture[str]) -> None:
    import train

    with pytest.raises(SystemExit):
        train.main(["--help"])
    usage = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("usage:"))
    assert usage == f"usage: python train.py {{{','.join(train.SUBCOMMANDS)}}} [options]"
    assert set(train.PROTOCOLS) < set(train.SUBCOMMANDS)
    assert all(f"\n  {name} " in train.HELP for name in train.PROTOCOLS)  # each protocol has its paragraph


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--checkpoint.root", "blocked/runs"], "error: checkpoint.root blocked/runs"),
        (["--trainer.logger.init_args.save_dir", "blocked/logs"], "error: trainer.logger save_dir blocked/logs"),
    ],
)
def test_an_unwritable_run_folder_is_refused_before_cv_builds_anything(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], message: str
) -> None:
    from nie.cli.experiment import Experiment

    Path("blocked").write_text("a file where a run folder's parent should be")
    monkeypatch.setattr(Experiment, "build", lambda self: pytest.fail("built before the folders were checked"))
    with pytest.raises(SystemExit) as refused:
        train_main(["cv", "--config", DEMO, *TINY, *options])
    assert str(refused.value).startswith(message)
    assert not Path("runs").exists()
