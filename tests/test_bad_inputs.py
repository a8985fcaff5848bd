"""Every malformed input the CLI can receive gives one clear ``error:`` line and leaves no partial output.

File-format errors are tested beside their readers: graph files and pickles in test_kg_io.py,
time series in test_power.py; the split's in test_splits.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO, TINY, run_train
from tests.power_data import write_power_config


def test_missing_config_file_is_one_clear_error(workdir: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: .*File does not exist: .*no_such.yaml'$"):
        run_train("fit", "--config", "no_such.yaml")


def test_unknown_model_class_is_a_clear_error(workdir: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: model.network: .*has no attribute 'NoSuchNet'$"):
        run_train("fit", "--config", DEMO, "--model.init_args.network.class_path", "nie.importance.NoSuchNet")


def test_unknown_hyperparameter_is_a_clear_error(workdir: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: model: Option 'lrr' is not accepted \(did you mean 'lr'\?\)$"):
        run_train("fit", "--config", DEMO, "--model.init_args.lrr", "0.1")


def test_unknown_checkpoint_hparam_is_a_clear_error(workdir: Path) -> None:
    config = yaml.safe_load(Path(DEMO).read_text())
    config["checkpoint"]["hparams"] = ["lr", "hiden"]
    Path("bad.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(
        SystemExit, match=r"^error: checkpoint.hparams names hiden, which this run \(network geni\) has no value for"
    ):
        run_train("fit", "--config", "bad.yaml", *TINY, "--trainer.max_epochs", "1")


def test_wrong_type_is_a_clear_error(workdir: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: model.lr: Expected a <class 'float'>, got 'fast'$"):
        run_train("fit", "--config", DEMO, "--model.init_args.lr", "fast")


def test_missing_data_path_is_a_clear_error(workdir: Path) -> None:
    config = Path(DEMO).parent / "fb15k" / "pagerank.yaml"
    with pytest.raises(SystemExit, match=r"^error: /no/such/graph: data folder not found \(see docs/data.md\)$"):
        run_train("fit", "--config", str(config), "--data.init_args.root", "/no/such/graph")
    assert not Path("runs/pagerank").exists()  # no run directory for a run that never started


def test_checkpoint_from_another_model_is_refused(workdir: Path) -> None:
    power = str(write_power_config(workdir / "data"))
    run_train("fit", "--config", power, "--trainer.max_epochs", "1")
    checkpoint = next(Path("runs/lstm").rglob("last.ckpt"))
    with pytest.raises(
        SystemExit,
        match=r"^error: --ckpt_path .*last.ckpt holds a PowerForecastTask with network "
        r"'lstm', but the config builds a NodeImportanceTask with network 'geni'$",
    ):
        run_train("test", "--config", DEMO, *TINY, "--ckpt_path", str(checkpoint))


def test_missing_checkpoint_for_predict(workdir: Path) -> None:
    from predict import main as predict_main

    with pytest.raises(SystemExit, match=r"^error: --ckpt nope.ckpt: checkpoint not found$"):
        predict_main(["--ckpt", "nope.ckpt"])
