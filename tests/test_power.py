"""Power forecasting on generated series: windows, splits, transforms, baselines, CLI and bad input."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from datamodules.power.datamodule import PowerDataModule
from datamodules.power.features import deaccumulate
from datamodules.power.windows import window_census
from nie.core.errors import ConfigError, DataError
from nie.forecasting import LSTMForecaster, Persistence
from nie.forecasting.models import with_neighbours
from nie.forecasting.spec import PowerBatch, forward_target, inverse_target
from tests.conftest import read_json, run_train
from tests.power_data import make_power_table, write_power_config


def _datamodule(tmp_path: Path, table: pd.DataFrame | None = None, **data) -> PowerDataModule:
    config = write_power_config(tmp_path, table, **data)
    dm = PowerDataModule(**yaml.safe_load(config.read_text())["data"]["init_args"])
    dm.setup()
    return dm


def _locate(dataset, index: int) -> tuple[int, int]:
    """(station, start) of window ``index``."""
    return int(np.searchsorted(dataset.offsets, index, side="right") - 1), int(dataset.flat_starts[index])


def _target_times(dm: PowerDataModule, stage: str) -> list[tuple[int, pd.Timestamp]]:
    ds, out = dm.datasets[stage], []
    for i in range(len(ds)):
        station, start = _locate(ds, i)
        t0 = start + dm.hparams.seq_len
        out += [(station, t) for t in dm.series[station].times[t0 : t0 + dm.hparams.horizon]]
    return out


def test_window_counts_follow_stride(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path, stride=6)
    times = dm.series[0].times
    end = int(np.searchsorted(times, pd.Timestamp("2020-01-25 00:00")))
    expected = len(range(0, end - 48 - 24 + 1, 6))
    assert len(dm.datasets["train"]) == 2 * expected
    loader = dm.train_dataloader()
    assert len(loader) == len(dm.datasets["train"]) // 16  # drop_last
    dm.hparams.drop_last = False
    assert len(dm.train_dataloader()) == -(-len(dm.datasets["train"]) // 16)


def test_splits_never_share_target_hours_and_cover_val_and_test(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    sets = {stage: set(_target_times(dm, stage)) for stage in ("train", "val", "test")}
    assert not sets["train"] & sets["val"] and not sets["val"] & sets["test"] and not sets["train"] & sets["test"]
    assert max(t for _, t in sets["train"]) < pd.Timestamp("2020-01-25") <= min(t for _, t in sets["val"])
    for stage, lo, hi in (("val", "2020-01-25 00:00", "2020-02-01 00:00"), ("test", "2020-02-01 00:00", None)):
        times = dm.series[0].times
        wanted = times[(times >= pd.Timestamp(lo)) & ((times < pd.Timestamp(hi)) if hi else True)]
        covered = {t for s, t in sets[stage] if s == 0}
        assert len(covered) >= len(wanted) - dm.hparams.horizon + 1  # every hour but a final partial day


def test_val_windows_take_history_from_before_the_split(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    station, start = _locate(dm.datasets["val"], 0)
    times = dm.series[station].times
    assert times[start] < pd.Timestamp("2020-01-25") <= times[start + dm.hparams.seq_len]


def test_scalers_use_the_training_period_only(tmp_path: Path) -> None:
    table = make_power_table()
    late = pd.to_datetime(table["time"]) >= pd.Timestamp("2020-01-25")
    table.loc[late, "temperature"] += 1000.0  # a shift only after the training period
    dm = _datamodule(tmp_path, table)
    train = np.asarray(dm.series[0].times < pd.Timestamp("2020-01-25"))
    mean = dm.scalers["1"]["covariates"][0]
    assert mean[1] == pytest.approx(np.nanmean(dm.series[0].known[train, 1]))
    assert mean[1] < 100


def test_scalers_travel_with_the_checkpoint(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    torch.save(dm.state_dict(), tmp_path / "state.pt")
    state = torch.load(tmp_path / "state.pt")
    shifted = make_power_table(seed=3).assign(power=lambda t: t["power"] * 3 + 1)  # other statistics

    def scaled_target(module: PowerDataModule) -> np.ndarray:
        return module.datasets["train"].stations[0].history[:, 0]

    set_up = _datamodule(tmp_path / "set_up", shifted)  # loaded after setup: its arrays are rebuilt
    own = scaled_target(set_up).copy()
    set_up.load_state_dict(state)
    loaded = PowerDataModule(
        **yaml.safe_load(write_power_config(tmp_path / "loaded", shifted).read_text())["data"]["init_args"]
    )
    loaded.load_state_dict(state)  # loaded before setup (predict): setup keeps the checkpoint's scalers
    loaded.setup()
    mean, std = dm.scalers["1"]["target"]
    target = set_up.series[0].target
    expected = np.where(np.isfinite(target), (target - mean[0]) / std[0], 0.0)
    for module in (set_up, loaded):
        assert module.scalers == dm.scalers
        np.testing.assert_allclose(scaled_target(module), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(own, expected, atol=1e-3)  # its own scalers would have scaled otherwise


def test_log1p_round_trip_is_exact() -> None:
    values = torch.tensor([0.0, 1e-8, 0.3, 5.0, 1234.5], dtype=torch.float64)
    torch.testing.assert_close(
        inverse_target(forward_target(values, "log1p"), "log1p"), values, rtol=1e-15, atol=0
    )  # to one ulp
    assert inverse_target(forward_target(torch.tensor([1e-10]), "log1p"), "log1p").item() > 0  # expm1, not exp - 1


def test_deaccumulation_restarts_each_run() -> None:
    times = pd.date_range("2020-01-01 22:00", periods=6, freq="1h")  # 22, 23, 00, 01 (restart), 02, 03
    accumulated = np.array([10.0, 15.0, 21.0, 4.0, 9.0, 9.0])
    np.testing.assert_array_equal(deaccumulate(accumulated, times, 1)[1:], [5.0, 6.0, 4.0, 5.0, 0.0])
    assert np.isnan(deaccumulate(accumulated, times, 1)[0])  # started mid-run: unknown


def test_lstm_forecasts_are_never_negative(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    net = LSTMForecaster(dm.spec)
    with torch.no_grad():
        for p in net.decoder[-1].parameters():
            p.fill_(-50.0)  # push the pre-activation far below zero
        batch = next(iter(dm.val_dataloader()))
        assert (net(batch) >= 0).all()


def test_persistence_equals_the_previous_day(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    window = dm.datasets["test"][3]  # a batch of that one window
    station, start = _locate(dm.datasets["test"], 3)
    t0 = start + dm.hparams.seq_len
    by_hand = dm.series[station].target[t0 - 24 : t0 - 24 + dm.hparams.horizon]
    assert len(window) == 1 and not np.isnan(by_hand).any()
    np.testing.assert_allclose(window.persistence[0].numpy(), by_hand, rtol=1e-6)
    forecast = Persistence(dm.spec)(window)
    np.testing.assert_allclose(forecast[0].numpy(), by_hand, rtol=1e-6)


def test_missing_known_covariates_drop_windows(tmp_path: Path) -> None:
    table = make_power_table()
    hole = (table["station"] == 1) & (pd.to_datetime(table["time"]) == pd.Timestamp("2020-02-03 12:00"))
    table.loc[hole, "temperature"] = np.nan
    dm = _datamodule(tmp_path, table)
    days = {(station, t.normalize()) for station, t in _target_times(dm, "test")}
    # the hole is in the forecast hours of 3 February's windows and the 48 h history of the next two days'
    for day in ("2020-02-03", "2020-02-04", "2020-02-05"):
        assert (0, pd.Timestamp(day)) not in days and (1, pd.Timestamp(day)) in days
    assert (0, pd.Timestamp("2020-02-02")) in days and (0, pd.Timestamp("2020-02-06")) in days


def test_fit_test_predict_through_the_cli(workdir: Path) -> None:
    from predict import main as predict_main

    config = str(write_power_config(workdir / "data"))
    run_train("fit", "--config", config)
    run_train("test", "--config", config, "--ckpt_path", "best", "--out", "metrics.json")
    metrics = read_json("metrics.json")
    assert {"test/rmse", "test/mae", "test/skill", "test/nrmse", "test/station_1/rmse", "test/station_2/rmse"} <= set(
        metrics
    )
    checkpoint = next(Path("runs/lstm/series").glob("lr0.005/epoch=*.ckpt"))
    predict_main(["--ckpt", str(checkpoint), "--out", "forecast.csv"])
    table = pd.read_csv("forecast.csv")
    assert list(table.columns) == ["station", "issue_time", "target_time", "horizon_step", "forecast", "actual"]
    assert (table["forecast"] >= 0).all() and set(table["horizon_step"]) == set(range(1, 25))
    assert Path("forecast.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("mutate", "data", "message"),
    [
        (lambda t: t.drop(columns=["temperature"]), {}, r"missing column\(s\) \['temperature'\]"),
        (
            lambda t: t.assign(time=t["time"].astype(str).where(t.index != 5, "yesterday")),
            {},
            r"row 7: column 'time' = 'yesterday'",
        ),
        (lambda t: pd.concat([t, t.iloc[[10]]]), {}, r"duplicated timestamp 2020-01-01 11:00:00 for station 1"),
        (lambda t: t.assign(power=t["power"].where(t.index != 30, -0.5)), {}, r"negative power = -0.5 at station 1"),
        (
            lambda t: t,
            {"seq_len": 900, "horizon": 100},
            r"station '1' has 960 steps, fewer than seq_len \+ horizon = 1000",
        ),
        (lambda t: t, {"test_start": "2020-02-09 12:00"}, r"the test split .* has no complete window"),
    ],
)
def test_bad_series(tmp_path: Path, mutate, data, message) -> None:
    with pytest.raises(DataError, match=message):
        _datamodule(tmp_path, mutate(make_power_table()), **data)


def test_window_starts_mask_mode_keeps_partly_missing_targets(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    arrays = dm.datasets["train"].stations[0]
    arrays.target[100] = np.nan
    drop = window_census(arrays, 48, 24, 0, 500, 1, "drop").starts
    mask = window_census(arrays, 48, 24, 0, 500, 1, "mask").starts
    assert len(mask) > len(drop) and not any(s + 48 <= 100 < s + 72 for s in drop)


def test_batched_gather_slices_each_window_from_its_station(tmp_path: Path) -> None:
    table = make_power_table()
    table.loc[(table["station"] == 2) & (table.index % 97 == 0), "power"] = np.nan  # some missing targets
    dm = _datamodule(tmp_path, table, missing="mask")
    dataset = dm.datasets["train"]
    partly_missing = next(i for i in range(len(dataset)) if not dataset[i].mask.all())
    indices = [0, 7, len(dataset) - 1, 3, partly_missing]  # mixes both stations
    batch = dataset.__getitems__(indices)
    assert isinstance(batch, PowerBatch) and len(batch) == len(indices)
    assert set(batch.station.tolist()) == {0, 1} and not batch.mask.all()
    for row, i in enumerate(indices):
        station, start = _locate(dataset, i)
        a, t0 = dataset.stations[station], start + 48
        forecast_hours = slice(t0, t0 + 24)
        expected = {
            "history": a.history[start:t0],
            "future": a.future[forecast_hours],
            "target": np.nan_to_num(a.target[forecast_hours]),
            "raw_target": np.nan_to_num(dm.series[station].target[forecast_hours]),
            "persistence": np.nan_to_num(a.raw_target[t0 - 24 : t0]),  # horizon = one day
            "month": a.month[forecast_hours],
            "hour": a.hour[forecast_hours],
            "mask": np.isfinite(a.target[forecast_hours]),
            "station": station,
            "index": i,
        }
        for name, value in expected.items():
            np.testing.assert_allclose(getattr(batch, name)[row].numpy(), value, rtol=1e-6, err_msg=name)
        single = dataset[i]
        for field in fields(PowerBatch):
            torch.testing.assert_close(getattr(single, field.name)[0], getattr(batch, field.name)[row])


def test_power_batches_move_to_a_device_the_way_lightning_moves_them(tmp_path: Path) -> None:
    from lightning.pytorch.utilities.data import extract_batch_size

    dm = _datamodule(tmp_path)
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, PowerBatch) and extract_batch_size(batch) == len(batch) == 16
    meta = torch.device("meta")  # a device other than the CPU that every machine has
    for moved in (dm.transfer_batch_to_device(batch, meta, 0), batch.to(meta)):
        assert isinstance(moved, PowerBatch)
        for field in fields(PowerBatch):
            before, after = getattr(batch, field.name), getattr(moved, field.name)
            assert after.device == meta and (after.dtype, after.shape) == (before.dtype, before.shape), field.name
    assert batch.history.device.type == "cpu"  # the original stays where it was


def test_power_forecasting_runs_without_dgl(workdir: Path) -> None:
    """Forecasting users need not install DGL: a fit in a process where ``import dgl`` fails."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    config = write_power_config(workdir / "data")
    script = (
        "import sys; sys.modules['dgl'] = None; sys.path.insert(0, sys.argv[1]); from train import main; "
        "main(['fit', '--config', sys.argv[2], '--trainer.max_epochs', '1'])"
    )  # whether DGL is merely never loaded is tests/test_dgl_lazy.py's check
    done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(Path("runs/lstm/series").glob("lr0.005/epoch=*.ckpt"))


