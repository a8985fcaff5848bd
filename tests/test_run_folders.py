"""A run folder never mixes configurations: settings are recorded beside the checkpoints and inside them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from predict import main as predict_main
from tests.conftest import DEMO, TINY, read_json, refused_line, run_train
from tests.power_data import write_power_config

RUN = Path("runs/geni/synthetic/fold0/lr0.005-heads4")
SHORT = [*TINY, "--trainer.max_epochs", "2"]


def _refused(*args: str) -> str:
    with pytest.raises(SystemExit) as raised:
        run_train(*args)
    return str(raised.value)


def _demo_with(workdir: Path, **checkpoint_args: object) -> str:
    config = yaml.safe_load(Path(DEMO).read_text())
    config["checkpoint"].update(checkpoint_args)
    path = workdir / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_refit_with_another_label_transform_is_refused(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    assert read_json(RUN / "settings.json")["label_transform"] == "log1p"
    assert torch.load(RUN / "last.ckpt", weights_only=True)["run_settings"]["label_transform"] == "log1p"
    before = {p.name: p.stat().st_mtime_ns for p in RUN.iterdir()}
    message = _refused("fit", "--config", DEMO, *SHORT, "--data.init_args.label_transform", "none")
    assert message.startswith(f"error: {RUN} holds a run made with other settings")
    assert "label_transform: 'log1p' there, 'none' now" in message and "\n" not in message
    assert {p.name: p.stat().st_mtime_ns for p in RUN.iterdir()} == before  # the earlier run is untouched
    message = _refused(
        "test", "--config", DEMO, *SHORT, "--data.init_args.label_transform", "none", "--ckpt_path", "best"
    )
    assert "label_transform: 'log1p' there, 'none' now" in message


def test_new_folder_on_mismatch(workdir: Path) -> None:
    config = _demo_with(workdir, on_mismatch="new_folder")
    run_train("fit", "--config", config, *SHORT)
    run_train("fit", "--config", config, *SHORT, "--data.init_args.label_transform", "none")
    second = RUN.with_name(RUN.name + "-v2")
    assert read_json(second / "settings.json")["label_transform"] == "none"
    assert read_json(RUN / "settings.json")["label_transform"] == "log1p"
    run_train("test", "--config", config, *SHORT, "--ckpt_path", "best")  # the first folder's best, by its settings
    assert "log1p" in (RUN / "config.yaml").read_text()
    # a checkpoint file of the other settings is refused, whichever folder the config maps to
    message = _refused("test", "--config", config, *SHORT, "--ckpt_path", str(RUN / "last.ckpt"),
                       "--data.init_args.label_transform", "none")  # fmt: skip
    assert "was made with other settings than the config's (label_transform: 'log1p' there, 'none' now)" in message


def test_unknown_on_mismatch_is_one_line(workdir: Path) -> None:
    message = _refused("fit", "--config", _demo_with(workdir, on_mismatch="rename"), *SHORT)
    assert message.startswith("error: checkpoint.on_mismatch: Expected a typing.Literal['error', 'new_folder']")
    assert "'rename'" in message and "\n" not in message


def test_predict_refuses_a_checkpoint_whose_config_beside_it_differs(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    saved = RUN / "config.yaml"
    saved.write_text(saved.read_text().replace("label_transform: log1p", "label_transform: none"))
    with pytest.raises(SystemExit) as raised:
        predict_main(["--ckpt", str(RUN / "last.ckpt"), "--out", "p.csv"])
    assert "label_transform: 'log1p' there, 'none' now" in str(raised.value)
    assert not Path("p.csv").exists()


def test_test_best_of_another_quantile_set_is_refused(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    pinball = ["--model.init_args.loss", "pinball"]
    run_train("fit", "--config", config, *pinball, "--model.init_args.quantiles", "[0.1, 0.5, 0.9]")
    message = _refused("test", "--config", config, *pinball, "--model.init_args.quantiles", "[0.25, 0.5, 0.75]",
                       "--ckpt_path", "best")  # fmt: skip
    assert "quantiles: [0.1, 0.5, 0.9] there, [0.25, 0.5, 0.75] now" in message and "\n" not in message


def test_a_checkpoint_of_another_network_shape_is_refused_before_its_weights_load(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    heads2 = ["--model.init_args.network.init_args.heads", "2", "--ckpt_path", str(RUN / "last.ckpt")]
    message = _refused("test", "--config", DEMO, *SHORT, *heads2)
    assert "made with other settings than the config's (heads: 4 there, 2 now)" in message and "\n" not in message


def test_resuming_on_another_validation_schedule_is_refused(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    message = _refused("fit", "--config", DEMO, *SHORT, "--trainer.check_val_every_n_epoch", "2", "--ckpt_path", "last")
    assert message == (
        "error: resuming a run that validated every 1 epochs with trainer.check_val_every_n_epoch=2: "
        "resume with 1, or start afresh"
    )


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
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1")
    Path("taken").write_text("not a folder\n")
    saved = yaml.safe_load((RUN / "config.yaml").read_text())
    saved["checkpoint"]["root"] = saved["trainer"]["logger"]["init_args"]["save_dir"] = "taken/runs"
    (RUN / "config.yaml").write_text(yaml.safe_dump(saved))
    predict_main(["--ckpt", str(RUN / "last.ckpt"), "--out", "predictions.csv"])
    assert Path("predictions.csv").is_file()
