"""Selection on the metric that counts: ``select --metric`` ranks candidates on any validation score (or
the mean of several), and ``ensemble.weights_on`` picks the weights on it; bad names are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from nie.importance.metrics import NDCGAtK
from nie.protocols.importance.ensemble import FOLD_PREDICTIONS, simplex_grid
from tests.conftest import DEMO, TINY, read_json, run_train
from tests.ensemble_data import CV, RUNS, write_ensemble


def member_val(run: Path, fold: int, name: str) -> float:
    return read_json(str(run).format(fold) + "/cv_fold.json")["metrics"][f"best_val/{name}"]


def test_weights_on_ndcg_pick_the_grid_point_best_on_validation_ndcg(workdir: Path) -> None:
    config = write_ensemble("ndcg.yaml", weights="validation", grid_step=0.1, weights_on="val/ndcg@100")
    run_train("cv", "--config", config, *TINY, *CV, "--folds", "0", "--out", "ensemble.json")
    table = read_json("ensemble.json")
    arrays = [np.load(str(run).format(0) + "/" + FOLD_PREDICTIONS) for run in RUNS]
    positions = [np.searchsorted(a["node"], a["val_node"]) for a in arrays]
    label = torch.from_numpy(arrays[0]["val_label"]).float()

    def val_ndcg(weights: np.ndarray) -> float:
        mixed = sum(w * a["prediction"][p] for w, a, p in zip(weights, arrays, positions))
        metric = NDCGAtK(100)
        metric.update(torch.as_tensor(mixed).float(), label)
        return float(metric.compute())

    best = max(val_ndcg(w) for w in simplex_grid(2, 0.1))
    assert table["best_val/ndcg@100"]["folds"][0] == pytest.approx(best, abs=1e-6)
    chosen = np.array([table["weight/demo1"]["folds"][0], table["weight/demo2"]["folds"][0]])
    assert val_ndcg(chosen) == pytest.approx(best, abs=1e-6)
    assert best >= max(member_val(run, 0, "ndcg@100") for run in RUNS) - 1e-5  # a member alone is a grid corner
    assert {"best_val/spearman", "best_val/overlap@100", "best_val/rmse"} <= set(table)  # every score, for select


@pytest.mark.parametrize(
    "weights_on,message",
    [
        ("ndcg@100", "ensemble.weights_on must be a validation score or a list of them"),
        ([], "ensemble.weights_on must be a validation score"),
        ("val/ndcg@10", "weights_on names val/ndcg@10; the validation scores are val/ndcg@100"),
        (["val/spearman", "val/rmse"], "weights_on mixes scores to raise and to lower"),
    ],
)
def test_bad_weights_on_is_one_line(workdir: Path, weights_on: object, message: str) -> None:
    config = write_ensemble("bad.yaml", weights_on=weights_on)
    with pytest.raises(SystemExit) as raised:
        run_train("cv", "--config", config, *TINY, *CV, "--folds", "0", "--out", "ensemble.json")
    assert message in str(raised.value.code) and "\n" not in str(raised.value.code), raised.value.code
    assert not Path("ensemble.json").exists()
    assert not Path("runs").exists()  # refused before any member trains


def test_select_ranks_on_validation_ndcg_or_its_mean_with_spearman(workdir: Path) -> None:
    from nie.protocols.select import select

    Path("heads2.yaml").write_text(yaml.safe_dump({"model": {"init_args": {"network": {"init_args": {"heads": 2}}}}}))
    candidates = [DEMO, f"{DEMO}+heads2.yaml"]
    common = ["--candidates", *candidates, *TINY, *CV, "--folds", "0", "1"]
    by_ndcg = select([*common, "--metric", "val/ndcg@100", "--out", "ndcg.json"])
    assert by_ndcg["selected_by"] == "mean best_val/ndcg@100 over folds (max)"
    for row in by_ndcg["ranking"]:
        run = RUNS[0] if row["candidate"] == DEMO else RUNS[1]
        assert row["folds"] == pytest.approx([member_val(run, f, "ndcg@100") for f in (0, 1)])
    means = [r["mean"] for r in by_ndcg["ranking"]]
    assert means == sorted(means, reverse=True) and by_ndcg["chosen"] == by_ndcg["ranking"][0]["candidate"]

    both = select([*common, "--metric", "val/ndcg@100", "val/spearman", "--out", "both.json"])  # folds read back
    assert both["selected_by"].startswith("mean (the mean of best_val/ndcg@100 and best_val/spearman) over folds")
    for row in both["ranking"]:
        run = RUNS[0] if row["candidate"] == DEMO else RUNS[1]
        expected = [(member_val(run, f, "ndcg@100") + member_val(run, f, "spearman")) / 2 for f in (0, 1)]
        assert row["folds"] == pytest.approx(expected)


def test_select_refuses_a_metric_that_is_not_a_validation_score_before_training(workdir: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        run_train("select", "--candidates", DEMO, *TINY, *CV, "--metric", "test/ndcg@100", "--out", "r.json")
    message = str(raised.value.code)
    assert "select: --metric test/ndcg@100 is not a validation score" in message and "\n" not in message
    assert not list(Path(".").glob("runs/**/*.ckpt")) and not Path("r.json").exists()
