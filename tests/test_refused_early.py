"""Mistakes refused before any compute, each as one ``error:`` line: values a constructor refuses (not
jsonargparse's wrapped traceback), unwritable ``--out`` paths, schedules that never validate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nie.core.errors import ConfigError
from nie.core.io import check_writable
from tests.conftest import DEMO, TINY, refused_line, run_train
from tests.power_data import write_power_config

POWER_CASES = {
    "quantiles without the median": (
        ["--model.init_args.loss", "pinball", "--model.init_args.quantiles", "[0.25, 0.75]"],
        "error: model.init_args.quantiles must include 0.5",
    ),
    "levels not increasing": (
        ["--model.init_args.loss", "pinball", "--model.init_args.quantiles", "[0.5, 0.25, 0.75]"],
        "error: model.init_args.quantiles must be strictly increasing",
    ),
    "quantiles with mse": (
        ["--model.init_args.quantiles", "[0.25, 0.5, 0.75]"],
        "error: model.init_args.quantiles is for model.init_args.loss: pinball",
    ),
}
GRAPH_CASES = {
    "batch size without fanouts": (["--data.init_args.batch_size", "64"], "error: data.batch_size needs data.fanouts"),
    "sampled on the torch kernels": (
        [
            "--data.init_args.batch_size",
            "64",
            "--data.init_args.fanouts",
            "[5, 5]",
            "--data.init_args.backend",
            "torch",
        ],
        "error: data.batch_size samples neighbours with DGL",
    ),
    "negative graph size": (["--data.init_args.num_nodes", "-5"], "error: data.init_args.num_nodes must be at least"),
    "negative ranking margin": (
        ["--model.init_args.ltr_loss", "pairwise", "--model.init_args.ltr_margin", "-1"],
        "error: model.init_args.ltr_margin must be at least 0",
    ),
}


def _one_line_error(args: list[str], expected: str) -> None:
    with pytest.raises(SystemExit) as raised:
        run_train("fit", *args)
    message = str(raised.value)
    assert message.startswith(expected) and "\n" not in message, message
    assert not Path("runs").exists()  # refused before any run directory or TensorBoard version


@pytest.mark.parametrize("case", sorted(POWER_CASES))
def test_power_constructor_errors_are_one_line(workdir: Path, case: str) -> None:
    extra, expected = POWER_CASES[case]
    _one_line_error(["--config", str(write_power_config(workdir / "data")), *extra], expected)


@pytest.mark.parametrize("case", sorted(GRAPH_CASES))
def test_graph_constructor_errors_are_one_line(workdir: Path, case: str) -> None:
    extra, expected = GRAPH_CASES[case]
    args = ["--config", DEMO, *TINY, *extra] if case != "negative graph size" else ["--config", DEMO, *extra]
    _one_line_error(args, expected)


BATCH = "--data.init_args.batch_size"
FANOUTS = "--data.init_args.fanouts"
SAMPLED = [BATCH, "64", FANOUTS, "[5, 5]"]


@pytest.mark.parametrize(
    "arguments,message",
    [
        ([BATCH, "0", FANOUTS, "[5, 5]"], "data.batch_size=0: expected"),
        ([BATCH, "-1", FANOUTS, "[5, 5]"], "data.batch_size=-1: expected"),
        ([BATCH, "64", FANOUTS, "[-2, 5]"], "data.fanouts=[-2, 5]: expected"),
        ([BATCH, "64", FANOUTS, "[0, 0]"], "data.fanouts=[0, 0]: expected"),
        (["--data.init_args.structural_dim", "-1"], "data.structural_dim=-1: expected a number >= 1"),
        (["--data.init_args.structural_dim", "0"], "data.structural_dim=0: expected a number >= 1"),
        (
            [*SAMPLED, "--data.init_args.eval_batch_size", "-1"],
            "error: data.eval_batch_size=-1: expected a number >= 1 (nodes per evaluation step)",
        ),
        (
            ["--data.init_args.eval_batch_size", "7"],
            "error: data.eval_batch_size=7: only for a sampled run (data.batch_size set); a full-batch run evaluates",
        ),
        ([*SAMPLED, "--data.init_args.eval_batch_size", "x"], "data.eval_batch_size: Expected a <class 'int'>"),
    ],
)
def test_bad_batch_and_feature_sizes_are_one_line(workdir: Path, arguments: list[str], message: str) -> None:
    """batch_size 0 was a ZeroDivisionError, -1 a ValueError, fanout -2 aborted the process inside DGL and
    structural_dim -1 a numpy traceback, each after the run folder was written."""
    line = refused_line("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", *arguments)
    assert message in line
    assert not Path("runs").exists()


def test_callback_constructor_error_is_one_line(workdir: Path) -> None:
    config = workdir / "demo.yaml"
    config.write_text(Path(DEMO).read_text().replace("max_norm: 5.0", "max_norm: -1.0"))
    _one_line_error(["--config", str(config), *TINY], "error: GradientNormClipping.max_norm must be positive")


OUT_COMMANDS = {
    "cv": ["cv", "--config", DEMO, *TINY, "--folds", "0"],
    "select": ["select", "--candidates", DEMO, *TINY, "--folds", "0"],
    "test": ["test", "--config", DEMO, *TINY, "--ckpt_path", "best"],
}


@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_out_under_a_file_is_refused_before_compute(workdir: Path, command: str) -> None:
    Path("a_file").write_text("")
    with pytest.raises(SystemExit) as raised:
        run_train(*OUT_COMMANDS[command], "--out", "a_file/metrics.json")
    assert str(raised.value) == "error: --out a_file/metrics.json: a_file is a file, not a folder"
    assert not Path("runs").exists() and not Path(".cache").exists()  # nothing loaded, nothing trained


def test_out_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder; give a file path"):
        check_writable(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    with pytest.raises(ConfigError, match="cannot write in"):
        check_writable(folder / "sub" / "m.json")


def test_writable_out_leaves_nothing_behind(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "m.json")
    assert list(tmp_path.iterdir()) == []


def test_a_schedule_that_never_validates_is_refused_before_training(workdir: Path) -> None:
    args = ["--config", DEMO, *TINY, "--trainer.max_epochs", "3", "--trainer.check_val_every_n_epoch", "5"]
    for command in (["fit"], ["cv", "--folds", "0"]):
        with pytest.raises(SystemExit) as raised:
            run_train(*command, *args)
        assert str(raised.value).startswith("error: trainer.max_epochs=3 ends before the first validation")
        assert not list(Path("runs").glob("**/*.ckpt"))


def test_a_section_callback_listed_in_trainer_callbacks_is_refused(workdir: Path) -> None:
    import yaml

    config = yaml.safe_load(Path(DEMO).read_text())
    config["trainer"]["callbacks"] = [{"class_path": "callbacks.GradientNormClipping", "init_args": {"max_norm": 1.0}}]
    Path("listed.yaml").write_text(yaml.safe_dump(config))
    _one_line_error(
        ["--config", "listed.yaml", *TINY], "error: trainer.callbacks lists GradientNormClipping: set it in"
    )


def _left(root: Path) -> set[Path]:
    """What a run left, the generated graph's cache aside."""
    return {p.relative_to(root) for p in root.rglob("*") if ".cache" not in p.parts}


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
    from train import main as train_main

    Path("blocked").write_text("a file where a run folder's parent should be")
    monkeypatch.setattr(Experiment, "build", lambda self: pytest.fail("built before the folders were checked"))
    with pytest.raises(SystemExit) as refused:
        train_main(["cv", "--config", DEMO, *TINY, *options])
    assert str(refused.value).startswith(message)
    assert not Path("runs").exists()


@pytest.mark.parametrize("command", ["fit", "cv", "validate"])
def test_a_checkpoint_root_that_is_a_file_is_one_line(workdir: Path, command: str) -> None:
    Path("taken").write_text("not a folder\n")
    args = [command, "--config", DEMO, *TINY, "--checkpoint.root", "taken/runs"]
    message = refused_line(*args, *(["--folds", "0"] if command == "cv" else []))
    assert message == "error: checkpoint.root taken/runs: taken is a file, not a folder"
    assert _left(workdir) == {Path("taken")}


def test_a_logger_folder_that_cannot_be_made_is_one_line(workdir: Path) -> None:
    Path("taken").write_text("not a folder\n")
    message = refused_line("fit", "--config", DEMO, *TINY, "--trainer.logger.init_args.save_dir", "taken/logs")
    assert message == "error: trainer.logger save_dir taken/logs: taken is a file, not a folder"
    assert _left(workdir) == {Path("taken")}