def test_future_context_lets_a_step_read_its_neighbouring_hours() -> None:
    future = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    assert torch.equal(with_neighbours(future, 0), future)
    wide = with_neighbours(future, 2)
    assert wide.shape == (2, 5, 15)
    torch.testing.assert_close(wide[:, 2], future[:, 0:5].reshape(2, 15))  # hours 0..4 around hour 2
    torch.testing.assert_close(wide[:, 0, :3], future[:, 0])  # before the first hour: the first repeated
    torch.testing.assert_close(wide[:, 4, -3:], future[:, 4])  # after the last hour: the last repeated


@pytest.mark.parametrize("context,changes", [(0, False), (1, True)])
def test_decoder_sees_the_next_hour_only_with_context(tmp_path: Path, context: int, changes: bool) -> None:
    dm = PowerDataModule(**yaml.safe_load(write_power_config(tmp_path).read_text())["data"]["init_args"])
    dm.setup()
    torch.manual_seed(0)
    net = LSTMForecaster(dm.spec, future_context=context).eval()
    batch = next(iter(dm.val_dataloader()))
    moved = replace(batch, future=batch.future.clone())
    moved.future[:, 6] += 5.0  # another forecast for hour 6 only
    with torch.no_grad():
        before, after = net(batch), net(moved)
    assert not torch.equal(before[:, 6], after[:, 6])
    assert torch.equal(before[:, 4], after[:, 4])  # two hours away: out of reach for k <= 1
    assert torch.equal(before[:, 5], after[:, 5]) != changes
    with pytest.raises(ConfigError, match="future_context must be >= 0"):
        LSTMForecaster(dm.spec, future_context=-1)


