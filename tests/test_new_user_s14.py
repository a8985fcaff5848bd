"""What a new user met after session 14's restructure (issue 35) that was not one line: a damaged
``cv_fold.json``, a ``checkpoint.root`` or logger folder that cannot be made, ``train.py`` without a
subcommand; and the refusal of a folder of other settings names the options as they are typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO, TINY, refused_line, run_train

RUN = Path("runs/geni/synthetic/fold0/lr0.005-heads4")
CV = ["cv", "--config", DEMO, *TINY, "--folds", "0", "--trainer.max_epochs", "2"]


def _files(root: Path) -> set[Path]:
    """What a run left, the generated graph's cache aside."""
    return {p.relative_to(root) for p in root.rglob("*") if ".cache" not in p.parts}


@pytest.mark.parametrize("record", ["{broken", "[1]", '{"settings": 3, "metrics": {}}', '{"settings": {}}'])
def test_a_damaged_cv_fold_record_is_one_line(workdir: Path, record: str) -> None:
    RUN.mkdir(parents=True)
    (RUN / "cv_fold.json").write_text(record)
    before = _files(workdir)
    message = refused_line(*CV)
    assert message.startswith(f"error: fold 0: {RUN / 'cv_fold.json'}: not a finished split's record"), message
    assert "--checkpoint.overwrite true" in message
    assert _files(workdir) == before  # refused before anything was fitted or written


def test_a_damaged_cv_fold_record_is_replaced_by_overwrite(workdir: Path) -> None:
    RUN.mkdir(parents=True)
    (RUN / "cv_fold.json").write_text("{broken")
    run_train(*CV, "--checkpoint.overwrite", "true")
    assert json.loads((RUN / "cv_fold.json").read_text())["settings"]["lr"] == 0.005


@pytest.mark.parametrize("command", ["fit", "cv", "validate"])
def test_a_checkpoint_root_that_is_a_file_is_one_line(workdir: Path, command: str) -> None:
    Path("taken").write_text("not a folder\n")
    args = [command, "--config", DEMO, *TINY, "--checkpoint.root", "taken/runs"]
    message = refused_line(*args, *(["--folds", "0"] if command == "cv" else []))
    assert message == "error: checkpoint.root taken/runs: taken is a file, not a folder"
    assert _files(workdir) == {Path("taken")}


def test_a_logger_folder_that_cannot_be_made_is_one_line(workdir: Path) -> None:
    Path("taken").write_text("not a folder\n")
    message = refused_line("fit", "--config", DEMO, *TINY, "--trainer.logger.init_args.save_dir", "taken/logs")
    assert message == "error: trainer.logger save_dir taken/logs: taken is a file, not a folder"
    assert _files(workdir) == {Path("taken")}


@pytest.mark.parametrize("argv", [[], ["fitt", "--config", DEMO]])
def test_train_py_without_a_known_subcommand_names_all_eight(workdir: Path, argv: list[str]) -> None:
    message = refused_line(*argv)
    assert "fit, validate, test, predict, cv, select, backtest, partition (python train.py --help)" in message
    assert message.endswith("got 'fitt'") == bool(argv)


def test_a_folder_of_other_settings_names_the_options_as_typed(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1")
    message = refused_line(
        "fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--model.init_args.weight_decay", "0.001"
    )
    assert "(weight_decay: 0.0005 there, 0.001 now)" in message
    assert "checkpoint.dirs or checkpoint.hparams, use another --checkpoint.root DIR" in message
    assert "checkpoint.on_mismatch: new_folder" in message


def test_predicting_from_a_run_whose_recorded_root_is_gone_still_works(workdir: Path) -> None:
    """Only what writes into the run folders checks them: a run folder moved (or read-only) predicts."""
    from predict import main as predict_main

    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1")
    Path("taken").write_text("not a folder\n")
    saved = yaml.safe_load((RUN / "config.yaml").read_text())
    saved["checkpoint"]["root"] = saved["trainer"]["logger"]["init_args"]["save_dir"] = "taken/runs"
    (RUN / "config.yaml").write_text(yaml.safe_dump(saved))
    predict_main(["--ckpt", str(RUN / "last.ckpt"), "--out", "predictions.csv"])
    assert Path("predictions.csv").is_file()
