"""The LightGBM quantile forecaster on generated series: the CLI's fit, test, backtest and predict, monotone
non-negative levels, night by geometry, recalibration on validation only, kept forecasts rescored."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nie.core.errors import ConfigError
from nie.forecasting.calibration import coverage, interpolate_levels, recalibrated_levels
from tests.conftest import ROOT, SHARED_DATA, read_json, run_train
from tests.power_data import make_power_table, write_power_config

TABLES = ROOT / "bench" / "tables.py"  # its --rescore and --gefcom, run as a user runs them
LEVELS = [0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95]
SOLAR = {"site": {"latitude": 0.0, "longitude": 0.0}, "features": ["cos_zenith", "clear_sky"], "night_elevation": 0.0}


def _config(folder: Path, table: pd.DataFrame | None = None, **network: object) -> str:
    path = write_power_config(folder, table, network="LightGBMQuantiles", solar=SOLAR, neighbour_hours=1)
    config = yaml.safe_load(path.read_text())
    config["model"]["init_args"].update(loss="pinball", quantiles=LEVELS)
    args = {"n_estimators": 15, "num_threads": 1, "trained_levels": [0.1, 0.5, 0.9], **network}
    config["model"]["init_args"]["network"]["init_args"] = args
    config["trainer"]["max_epochs"] = 1
    config["backtest"] = {"first_origin": "2020-01-30 00:00", "step": "3D", "val_span": "4D"}
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_interpolation_reads_between_trained_levels_and_flat_beyond() -> None:
    values = np.array([[1.0, 2.0, 4.0]])
    out = interpolate_levels(values, np.array([0.1, 0.5, 0.9]), np.array([0.05, 0.3, 0.7, 0.95]))
    assert out.tolist() == [[1.0, 1.5, 3.0, 4.0]]


def test_recalibration_reads_the_level_whose_measured_coverage_is_nominal() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(size=20000)
    trained = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    too_narrow = np.quantile(actual, [0.2, 0.4, 0.5, 0.6, 0.8])[None, :].repeat(len(actual), 0)
    measured = coverage(too_narrow, actual)
    read = recalibrated_levels(measured, trained, np.array([0.2, 0.5, 0.8]))
    assert read == pytest.approx([0.1, 0.5, 0.9], abs=0.01)


def test_fit_test_predict_through_the_cli(workdir: Path) -> None:
    pytest.importorskip("lightgbm")
    from predict import main as predict_main

    config = _config(workdir / "data")
    run_train("fit", "--config", config)
    run_train("test", "--config", config, "--ckpt_path", "best", "--out", "metrics.json")
    metrics = read_json("metrics.json")
    assert metrics["test/pinball"] < 0.05 and metrics["test/skill"] > 0
    checkpoint = next(Path("runs").glob("lightgbm/series/**/epoch=*.ckpt"))
    predict_main(["--ckpt", str(checkpoint), "--out", "forecast.csv"])
    table = pd.read_csv("forecast.csv")
    levels = table[[f"q{q:g}" for q in LEVELS]].to_numpy()
    assert (levels >= 0).all() and (np.diff(levels, axis=1) >= 0).all()
    night = pd.to_datetime(table["target_time"]).dt.hour.isin([0, 1, 2, 3, 4, 22, 23])
    assert (levels[night.to_numpy()] == 0).all() and levels[~night.to_numpy()].max() > 0.3


def tables(*args: str | Path) -> list[list[str]]:
    """``python bench/tables.py ARGS``'s output lines, split into cells (``|``-rows) or words."""
    done = subprocess.run([sys.executable, str(TABLES), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else line.split() for line in lines]


def test_backtest_keeps_forecasts_that_rescore_to_its_metrics(workdir: Path) -> None:
    pytest.importorskip("lightgbm")
    run_train("backtest", "--config", _config(workdir / "data"), "--out", "bt.json")
    result = read_json("bt.json")
    assert len(result["forecasts"]) == len(result["origins"]) == 3
    for path in result["forecasts"]:
        table = pd.read_csv(path)
        assert {"station", "origin", "target_time", "actual", "q0.05", "q0.95"} <= set(table.columns)
    rescored = tables("--rescore", "bt.json")  # bt ORIGIN pinball P reliability_gap G, to the digits printed
    assert [line[1] for line in rescored] == [origin[:10] for origin in result["origins"]]
    folds = result["metrics"]
    assert [float(line[3]) for line in rescored] == pytest.approx(folds["pinball"]["folds"], abs=5e-6)
    assert [float(line[5]) for line in rescored] == pytest.approx(folds["reliability_gap"]["folds"], abs=5e-4)


def test_recalibration_never_reads_a_test_target(workdir: Path) -> None:
    pytest.importorskip("lightgbm")
    import torch

    table = make_power_table()
    changed = table.assign(power=table["power"].where(pd.to_datetime(table["time"]) < "2020-02-01", 0.99))
    read = []
    for name, data in (("same", table), ("other_test", changed)):
        config = _config(workdir / name, data, calibration="levels")
        run_train("fit", "--config", config, "--checkpoint.root", f"runs_{name}")
        checkpoint = next(Path(f"runs_{name}").glob("**/epoch=*.ckpt"))
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
        read.append(state["network._extra_state"]["read_levels"])
    assert read[0] == read[1] and read[0] != LEVELS  # fitted on validation, blind to the test period


def test_a_missing_lightgbm_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from nie.forecasting.gbdt import lightgbm

    real_import = importlib.import_module

    def without_lightgbm(name: str, package: str | None = None):
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", without_lightgbm)
    with pytest.raises(ConfigError, match=r'needs lightgbm, which is not installed: pip install -e "\.\[gbdt\]"'):
        lightgbm()


def test_the_competition_rating_weights_later_tasks_more(tmp_path: Path) -> None:
    board, backtest = tmp_path / "leaderboard.csv", tmp_path / "bt.json"
    board.write_text("team,t4,t5\nBenchmark - Solar,1.0,1.0\nfirst,0.5,0.2\nmissing,0.5,\n")
    backtest.write_text(json.dumps({"metrics": {"pinball": {"folds": [0.2, 0.5]}}}))
    header, _, *tasks, mean, last, rating = tables("--gefcom", board, backtest)
    assert header == ["task", "bt", "first", "benchmark"]  # a team without every task is not rated
    assert tasks == [["4", "0.20000", "0.50000", "1.00000"], ["5", "0.50000", "0.20000", "1.00000"]]
    # skills weighted 1 and 2: (0.8 + 2 * 0.5) / 3 and (0.5 + 2 * 0.8) / 3 (unweighted: 0.65 both)
    assert rating == ["rating", "0.600", "0.700", "0.000"]


def test_the_rating_reproduces_the_leaderboards_winner(tmp_path: Path) -> None:
    path = SHARED_DATA / "power/gefcom2014_solar/leaderboard_solar.csv"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    backtest = tmp_path / "bt.json"
    backtest.write_text(json.dumps({"metrics": {"pinball": {"folds": [0.02] * 12}}}))
    header, *_, rating = tables("--gefcom", path, backtest)
    assert header[2] == "Gang-gang" and rating[2] == "0.681"  # 0.6807 (the organisers' figure) to 3 decimals