def test_baselines_refuse_data_without_training_series() -> None:
    import lightning.pytorch as pl

    from nie.forecasting.spec import PowerSpec

    with pytest.raises(ConfigError, match=r"^the Persistence baseline needs power data .*got LightningDataModule$"):
        Persistence(PowerSpec(num_stations=1, history_dim=3, future_dim=2, horizon=24)).fit(pl.LightningDataModule())


@pytest.mark.parametrize("target_history", [True, False])
def test_without_target_history_no_input_reads_observed_power(tmp_path: Path, target_history: bool) -> None:
    table = make_power_table()
    other = table.assign(power=table["power"].to_numpy()[::-1])  # the same weather, other power
    inputs = []
    for name, frame in (("a", table), ("b", other)):
        dm = _datamodule(tmp_path / name, frame, target_history=target_history)
        inputs.append(np.concatenate([a.history for a in dm.datasets["test"].stations]))
        assert dm.spec.history_dim == inputs[-1].shape[1]
    assert inputs[0].shape[1] == (2 if target_history else 0) + 2 + 4  # (target, flag,) 2 covariates, 4 calendar
    assert np.array_equal(inputs[0], inputs[1]) != target_history


def test_repeated_timestamps_are_parsed_once_and_errors_name_the_first_line() -> None:
    from datamodules.power.table import parse_times

    text = pd.Series(["2020-01-01 01:00", "2020-01-01 02:00", "2020-01-01 01:00", "soon", "2020-01-01 02:00"] * 2)
    with pytest.raises(DataError, match=r"series.csv, row 5: column 'None' = 'soon' is not an ISO 8601"):
        parse_times(text, "series.csv")
    good = text[text != "soon"].reset_index(drop=True)
    assert parse_times(good, "series.csv").tolist() == [pd.Timestamp(t) for t in good]


def test_only_the_named_columns_are_read(tmp_path: Path) -> None:
    from datamodules.power.table import read_table

    path = tmp_path / "series.csv"
    make_power_table().assign(notes="free text, never parsed").to_csv(path, index=False)
    assert list(read_table(path, ["time", "station", "power"]).columns) == ["time", "station", "power"]
    assert "notes" in read_table(path).columns


def test_a_column_named_twice_is_read_once(tmp_path: Path) -> None:
    table = make_power_table()
    table = table.assign(cap=table["station"] * 10.0, area=table["station"] * 3.0)
    dm = _datamodule(tmp_path, table, static_columns=["cap", "area"], capacity_column="cap")
    assert [dm._station_scaler(s.station)["static"] for s in dm.series] == [[10.0, 3.0, 10.0], [20.0, 6.0, 20.0]]


def test_target_history_off_refuses_past_covariates(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.past_covariates \\['temperature'\\] are observations too"):
        _datamodule(tmp_path, target_history=False, known_covariates=["irradiance"], past_covariates=["temperature"])
