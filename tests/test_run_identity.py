"""A run folder knows its run: nothing written by a refused run, a finished run never silently replaced,
a resume that cannot resume says so, and the data a run read is part of its identity (#36, #42)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamodules.kg.synthetic import write_synthetic_graph
from nie.core import provenance as provenance_module
from tests.conftest import DEMO, TINY, read_json, refused_line, run_train
from tests.power_data import make_power_table, write_power_config

RUN = Path("runs/geni/synthetic/fold0/lr0.005-heads4")
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
SHORT = [*TINY, "--trainer.max_epochs", "2"]
PROVENANCE = {"commit", "dirty", "config", "data", "versions", "machine", "wall_seconds"}


def _files(root: str | Path = "runs") -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(p): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ #36.3, #36.4, #36.10
def test_a_run_refused_while_its_model_is_built_leaves_nothing(workdir: Path) -> None:
    skes = workdir / "skes.yaml"
    network = {"class_path": "nie.importance.SKES"}
    skes.write_text(yaml.safe_dump({"model": {"init_args": {"network": network}}, "checkpoint": {"hparams": ["lr"]}}))
    args = ["fit", "--config", DEMO, "--config", str(skes), *SHORT]
    message = refused_line(*args, "--model.init_args.network.init_args.points", "0")
    assert "points must be at least 1, got 0" in message
    assert _files() == {}  # no config.yaml, settings.json or TensorBoard version
    run_train(*args)  # the corrected run is not refused as "other settings" by what the refused one left
    assert any(Path("runs/skes").rglob("last.ckpt"))


def test_an_ensemble_refused_for_its_members_leaves_nothing(workdir: Path) -> None:
    path = write_power_config(workdir / "data")
    config = yaml.safe_load(path.read_text())
    lstm = {"class_path": "nie.forecasting.LSTMForecaster", "init_args": {"hidden": 8}}
    config["model"]["init_args"]["network"] = {
        "class_path": "nie.forecasting.ForecasterEnsemble",
        "init_args": {"network": lstm},
    }
    path.write_text(yaml.safe_dump(config))
    args = ["fit", "--config", str(path), "--trainer.max_epochs", "1"]
    for members in ("0", "-1"):
        message = refused_line(*args, "--model.init_args.network.init_args.members", members)
        assert message == f"error: ForecasterEnsemble members must be at least 1, got {members}"
        assert _files() == {}
    run_train(*args, "--model.init_args.network.init_args.members", "2")  # into the folder the refused ones named
    assert read_json(next(Path("runs").rglob("settings.json")))["members"] == 2


def test_a_finished_run_is_not_replaced_silently(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    before = _files()
    message = refused_line("fit", "--config", DEMO, *SHORT)
    assert message.startswith(f"error: {RUN} holds a run already (")
    assert "--ckpt_path last" in message and "--checkpoint.overwrite true" in message
    assert _files() == before  # every file of the finished run, TensorBoard's included, untouched
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "3", "--ckpt_path", "last")  # continues
    assert json.loads((RUN / "best.json").read_text())["best_model_path"]
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--checkpoint.overwrite", "true")
    best = Path(read_json(RUN / "best.json")["best_model_path"])
    assert sorted(p.name for p in RUN.glob("*.ckpt")) == sorted({best.name, "last.ckpt"})  # no orphan of the old run
    assert best.name.startswith("epoch=0-")


def test_ckpt_path_last_with_nothing_to_resume_isrefused_line(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *SHORT, "--ckpt_path", "last")
    assert message.startswith(f"error: --ckpt_path last: no {RUN / 'last.ckpt'} to resume")
    assert "leave out --ckpt_path to start afresh" in message
    assert _files() == {}


def test_fit_with_ckpt_path_best_is_refused_line(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", "--ckpt_path", "best")
    assert message == (
        "error: --ckpt_path best: fit continues from last or a checkpoint file; best is for validate, test and predict"
    )
    assert not Path("runs").exists()


def _left(root: Path) -> set[Path]:
    """What a run left, the generated graph's cache aside."""
    return {p.relative_to(root) for p in root.rglob("*") if ".cache" not in p.parts}


CV_FOLD = ["cv", "--config", DEMO, *TINY, "--folds", "0", "--trainer.max_epochs", "2"]


@pytest.mark.parametrize("record", ["{broken", "[1]", '{"settings": 3, "metrics": {}}', '{"settings": {}}'])
def test_a_damaged_cv_fold_record_is_one_line(workdir: Path, record: str) -> None:
    RUN.mkdir(parents=True)
    (RUN / "cv_fold.json").write_text(record)
    before = _left(workdir)
    message = refused_line(*CV_FOLD)
    assert message.startswith(f"error: fold 0: {RUN / 'cv_fold.json'}: not a finished split's record"), message
    assert "--checkpoint.overwrite true" in message
    assert _left(workdir) == before  # refused before anything was fitted or written


def test_a_damaged_cv_fold_record_is_replaced_by_overwrite(workdir: Path) -> None:
    RUN.mkdir(parents=True)
    (RUN / "cv_fold.json").write_text("{broken")
    run_train(*CV_FOLD, "--checkpoint.overwrite", "true")
    assert json.loads((RUN / "cv_fold.json").read_text())["settings"]["lr"] == 0.005


