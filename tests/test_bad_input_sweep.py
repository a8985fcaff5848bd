"""The bad-input sweep: each probe once crashed with a traceback or passed silently with a wrong result.

Graph files, power files, timestamps, and files the project writes.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datamodules.kg.features import build_features
from datamodules.kg.io import load_graph
from datamodules.power.table import Columns, parse_times, read_table, station_series
from nie.core.errors import DataError
from nie.core.io import atomic_path, write_json
from tests.conftest import run_train
from tests.power_data import make_power_table, write_power_config


# ----------------------------------------------------------------------------------- graph files
def _graph(folder: Path, scores: list[str], triples: list[str], node_id: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    header = ("node_id\t" if node_id else "") + "name\tscore\tvalid"
    rows = [(f"{i}\t" if node_id else "") + f"n{i}\t{s}\t1" for i, s in enumerate(scores)]
    (folder / "node_info.tsv").write_text("\n".join([header, *rows]) + "\n")
    with gzip.open(folder / "g_rel-all.txt.gz", "wt") as f:
        f.write("\n".join(triples) + "\n")
    return folder


@pytest.mark.parametrize("method", ["deepwalk", "spectral"])
def test_node_without_edges_gets_structural_features(tmp_path: Path, method: str) -> None:
    folder = _graph(tmp_path / "g", ["1", "2", "3", "4"], ["0\t0\t1", "1\t0\t2", "2\t0\t0"])  # node 3: no edges
    graph = load_graph(folder)
    x = build_features(
        graph, ["structural"], tmp_path / "cache", structural_dim=4, structural_epochs=1, structural_method=method
    )
    assert x.shape == (4, 4) and np.isfinite(x).all()


def test_truncated_gzip_triples_name_the_file(tmp_path: Path) -> None:
    folder = _graph(tmp_path / "g", ["1", "2"], ["0\t0\t1"] * 2000)
    path = folder / "g_rel-all.txt.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DataError, match=r"g_rel-all.txt.gz: not a complete gzip file .*truncated or not gzip"):
        load_graph(folder)


def test_gz_file_that_is_not_gzip_names_the_file(tmp_path: Path) -> None:
    folder = _graph(tmp_path / "g", ["1", "2"], ["0\t0\t1"])
    (folder / "g_rel-all.txt.gz").write_text("0\t0\t1\n")
    with pytest.raises(DataError, match=r"g_rel-all.txt.gz: not a complete gzip file"):
        load_graph(folder)


def test_empty_node_info_names_the_file(tmp_path: Path) -> None:
    folder = _graph(tmp_path / "g", ["1", "2"], ["0\t0\t1"])
    (folder / "node_info.tsv").write_text("")
    with pytest.raises(DataError, match=r"node_info.tsv: the file is empty"):
        load_graph(folder)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_score_names_line_and_field(tmp_path: Path, value: str) -> None:
    folder = _graph(tmp_path / "g", ["1", value, "3"], ["0\t0\t1"])
    with pytest.raises(
        DataError, match=rf"node_info.tsv, line 3: field 'score' = '{value}' is not a valid finite number"
    ):
        load_graph(folder)


def test_repeated_node_row_without_node_id_is_refused(tmp_path: Path) -> None:
    folder = _graph(tmp_path / "g", ["1", "2", "3"], ["0\t0\t1"], node_id=False)
    lines = (folder / "node_info.tsv").read_text().splitlines()
    (folder / "node_info.tsv").write_text("\n".join([*lines, lines[2]]) + "\n")
    with pytest.raises(DataError, match=r"node_info.tsv, line 5: the same node as line 3"):
        load_graph(folder)


# ----------------------------------------------------------------------------------- power files
def _power_csv(tmp_path: Path, table: pd.DataFrame | None = None) -> Path:
    path = tmp_path / "series.csv"
    (table if table is not None else make_power_table(days=12)).to_csv(path, index=False)
    return path


def _series(table: pd.DataFrame, **kwargs: object):
    columns = Columns("time", "station", "power", ["irradiance", "temperature"], [], [])
    return station_series(table, "series.csv", columns, "1h", **kwargs)


@pytest.mark.parametrize("damage", ["truncated", "not_gzip", "empty"])
def test_damaged_power_files_name_the_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / ("series.csv" if damage == "empty" else "series.csv.gz")
    if damage == "empty":
        path.write_text("")
    elif damage == "not_gzip":
        make_power_table(days=2).to_csv(path.with_suffix(""), index=False)
        path.write_bytes(path.with_suffix("").read_bytes())
    else:
        make_power_table(days=30).to_csv(path, index=False, compression="gzip")
        path.write_bytes(path.read_bytes()[:200])
    expected = "the file is empty" if damage == "empty" else "not a complete gzip file"
    with pytest.raises(DataError, match=rf"series.csv(.gz)?: {expected}"):
        read_table(path)


@pytest.mark.parametrize(("column", "value"), [("power", "abc"), ("power", "inf"), ("temperature", "n/a")])
def test_text_or_infinity_in_a_numeric_column_names_row_and_column(column: str, value: str) -> None:
    table = make_power_table(days=3).astype({column: object})
    table.loc[5, column] = value
    with pytest.raises(DataError, match=rf"series.csv, row 7: column '{column}' = '{value}' is not a finite number"):
        _series(table)


def test_empty_cells_stay_missing_values() -> None:
    table = make_power_table(days=3)
    table.loc[5, "power"] = np.nan
    assert np.isnan(_series(table)[0].target[5])


def test_timezone_aware_timestamps_are_converted_to_one_zone() -> None:
    table = make_power_table(days=3)
    utc = table.assign(time=table["time"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    assert _series(utc)[0].times[0] == pd.Timestamp("2020-01-01 01:00")  # one offset: its own wall clock
    berlin = _series(utc, timezone="Europe/Berlin")[0].times  # winter: UTC+1
    assert berlin[0] == pd.Timestamp("2020-01-01 02:00")


def test_mixed_utc_offsets_are_refused_unless_a_zone_is_configured() -> None:
    times = pd.Series(["2020-01-01T00:00+00:00", "2020-01-01T02:00+01:00"], name="time")
    with pytest.raises(
        DataError, match=r"row 3: column 'time' = '2020-01-01T02:00\+01:00' has another UTC offset.*data.timezone"
    ):
        parse_times(times, "series.csv")
    assert parse_times(times, "series.csv", timezone="UTC").tolist() == [
        pd.Timestamp("2020-01-01 00:00"),
        pd.Timestamp("2020-01-01 01:00"),
    ]


def test_day_first_timestamps_are_refused_not_guessed_unless_a_format_is_given() -> None:
    times = pd.Series(["12/06/2013 00:00", "13/06/2013 00:00"], name="time")
    with pytest.raises(
        DataError, match=r"row 2: column 'time' = '12/06/2013 00:00' is not an ISO 8601 timestamp.*time_format"
    ):
        parse_times(times, "series.csv")
    parsed = parse_times(times, "series.csv", time_format="%d/%m/%Y %H:%M")
    assert parsed.tolist() == [pd.Timestamp("2013-06-12"), pd.Timestamp("2013-06-13")]


def test_dropped_windows_are_counted_logged_and_saved(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    table = make_power_table()
    hole = (table["station"] == 1) & table["time"].between("2020-01-27 00:00", "2020-01-27 05:00")
    table.loc[hole, "temperature"] = np.nan  # a known covariate missing inside the validation period
    config = write_power_config(workdir / "data", table)
    with caplog.at_level("INFO"):
        run_train("fit", "--config", str(config), "--trainer.max_epochs", "1")
    assert any(
        "station 1:" in r.message
        and "val windows dropped (" in r.message
        and "with a known covariate missing" in r.message
        for r in caplog.records
    )
    report = json.loads(next(Path("runs").rglob("data_report.json")).read_text())
    val = report["val"]["1"]
    assert (
        val["dropped_missing_covariates"] > 0
        and val["windows"] + val["dropped_missing_covariates"] == val["candidates"]
    )
    assert report["val"]["2"]["dropped_missing_covariates"] == 0


def test_station_absent_from_the_test_period_is_reported(workdir: Path) -> None:
    table = make_power_table()
    table = table[(table["station"] == 1) | (table["time"] < "2020-01-31 00:00")]
    config = write_power_config(workdir / "data", table)
    with pytest.warns(UserWarning, match=r"station 2: no test window: .*absent from the test metrics"):
        run_train("fit", "--config", str(config), "--trainer.max_epochs", "1")


# ----------------------------------------------------------------------------------- written files
def test_atomic_outputs_honour_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {"a": 1})
        with atomic_path(tmp_path / "x.csv") as tmp:
            tmp.write_text("x\n")
    finally:
        os.umask(previous)
    for name in ("m.json", "x.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_a_run_writes_no_config_into_the_current_directory(workdir: Path) -> None:
    config = write_power_config(workdir / "data")
    run_train("fit", "--config", str(config), "--trainer.max_epochs", "1", "--trainer.logger", "false")
    assert not Path("config.yaml").exists()
    assert any(Path("runs").rglob("config.yaml"))


# ------------------------------------------------------------------------------ command line
def test_predict_refuses_a_file_that_is_not_a_checkpoint(workdir: Path) -> None:
    import predict
    from tests.conftest import ROOT

    with pytest.raises(SystemExit, match=r"^error: --ckpt .*README.md: not a PyTorch Lightning checkpoint"):
        predict.main(["--ckpt", str(ROOT / "README.md")])


def test_predict_on_a_run_folder_names_its_checkpoints(workdir: Path) -> None:
    from predict import main

    run = Path("runs/geni/synthetic/fold0/lr0.005-heads4")
    run.mkdir(parents=True)
    for name in ("last.ckpt", "epoch=3-val_spearman=0.9000.ckpt"):
        (run / name).touch()
    with pytest.raises(SystemExit) as stop:
        main(["--ckpt", str(run), "--out", "p.csv"])
    assert str(stop.value.code) == (
        f"error: --ckpt {run}: a folder (holding epoch=3-val_spearman=0.9000.ckpt, last.ckpt); "
        "give one checkpoint file in it"
    )
    with pytest.raises(SystemExit, match="a folder \\(holding no .ckpt file\\)"):
        main(["--ckpt", "runs", "--out", "p.csv"])
    assert not Path("p.csv").exists()


def test_train_predict_uses_the_recorded_best_checkpoint_and_writes_predictions(workdir: Path) -> None:
    config = str(write_power_config(workdir / "data"))
    with pytest.raises(SystemExit, match=r"^error: --ckpt_path best: no best checkpoint recorded"):
        run_train("predict", "--config", config, "--ckpt_path", "best")
    with pytest.raises(SystemExit, match=r"^error: predict needs --ckpt_path"):
        run_train("predict", "--config", config)
    run_train("fit", "--config", config, "--trainer.max_epochs", "1")
    versions = sorted(Path("runs/tensorboard").iterdir())
    run_train("predict", "--config", config, "--ckpt_path", "best", "--out", "forecast.csv")
    assert sorted(Path("runs/tensorboard").iterdir()) == versions  # predicting logs nothing: no new version
    table = pd.read_csv("forecast.csv")
    assert len(table) > 0 and {"station", "forecast", "actual"} <= set(table.columns)


def test_predict_resolves_a_config_that_includes_its_data_section(workdir: Path) -> None:
    import yaml

    import predict

    config_path = write_power_config(workdir / "data", network="Persistence")
    config = yaml.safe_load(config_path.read_text())
    (workdir / "data" / "data.yaml").write_text(yaml.safe_dump(config["data"]))
    config["data"] = "data.yaml"
    (workdir / "data" / "experiment.yaml").write_text(yaml.safe_dump(config))
    run_train("fit", "--config", str(workdir / "data" / "experiment.yaml"))
    ckpt = next(Path("runs").rglob("last.ckpt"))
    predict.main(["--ckpt", str(ckpt), "--config", str(workdir / "data" / "experiment.yaml"), "--out", "p.csv"])
    assert Path("p.csv").is_file()


def test_help_lists_cv_and_cv_without_arguments_says_what_it_needs(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run_train("--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "cv k-fold cross-validation" in help_text
    assert "select rank configs" in help_text and "on validation" in help_text
    with pytest.raises(SystemExit, match=r"^error: cv needs an experiment: python train.py cv --config"):
        run_train("cv")


def test_wrong_value_is_named_in_the_error(workdir: Path) -> None:
    from tests.conftest import DEMO

    with pytest.raises(SystemExit, match=r"^error: trainer.max_epochs: Expected a <class 'int'>, got 'abc'$"):
        run_train("fit", "--config", DEMO, "--trainer.max_epochs", "abc")


def test_did_you_mean_never_suggests_the_refused_name(workdir: Path) -> None:
    import yaml

    from tests.conftest import DEMO, refused_line

    Path("ensemble.yaml").write_text(yaml.safe_dump({"ensemble": {"members": [DEMO]}}))  # no data class: fit refuses
    message = refused_line("fit", "--config", "ensemble.yaml", "--data.init_args.num_nodes", "300")
    assert message.startswith("error: data: Option 'num_nodes' is not accepted")
    assert "'num_nodes' or" not in message and "mean 'num_nodes'" not in message
    assert not Path("runs").exists()


def test_a_run_that_fails_at_setup_leaves_no_tensorboard_version(workdir: Path) -> None:
    config = write_power_config(workdir / "data", val_start="2030-01-01 00:00", test_start="2030-02-01 00:00")
    with pytest.raises(SystemExit, match="^error: "):
        run_train("fit", "--config", str(config))
    assert not Path("runs/tensorboard").exists()


def test_overlap_counts_against_the_nodes_there_are() -> None:
    import torch

    from nie.importance.metrics import OverlapAtK

    metric = OverlapAtK(top_k=100)
    scores = torch.arange(30.0)
    metric.update(scores, scores)
    assert metric.compute() == 1.0  # a perfect ranking of 30 nodes, not 30 / 100


def test_runs_print_no_advertisement(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = write_power_config(workdir / "data", network="Climatology")
    with caplog.at_level("INFO"):
        run_train("fit", "--config", str(config), "--trainer.max_epochs", "1")
    assert any(r.name.startswith("lightning.pytorch") for r in caplog.records)  # Lightning's lines are seen here
    assert not any("litlogger" in r.getMessage() for r in caplog.records)


def test_baseline_configs_do_not_set_a_batch_limit_that_reads_as_a_fraction() -> None:
    import yaml

    from tests.conftest import ROOT

    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        trainer = (yaml.safe_load(path.read_text()) or {}).get("trainer") or {}
        assert trainer.get("limit_train_batches") not in (1, 1.0), path  # jsonargparse reads 1 as 1.0 = 100 %


def test_power_training_loss_is_logged_as_train_loss(workdir: Path) -> None:
    from lightning.pytorch.callbacks import Callback

    seen: set[str] = set()

    class Spy(Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            seen.update(trainer.callback_metrics)

    from nie.cli.lightning_cli import NIECLI

    cli = NIECLI(args=["--config", str(write_power_config(workdir / "data")), "--trainer.max_epochs", "1"], run=False)
    cli.trainer.callbacks.append(Spy())
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert "train/loss" in seen
    assert not any(k.startswith("train/loss_") for k in seen)


def test_tensorboard_curves_have_no_placeholder_and_no_jump_back(workdir: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tests.conftest import DEMO, TINY

    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "6")
    events = EventAccumulator(str(next(Path("runs/tensorboard").glob("version_*")))).Reload()
    val = events.Scalars("val/spearman")
    assert len(val) == 6 and all(v.value != 0.0 for v in val)  # one point per epoch, none a placeholder
    assert [v.step for v in val] == sorted(v.step for v in val)
    best = events.Scalars("best_val/spearman")
    assert len(best) == 1 and best[0].value == pytest.approx(max(v.value for v in val))
    assert len(events.Scalars("train/grad_norm")) == 6


# ------------------------------------------------------------------------------ real-data policies
def _with_negatives(table: pd.DataFrame) -> pd.DataFrame:
    night = table["time"].dt.hour == 2
    table.loc[night & (table["station"] == 1), "power"] = -0.01  # self-consumption at night
    table.loc[night & (table["station"] == 2) & (table["time"].dt.day == 3), "power"] = -0.5
    return table


def _generated_series(config: Path, **data: object):
    """A PowerDataModule on the series ``write_power_config`` wrote beside ``config``."""
    from datamodules.power.datamodule import PowerDataModule

    return PowerDataModule(
        path=str(config.parent / "series.csv"),
        val_start="2020-01-25 00:00",
        test_start="2020-02-01 00:00",
        seq_len=48,
        horizon=24,
        known_covariates=["irradiance", "temperature"],
        **data,
    )


def test_negative_power_error_names_station_and_time(workdir: Path) -> None:

    config = write_power_config(workdir / "data", _with_negatives(make_power_table()))
    dm = _generated_series(config)
    with pytest.raises(
        DataError, match=r"negative power = -0.01 at station 1, time 2020-01-01 02:00:00 .*negative_power: clip"
    ):
        dm.setup()


def test_negative_power_clip_counts_only_the_selected_stations(workdir: Path) -> None:

    config = write_power_config(workdir / "data", _with_negatives(make_power_table()))
    make = functools.partial(_generated_series, config)
    dm = make(stations=["1"], negative_power="clip", negative_tolerance=0.05)
    dm.setup()  # station 2's −0.5 is below the tolerance, but station 2 is not selected
    assert dm.negative_clipped == {"1": 40} and dm.data_report["negative_clipped"] == {"1": 40}
    assert np.nanmin(dm.series[0].target) >= 0
    with pytest.raises(DataError, match=r"negative power = -0.5 at station 2.*below data.negative_tolerance = 0.05"):
        make(negative_power="clip", negative_tolerance=0.05).setup()
    clip_all = make(negative_power="clip")
    clip_all.setup()
    assert clip_all.negative_clipped == {"1": 40, "2": 2}


def test_static_columns_reach_the_network(workdir: Path) -> None:
    import torch

    from datamodules.common import already_batched
    from nie.forecasting.models import LSTMForecaster

    table = make_power_table()
    table["elevation"] = table["station"].map({1: 100.0, 2: 900.0})
    config = write_power_config(workdir / "data", table)
    dm = _generated_series(config, static_columns=["elevation"])
    dm.setup()
    assert dm.spec.static == [[-1.0], [1.0]]  # standardised across stations
    torch.manual_seed(0)
    net = LSTMForecaster(dm.spec).eval()
    batch = already_batched(dm.datasets["val"].__getitems__(list(range(4))))
    with torch.no_grad():
        before = net(batch)
        net.static.mul_(-1)  # the same network, the stations' static values swapped
        after = net(batch)
    assert not torch.allclose(before, after)
    assert "static" not in net.state_dict()  # rebuilt from the data: checkpoints from before still load
