"""The project's LSTM, NeuralForecast's LSTM and NHITS, and PyTorch Forecasting's DeepAR and
TemporalFusionTransformer on exactly the same split, inputs and scaling.

Three steps, because NeuralForecast needs a newer PyTorch than the project's pinned stack (a separate
virtual environment beside the project: ``bench/peers-requirements.txt``, BENCHMARKS.md); PyTorch
Forecasting installs beside it (``pip install -e ".[peers]"``):

    # 1. project venv: the datamodule's own series, scaled covariates and test windows
    python bench/power_peers.py export --config configs/gefcom2014/lstm.yaml --out runs/peers/data
    # 2. each model, timed, with its peak memory (the project's LSTM from the project venv,
    #    the peers from the peers venv)
    python bench/power_peers.py run --data runs/peers/data --model nie-lstm --out runs/peers/nie-lstm.json
    ../peers-venv/bin/python bench/power_peers.py run --data runs/peers/data --model nf-lstm --out ...
    python bench/power_peers.py run --data runs/peers/data --model pf-deepar --out runs/peers/pf-deepar.json
    # 3. one table
    python bench/power_peers.py table runs/peers/*.json

Inputs everywhere: 168 h of history, the NWP fields (de-accumulated, standardised on the training
period) and calendar terms as known-future covariates, a direct 24 h horizon, power in its own
units (no per-window scaler). Scores: the test windows the project scores (issued at the same
hours, dropped where the project drops them), RMSE and MAE of the point (median) forecast clipped
at 0, and the mean pinball loss over the deciles where the model forecasts quantiles.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


# ------------------------------------------------------------------------------------------ export
def export(config: str, overrides: list[str], out: Path) -> None:
    """Series, covariates and the scored windows, from the project's datamodule (project venv)."""
    sys.path.insert(0, str(ROOT))
    from nie.cli.lightning_cli import NIECLI

    cli = NIECLI(args=["--config", config, *overrides], run=False)
    dm = cli.datamodule
    dm.setup()
    h = dm.hparams
    frames, windows = [], []
    for series, arrays in zip(dm.series, dm.datasets["train"].stations):
        covariates = pd.DataFrame(arrays.future, columns=[f"f{i}" for i in range(arrays.future.shape[1])])
        frames.append(
            pd.concat(
                [
                    pd.DataFrame(
                        {"unique_id": series.station, "ds": series.times.tz_localize(None), "y": arrays.raw_target}
                    ),
                    covariates,
                ],
                axis=1,
            )
        )
    for stage in ("val", "test"):
        dataset = dm.datasets[stage]
        for station, (series, starts) in enumerate(zip(dm.series, dataset.starts)):
            issue = series.times[starts + h.seq_len - 1].tz_localize(None)
            windows.append(pd.DataFrame({"unique_id": series.station, "cutoff": issue, "split": stage}))
    out.mkdir(parents=True, exist_ok=True)
    pd.concat(frames).to_csv(out / "series.csv.gz", index=False)
    pd.concat(windows).to_csv(out / "windows.csv", index=False)
    meta = {
        "config": config,
        "overrides": overrides,
        "input_size": h.seq_len,
        "horizon": h.horizon,
        "val_start": h.val_start,
        "test_start": h.test_start,
        "test_end": h.test_end,
        "futr": [c for c in frames[0].columns if c.startswith("f")],
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {out}: {sum(len(f) for f in frames)} rows, {len(windows)} window sets")


# ----------------------------------------------------------------------------------------- scoring
def score(forecasts: pd.DataFrame, levels: list[float]) -> dict[str, float]:
    """RMSE, MAE (of ``point``) and mean pinball (of ``q<level>`` columns) over present targets."""
    present = forecasts["y"].notna()
    f = forecasts[present]
    error = f["point"].clip(lower=0) - f["y"]
    scores = {"rmse": float(np.sqrt((error**2).mean())), "mae": float(error.abs().mean()), "hours": int(len(f))}
    if levels:
        q = np.stack([f[f"q{level:g}"].clip(lower=0).to_numpy() for level in levels], axis=1)
        diff = f["y"].to_numpy()[:, None] - q
        tau = np.asarray(levels)[None, :]
        scores["pinball"] = float(np.maximum(tau * diff, (tau - 1) * diff).mean())
        scores["coverage_80"] = float(((f["y"] >= f["q0.1"].clip(lower=0)) & (f["y"] <= f["q0.9"])).mean())
    return scores


def run_project(data: Path, quantile: bool) -> tuple[pd.DataFrame, list[float]]:
    """The project's LSTM: ``train.py fit`` then ``predict`` of the test period (its own venv)."""
    meta = json.loads((data / "meta.json").read_text())
    config = meta["config"] if not quantile else str(Path(meta["config"]).with_name("lstm_quantile.yaml"))
    args = ["--config", config, *meta["overrides"]]
    subprocess.run([sys.executable, str(ROOT / "train.py"), "fit", *args], check=True)
    out = data / f"nie-{'quantile' if quantile else 'lstm'}-forecast.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "predict", *args, "--ckpt_path", "best", "--out", str(out)], check=True
    )
    table = pd.read_csv(out, parse_dates=["issue_time", "target_time"])
    table = table.rename(
        columns={
            "station": "unique_id",
            "issue_time": "cutoff",
            "target_time": "ds",
            "forecast": "point",
            "actual": "y",
        }
    )
    table["unique_id"] = table["unique_id"].astype(str)
    return table, DECILES if quantile else []