def test_an_old_split_record_is_read_back_with_a_warning_naming_what_went_unchecked(tmp_path: Path) -> None:
    from nie.core.run_settings import SETTINGS_FILE
    from nie.protocols.splits import unchecked

    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"lr": 0.005, "network": "GENI"}))
    made_with = {"lr": 0.005, "network": "GENI", "top_k": 100, "trainer.max_epochs": 2, "early_stopping.patience": 3}
    assert unchecked(tmp_path, made_with) == (
        "read back with only its folder's settings checked; not checked: early_stopping.*, top_k, trainer.*"
    )


def test_a_cv_fold_cut_short_continues_from_its_last_checkpoint(workdir: Path, monkeypatch, capsys) -> None:
    cv = ["cv", "--config", DEMO, *TINY, "--folds", "0", "--trainer.max_epochs", "3", "--out", "cv.json"]
    for folder in ("whole", "cut"):
        (workdir / folder).mkdir()
        monkeypatch.chdir(workdir / folder)
        if folder == "cut":  # the fold's run stopped after 2 of its 3 epochs, before its result was recorded
            run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "2")
        capsys.readouterr()
        run_train(*cv)
    assert f"fold 0: continuing the run cut short in {RUN}" in capsys.readouterr().out
    whole, cut = (read_json(workdir / f / "cv.json") for f in ("whole", "cut"))
    assert {k: v for k, v in cut.items() if k not in ("fit_test_seconds", "provenance")} == {
        k: v for k, v in whole.items() if k not in ("fit_test_seconds", "provenance")
    }
    assert [v.name for v in Path("runs/tensorboard").iterdir()] == ["version_0"]  # its curves go on


def _backtest_config(folder: Path, table_seed: int = 0) -> str:
    path = write_power_config(folder, make_power_table(seed=table_seed))
    config = yaml.safe_load(path.read_text())
    config["backtest"] = {"first_origin": "2020-01-30 00:00", "step": "3D", "val_span": "4D"}
    config["trainer"]["max_epochs"] = 1
    config["trainer"]["enable_progress_bar"] = False
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_backtest_rerun_with_another_configuration_isrefused_line(workdir: Path, capsys) -> None:
    config = _backtest_config(workdir / "data")
    result = (run_train("backtest", "--config", config, "--out", "bt.json"), read_json("bt.json"))[1]
    assert PROVENANCE <= set(result["provenance"]) and result["provenance"]["data"]["data_fingerprint"]
    before = _files()
    message = refused_line("backtest", "--config", config, "--trainer.max_epochs", "2")
    assert message.startswith("error: origin 2020-01-30 00:00:00: runs/backtest/power/")
    assert "holds a finished run of another configuration (cv_fold.json: trainer.max_epochs: 1 there, 2 now)" in message
    assert "--checkpoint.overwrite true" in message
    assert _files() == before
    capsys.readouterr()
    run_train("backtest", "--config", config, "--trainer.max_epochs", "2", "--checkpoint.overwrite", "true")
    assert "done earlier" not in capsys.readouterr().out
    run_train("backtest", "--config", config, "--trainer.max_epochs", "2")  # now read back
    assert capsys.readouterr().out.count("done earlier") == 3


def test_a_finished_split_is_read_back_by_its_recorded_settings(workdir: Path, capsys) -> None:
    """One identity: a cv fold's result is read back when the settings it records (the run's, its evaluation's
    and its training's) are the config's; another score's k is refused naming it; how a run shows is no part."""
    cv = ["cv", "--config", DEMO, *SHORT, "--folds", "0"]
    run_train(*cv)
    message = refused_line(*cv, "--model.init_args.top_k", "50")
    assert (
        f"fold 0: {RUN} holds a finished run of another configuration (cv_fold.json: top_k: 100 there, 50 now)"
        in message
    )
    capsys.readouterr()
    run_train(*cv, "--trainer.enable_progress_bar", "true")
    assert "fold 0: done earlier" in capsys.readouterr().out
    record = read_json(RUN / "cv_fold.json")
    assert record["settings"]["trainer.max_epochs"] == 2 and record["settings"]["lr"] == 0.005
    del record["settings"]  # a fold recorded before the settings were kept: its folder's settings are checked
    (RUN / "cv_fold.json").write_text(json.dumps({**record, "config_hash": "0" * 64}))
    with pytest.warns(UserWarning, match="recorded before splits kept their settings"):
        run_train(*cv)
    assert "fold 0: done earlier" in capsys.readouterr().out


