"""Where a run's files go is one setting, ``checkpoint.root``: the TensorBoard logger follows it unless the
config gives the logger its own ``save_dir`` (#35: one source of truth per fact)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import DEMO, TINY, run_train

SHORT = [*TINY, "--trainer.max_epochs", "1"]


def test_the_logger_writes_under_checkpoint_root(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT, "--checkpoint.root", "elsewhere")
    assert not Path("runs").exists()
    assert [p.name for p in Path("elsewhere/tensorboard").iterdir()] == ["version_0"]
    (saved,) = Path("elsewhere").rglob("config.yaml")  # the recorded config names the folder, not the default
    assert yaml.safe_load(saved.read_text())["trainer"]["logger"]["init_args"]["save_dir"] == "elsewhere"


def test_a_logger_given_its_own_folder_keeps_it(workdir: Path) -> None:
    run_train(
        "fit", "--config", DEMO, *SHORT, "--checkpoint.root", "elsewhere", "--trainer.logger.init_args.save_dir", "logs"
    )
    assert [p.name for p in Path("logs/tensorboard").iterdir()] == ["version_0"]
    assert not Path("elsewhere/tensorboard").exists() and any(Path("elsewhere").rglob("last.ckpt"))
