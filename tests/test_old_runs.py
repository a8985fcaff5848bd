"""A checkpoint or run folder saved by a pre-release layout (``nie.tasks``, ``trainer.callbacks`` entries)
is refused in one line: no compatibility layer keeps it loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from predict import main as predict_main
from tests.conftest import DEMO, run_train

OLD_TASK = "nie.tasks.NodeImportanceTask"  # where the task lived before the package layout changed


def _old_checkpoint(path: Path) -> Path:
    torch.save({"state_dict": {}, "hyper_parameters": {"_class_path": OLD_TASK, "lr": 0.005}}, path)
    return path


def test_a_pre_release_checkpoint_is_one_line(workdir: Path) -> None:
    ckpt = _old_checkpoint(workdir / "old.ckpt")
    expected = rf"^error: --ckpt_path {ckpt}: saved by a pre-release nie whose task {OLD_TASK} no longer exists"
    with pytest.raises(SystemExit, match=expected):
        run_train("test", "--config", DEMO, "--trainer.logger", "false", "--ckpt_path", str(ckpt))
    assert sorted(p.name for p in workdir.iterdir()) == ["old.ckpt"]  # a refused run writes nothing


def test_a_pre_release_run_folder_is_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = _old_checkpoint(workdir / "last.ckpt")
    config = {
        "model": {"class_path": OLD_TASK},
        "data": {"class_path": "datamodules.SyntheticKnowledgeGraphDataModule"},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit) as stop:
        predict_main(["--ckpt", str(ckpt)])
    message = str(stop.value.code) + capsys.readouterr().err
    assert message.startswith("error: model: ") and "tasks" in message, message  # the section and the lost name
    assert len(message.strip().splitlines()) == 1, message
    assert not (workdir / "predictions.csv").exists()


def test_a_missing_include_is_one_line(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text("include: [shared.yaml]\nseed_everything: 1\n")
    with pytest.raises(SystemExit, match=r"^error: exp.yaml: include 'shared.yaml': no such file shared.yaml$"):
        run_train("fit", "--config", "exp.yaml")


def test_a_config_naming_the_removed_memory_check_is_one_line(workdir: Path) -> None:
    """``data.full_batch_bytes_per_edge`` (a host-memory pre-flight, removed) is refused by name."""
    with pytest.raises(SystemExit, match=r"^error: .*full_batch_bytes_per_edge"):
        run_train("fit", "--config", DEMO, "--data.init_args.full_batch_bytes_per_edge", "3072")
    assert list(workdir.iterdir()) == []