# ------------------------------------------------------------------ #42.1: the data in the run identity
def _two_graphs(workdir: Path) -> tuple[str, Path, Path]:
    """One config over a graph folder (named ``graph`` whatever the folder), and two generated graphs."""
    first = write_synthetic_graph(workdir / "first", num_nodes=300, num_relations=4, avg_degree=8, seed=1)
    second = write_synthetic_graph(workdir / "second", num_nodes=300, num_relations=4, avg_degree=8, seed=2)
    config = yaml.safe_load(Path(DEMO).read_text())
    config["data"] = {
        "class_path": "datamodules.KnowledgeGraphDataModule",
        "init_args": {"root": str(first), "dataset": "graph", "features": ["degree"], "cache_dir": ".cache"},
    }
    config["trainer"]["max_epochs"] = 2
    path = workdir / "graph.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path), first, second


def _other_data(message: str, first: Path, second: Path) -> None:
    assert "holds a run made from other data (graph at " in message
    assert str(first.resolve()) in message and str(second.resolve()) in message
    assert message.endswith(
        "give this data its own run folders with --data.init_args.dataset NAME or --checkpoint.root DIR"
        " (see docs/runs.md)"
    )


def test_another_graph_meeting_a_run_folder_is_refused_before_anything_is_written(workdir: Path) -> None:
    from predict import main as predict_main

    config, first, second = _two_graphs(workdir)
    run_train("fit", "--config", config, *QUIET)
    run = Path("runs/geni/graph/fold0/lr0.005-heads4")
    settings = read_json(run / "settings.json")
    assert settings["data_fingerprint"] and settings["data_paths"] == {"root": str(first.resolve())}
    before = _files()
    other = ["--data.init_args.root", str(second)]
    _other_data(refused_line("fit", "--config", config, *QUIET, *other), first, second)
    _other_data(refused_line("cv", "--config", config, *QUIET, *other, "--folds", "0"), first, second)
    _other_data(refused_line("test", "--config", config, *QUIET, *other, "--ckpt_path", "best"), first, second)
    Path("other.yaml").write_text(Path(config).read_text().replace(str(first), str(second)))
    with pytest.raises(SystemExit) as raised:
        predict_main(["--ckpt", str(run / "last.ckpt"), "--config", "other.yaml", "--out", "p.csv"])
    assert str(first.resolve()) in str(raised.value) and str(second.resolve()) in str(raised.value)
    assert _files() == before and not Path("p.csv").exists()
    run_train("fit", "--config", config, *QUIET, *other, "--data.init_args.dataset", "second")  # its own folder
    assert (Path("runs/geni/second/fold0/lr0.005-heads4") / "last.ckpt").is_file()


def test_a_cv_folder_read_back_for_another_graph_isrefused_line(workdir: Path) -> None:
    config, first, second = _two_graphs(workdir)
    run_train("cv", "--config", config, *QUIET, "--folds", "0", "--out", "cv.json")
    before = _files()
    other = ["--data.init_args.root", str(second), "--folds", "0"]
    _other_data(refused_line("cv", "--config", config, *QUIET, *other), first, second)
    assert _files() == before


def test_another_series_file_meeting_a_backtest_isrefused_line(workdir: Path) -> None:
    config = _backtest_config(workdir / "first")
    other = _backtest_config(workdir / "second", table_seed=1)  # same settings, other numbers
    run_train("backtest", "--config", config)
    before = _files()
    message = refused_line("backtest", "--config", config, "--data.init_args.path", str(workdir / "second/series.csv"))
    assert (
        message.startswith("error: runs/backtest/power/") and "holds a run made from other data (series at " in message
    )
    assert str(Path(yaml.safe_load(Path(other).read_text())["data"]["init_args"]["path"]).resolve()) in message
    assert _files() == before


def test_a_folder_from_before_fingerprints_is_read_with_a_warning(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *SHORT)
    settings = read_json(RUN / "settings.json")
    del settings["data_fingerprint"], settings["data_paths"]
    (RUN / "settings.json").write_text(json.dumps(settings))
    with pytest.warns(UserWarning, match="records no data fingerprint .* cannot be checked against synthetic at "):
        run_train("test", "--config", DEMO, *SHORT, "--ckpt_path", "best")


# ------------------------------------------------------------------ #42.2: provenance in result JSONs
def test_cv_test_and_select_results_carry_their_provenance(workdir: Path) -> None:
    run_train("cv", "--config", DEMO, *SHORT, "--folds", "0", "--out", "cv.json")
    record = read_json("cv.json")["provenance"]
    assert PROVENANCE <= set(record) and record["config"]["data"]["init_args"]["num_nodes"] == 300
    assert record["data"]["data_fingerprint"] == read_json(RUN / "settings.json")["data_fingerprint"]
    assert record["versions"]["torch"] and record["machine"]["cores"] >= 1 and record["wall_seconds"] > 0
    assert (
        read_json("runs/geni/synthetic/fold0/lr0.005-heads4/cv_metrics.json")["provenance"]["commit"]
        == record["commit"]
    )
    run_train("test", "--config", DEMO, *SHORT, "--ckpt_path", "best", "--out", "test.json")
    assert PROVENANCE <= set(read_json("test.json")["provenance"])
    run_train("select", "--candidates", DEMO, *SHORT, "--folds", "0", "--out", "ranking.json")  # fold 0 read back
    selected = read_json("ranking.json")["provenance"]
    assert PROVENANCE <= set(selected) and set(selected["config"]) == {DEMO}


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
