"""Checkpoints and run configs written before the package layout changed still load and predict the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from predict import predict
from tests.conftest import DEMO, read_json, run_train
from tests.power_data import make_power_table

FIXTURES = Path(__file__).parent / "fixtures" / "pre_layout"


def _run_dir(tmp_path: Path, name: str, data: dict) -> Path:
    """The fixture's checkpoint beside its saved config, with the data paths pointed into ``tmp_path``."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(FIXTURES / f"{name}.ckpt", folder / "last.ckpt")
    config = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    config["data"]["init_args"].update(data)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


@pytest.mark.parametrize("name", ["geni", "lstm"])
def test_checkpoint_from_before_the_layout_change_predicts_as_then(tmp_path: Path, name: str) -> None:
    if name == "geni":
        data = {"cache_dir": str(tmp_path / "cache")}
    else:
        make_power_table().to_csv(tmp_path / "series.csv", index=False)
        data = {"path": str(tmp_path / "series.csv")}
    folder = _run_dir(tmp_path, name, data)
    out = predict(str(folder / "last.ckpt"))
    expected = pd.read_csv(FIXTURES / f"{name}_predictions.csv")
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, rtol=1e-5)


def test_the_cli_loads_hyper_parameters_saved_under_old_class_paths(workdir: Path) -> None:
    """``--ckpt_path`` reads the task's class path from the checkpoint (``nie.tasks.NodeImportanceTask``)."""
    run_train(
        "test",
        "--config",
        DEMO,
        "--data.init_args.num_nodes",
        "150",
        "--data.init_args.cache_dir",
        "cache",
        "--model.init_args.network.init_args.heads",
        "1",
        "--model.init_args.network.init_args.num_layers",
        "1",
        "--trainer.logger",
        "false",
        "--ckpt_path",
        str(FIXTURES / "geni.ckpt"),
        "--out",
        "test.json",
    )
    assert read_json(workdir / "test.json")["test/spearman"] > 0.5


def test_a_missing_include_is_one_line(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text("include: [shared.yaml]\nseed_everything: 1\n")
    with pytest.raises(SystemExit, match=r"^error: exp.yaml: include 'shared.yaml': no such file shared.yaml$"):
        run_train("fit", "--config", "exp.yaml")