def neuralforecast_inputs(data: Path, meta: dict) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """The series cut to whole forecast days, the windows, and the validation and test lengths in hours."""
    series = pd.read_csv(data / "series.csv.gz", parse_dates=["ds"])
    series["unique_id"] = series["unique_id"].astype(str)
    series["y"] = series["y"].fillna(0.0)  # missing hours are left out of the scores below
    windows = pd.read_csv(data / "windows.csv", parse_dates=["cutoff"])
    windows["unique_id"] = windows["unique_id"].astype(str)
    test_start, horizon = pd.Timestamp(meta["test_start"]), meta["horizon"]
    # whole forecast days only (a window needs all its hours): NeuralForecast's windows then issue
    # at the project's issue times, and test_size - h is a multiple of the step
    days = (pd.Timestamp(meta["test_end"]) - test_start) // pd.Timedelta(hours=horizon)
    series = series[series["ds"] < test_start + days * pd.Timedelta(hours=horizon)]
    val_hours = int((test_start - pd.Timestamp(meta["val_start"])) / pd.Timedelta("1h"))
    test_hours = int(series.groupby("unique_id")["ds"].apply(lambda d: (d >= test_start).sum()).min())
    return series, windows, val_hours, test_hours


def run_neuralforecast(data: Path, model: str, quantile: bool, max_steps: int) -> tuple[pd.DataFrame, list[float]]:
    """NeuralForecast's LSTM or NHITS: fit on the training period (validation period for early
    stopping), forecast every test window with the same history and covariates."""
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE, MQLoss
    from neuralforecast.models import LSTM, NHITS

    meta = json.loads((data / "meta.json").read_text())
    series, windows, val_hours, test_hours = neuralforecast_inputs(data, meta)
    common = dict(
        h=meta["horizon"],
        input_size=meta["input_size"],
        futr_exog_list=meta["futr"],
        max_steps=max_steps,
        early_stop_patience_steps=5,
        val_check_steps=100,
        scaler_type="identity",
        random_seed=0,
        loss=MQLoss(quantiles=DECILES) if quantile else MSE(),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    network = LSTM(**common) if model == "lstm" else NHITS(**common)
    forecaster = NeuralForecast(models=[network], freq="h")
    forecasts = forecaster.cross_validation(
        series, val_size=val_hours, test_size=test_hours, step_size=meta["horizon"], n_windows=None
    )
    name = type(network).__name__
    if quantile:
        forecasts = forecasts.rename(columns=lambda c: _level_column(c, name))
        forecasts["point"] = forecasts["q0.5"]
    else:
        forecasts = forecasts.rename(columns={name: "point"})
    forecasts = forecasts.drop(columns="y").merge(
        pd.read_csv(data / "series.csv.gz", parse_dates=["ds"]).assign(unique_id=lambda d: d["unique_id"].astype(str))[
            ["unique_id", "ds", "y"]
        ],
        on=["unique_id", "ds"],
    )
    scored = windows[windows["split"] == "test"][["unique_id", "cutoff"]]
    return forecasts.merge(scored, on=["unique_id", "cutoff"]), DECILES if quantile else []


def issued_like_the_project(training, frame: pd.DataFrame, first: int, windows: pd.DataFrame, stage: str, index_of):
    """PyTorch Forecasting windows of ``stage`` issued at the project's issue times only (one per day,
    not per hour)."""
    from pytorch_forecasting import TimeSeriesDataSet

    dataset = TimeSeriesDataSet.from_dataset(training, frame, min_prediction_idx=first, stop_randomization=True)
    chosen = windows[windows["split"] == stage]
    starts = set(zip(chosen["unique_id"], chosen["cutoff"].map(index_of) + 1))
    return dataset.filter(
        lambda index: [(g, t) in starts for g, t in zip(index["unique_id"], index["time_idx_first_prediction"])]
    )


def pytorch_forecasting_data(data: Path, model: str) -> dict:
    """The training, validation and test datasets, the windows, the observed hours and the time origin."""
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data.encoders import TorchNormalizer

    meta = json.loads((data / "meta.json").read_text())
    series = pd.read_csv(data / "series.csv.gz", parse_dates=["ds"])
    series["unique_id"] = series["unique_id"].astype(str)
    observed = series[["unique_id", "ds", "y"]].copy()
    series["y"] = series["y"].fillna(0.0)  # missing hours are left out of the scores below
    origin = series["ds"].min()
    series["time_idx"] = ((series["ds"] - origin) / pd.Timedelta("1h")).astype(int)
    index_of = lambda when: int((pd.Timestamp(when) - origin) / pd.Timedelta("1h"))  # noqa: E731
    val_start, test_start = index_of(meta["val_start"]), index_of(meta["test_start"])
    horizon, history = meta["horizon"], meta["input_size"]
    training = TimeSeriesDataSet(
        series[series["time_idx"] < val_start],
        time_idx="time_idx",
        target="y",
        group_ids=["unique_id"],
        max_encoder_length=history,
        min_encoder_length=history,
        max_prediction_length=horizon,
        min_prediction_length=horizon,
        time_varying_known_reals=meta["futr"],
        time_varying_unknown_reals=["y"],
        target_normalizer=TorchNormalizer(method="identity", center=False),  # power in its own units
        add_relative_time_idx=model == "tft",
    )
    windows = pd.read_csv(data / "windows.csv", parse_dates=["cutoff"])
    windows["unique_id"] = windows["unique_id"].astype(str)
    early = series[series["time_idx"] < test_start]
    return {
        "training": training,
        "validation": issued_like_the_project(training, early, val_start, windows, "val", index_of),
        "test": issued_like_the_project(training, series, test_start, windows, "test", index_of),
        "windows": windows,
        "observed": observed,
        "origin": origin,
        "horizon": horizon,
    }


def run_pytorch_forecasting(data: Path, model: str, max_epochs: int) -> tuple[pd.DataFrame, list[float]]:
    """PyTorch Forecasting's DeepAR (a Normal distribution) or TFT (quantile loss): fit on the training
    period (the validation period for early stopping), forecast the project's test windows."""
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import EarlyStopping
    from pytorch_forecasting import DeepAR, TemporalFusionTransformer
    from pytorch_forecasting.metrics import NormalDistributionLoss, QuantileLoss

    torch.manual_seed(0)
    sets = pytorch_forecasting_data(data, model)
    training = sets["training"]
    loaders = dict(batch_size=128, num_workers=0)
    if model == "deepar":
        network = DeepAR.from_dataset(
            training, hidden_size=64, rnn_layers=2, learning_rate=1e-3, loss=NormalDistributionLoss(quantiles=DECILES)
        )
    else:
        network = TemporalFusionTransformer.from_dataset(
            training, hidden_size=32, attention_head_size=4, learning_rate=1e-3, loss=QuantileLoss(quantiles=DECILES)
        )
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        gradient_clip_val=1.0,
        limit_train_batches=200,
        callbacks=[EarlyStopping(monitor="val_loss", patience=3)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(
        network,
        training.to_dataloader(train=True, **loaders),
        sets["validation"].to_dataloader(train=False, **loaders),
    )
    return pytorch_forecasting_forecasts(network, sets, loaders), DECILES


def pytorch_forecasting_forecasts(network, sets: dict, loaders: dict) -> pd.DataFrame:
    """The fitted network's deciles for every test window, with the observed power beside them."""
    prediction = network.predict(
        sets["test"].to_dataloader(train=False, **loaders),
        mode="quantiles",
        return_index=True,
        trainer_kwargs=dict(accelerator="cpu", logger=False, enable_progress_bar=False),
    )
    quantiles = prediction.output.cpu().numpy()  # [windows, horizon, levels]
    index = prediction.index  # time_idx of each window's first forecast hour, per group
    origin, horizon, windows = sets["origin"], sets["horizon"], sets["windows"]
    rows = []
    for (_, window), values in zip(index.iterrows(), quantiles):
        first = origin + pd.Timedelta(hours=int(window["time_idx"]))
        table = pd.DataFrame(values, columns=[f"q{level:g}" for level in DECILES])
        table["unique_id"] = str(window["unique_id"])
        table["cutoff"] = first - pd.Timedelta("1h")
        table["ds"] = first + pd.to_timedelta(np.arange(horizon), unit="h")
        rows.append(table)
    forecasts = pd.concat(rows)
    forecasts["point"] = forecasts["q0.5"]
    scored = windows[windows["split"] == "test"][["unique_id", "cutoff"]]
    return forecasts.merge(scored, on=["unique_id", "cutoff"]).merge(sets["observed"], on=["unique_id", "ds"])


def _level_column(column: str, model_name: str) -> str:
    """NeuralForecast names quantile outputs by central interval: ``LSTM-lo-80.0`` is the 0.1 quantile."""
    suffix = column.removeprefix(f"{model_name}-")
    if suffix == "median":
        return "q0.5"
    if suffix.startswith(("lo-", "hi-")):
        width = float(suffix[3:]) / 100
        return f"q{round((1 - width) / 2 if suffix.startswith('lo-') else (1 + width) / 2, 4):g}"
    return column


def run(data: Path, model: str, out: Path, max_steps: int, max_epochs: int) -> None:
    quantile = model.endswith("-quantile")
    base = model.removesuffix("-quantile")
    start = time.perf_counter()
    if base == "nie-lstm":
        forecasts, levels = run_project(data, quantile)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    elif base.startswith("pf-"):
        forecasts, levels = run_pytorch_forecasting(data, base.removeprefix("pf-"), max_epochs)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    else:
        forecasts, levels = run_neuralforecast(data, base.removeprefix("nf-"), quantile, max_steps)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = time.perf_counter() - start
    config = {"model": model, "data": str(data), "max_steps": max_steps, "max_epochs": max_epochs}
    result = {
        "provenance": run_provenance(config, data, seconds),
        "model": model,
        **score(forecasts, levels),
        "fit_test_seconds": seconds,
        "peak_rss_mib": peak / 1024,
        "test_start": json.loads((data / "meta.json").read_text())["test_start"],
        "test_end": json.loads((data / "meta.json").read_text())["test_end"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def run_provenance(config: dict, data: Path, seconds: float) -> dict:
    """What the run was made from (``nie.core.provenance``, also in the peers' venv); the data is the
    exported folder, fingerprinted by its files' bytes."""
    import hashlib

    sys.path.insert(0, str(ROOT))
    from nie.core.provenance import provenance

    digest = hashlib.sha256()
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(data)).encode() + b"\0" + path.read_bytes())
    identity = {"data_fingerprint": digest.hexdigest(), "data_paths": [str(data.resolve())]}
    return provenance(config=config, data=identity, wall_seconds=seconds)


def table(files: list[Path]) -> None:
    print("| model | test window | RMSE | MAE | mean pinball (deciles) | 80 % coverage | fit + test s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for path in files:
        r = json.loads(path.read_text())
        cells = [
            f"{r['rmse']:.4f}",
            f"{r['mae']:.4f}",
            f"{r['pinball']:.4f}" if "pinball" in r else "–",
            f"{r['coverage_80']:.3f}" if "coverage_80" in r else "–",
            f"{r['fit_test_seconds']:.0f}",
            f"{r['peak_rss_mib']:.0f}",
        ]
        print(f"| {r['model']} | {r['test_start'][:10]} to {r['test_end'][:10]} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("--config", required=True)
    e.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument(
        "--model",
        required=True,
        choices=[
            "nie-lstm",
            "nie-lstm-quantile",
            "nf-lstm",
            "nf-lstm-quantile",
            "nf-nhits",
            "nf-nhits-quantile",
            "pf-deepar",
            "pf-tft",
        ],
    )
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--max-steps", type=int, default=2000, help="NeuralForecast's training steps at most")
    r.add_argument("--max-epochs", type=int, default=30, help="PyTorch Forecasting's epochs (200 batches) at most")
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+", type=Path)
    args, overrides = parser.parse_known_args()
    if args.command == "export":
        export(args.config, overrides, args.out)
    elif args.command == "run":
        run(args.data, args.model, args.out, args.max_steps, args.max_epochs)
    else:
        table(args.files)


if __name__ == "__main__":
    main()
