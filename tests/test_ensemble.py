"""Ensembles through the real ``train.py cv`` on tiny generated graphs: weights chosen on validation,
test scores recomputable from the saved fold predictions, one-line errors for bad ensemble configs."""

from __future__ import annotations

import os
import subprocess
import sys
from math import comb
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import spearmanr

from nie.protocols.importance.ensemble import FOLD_PREDICTIONS, simplex_grid
from tests.conftest import DEMO, TINY, read_json, refused_line, run_train
from tests.ensemble_data import CV, MEMBERS, RUNS, write_ensemble


def run_ensemble(config: str, *extra: str) -> dict:
    run_train("cv", "--config", config, *TINY, *CV, "--folds", "0", "1", "--out", "ensemble.json", *extra)
    return read_json("ensemble.json")


@pytest.mark.parametrize("members,step", [(2, 0.5), (3, 0.1), (4, 0.25)])
def test_simplex_grid_covers_every_point_once(members: int, step: float) -> None:
    grid = simplex_grid(members, step)
    units = round(1 / step)
    assert len(grid) == comb(units + members - 1, members - 1) == len({tuple(row) for row in grid})
    assert np.allclose(grid.sum(axis=1), 1) and (grid >= 0).all()
    assert np.allclose(grid * units, np.round(grid * units))


def test_validation_weights_score_at_least_each_member_and_test_recomputes(workdir: Path) -> None:
    table = run_ensemble(write_ensemble("best.yaml", weights="validation", grid_step=0.1))
    for index, fold in enumerate((0, 1)):
        weights = np.array([table["weight/demo1"]["folds"][index], table["weight/demo2"]["folds"][index]])
        assert weights.sum() == pytest.approx(1) and (weights >= 0).all()
        arrays = [np.load(str(run).format(fold) + "/" + FOLD_PREDICTIONS) for run in RUNS]
        member_val = [
            read_json(str(run).format(fold) + "/cv_fold.json")["metrics"]["best_val/spearman"] for run in RUNS
        ]
        # the grid holds each member alone, so validation can only gain; equal to the member at a corner
        assert table["best_val/spearman"]["folds"][index] >= max(member_val) - 1e-5
        positions = [np.searchsorted(a["node"], a["test_node"]) for a in arrays]
        mixed = sum(w * a["prediction"][p] for w, a, p in zip(weights, arrays, positions))
        expected = spearmanr(mixed, arrays[0]["test_label"]).statistic
        assert table["spearman"]["folds"][index] == pytest.approx(expected, abs=1e-5)
        rmse = np.sqrt(np.mean((mixed - arrays[0]["test_label"]) ** 2))
        assert table["rmse"]["folds"][index] == pytest.approx(rmse, rel=1e-5)


def test_equal_weights_and_members_read_back(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    config = write_ensemble("equal.yaml", weights="equal")
    first = run_ensemble(config)
    assert first["weight/demo1"]["folds"] == first["weight/demo2"]["folds"] == [0.5, 0.5]
    capsys.readouterr()
    again = run_ensemble(config)
    assert capsys.readouterr().out.count("done earlier") == 4  # 2 members x 2 folds, nothing retrained
    assert again["spearman"] == first["spearman"] and again["ndcg@100"] == first["ndcg@100"]


@pytest.mark.parametrize(
    "section,message",
    [
        ({"weights": "best"}, "bad.yaml (a config of 'ensemble:' alone): ensemble.weights: Expected a typing.Literal"),
        ({"grid_step": 0.3}, "bad.yaml: ensemble.grid_step must divide 1 (e.g. 0.05, 0.1), got 0.3"),
        ({"grid_step": "fine"}, "ensemble.grid_step: Expected a <class 'float'>, got 'fine'"),
        ({"vote": True}, "does not accept option 'vote'; expected weights, grid_step, weights_on, members"),
        (
            {"weight": "equal"},
            "option 'weight' (did you mean 'weights'?); expected weights, grid_step, weights_on, members",
        ),
        ({"members": []}, "bad.yaml: ensemble.members: expected at least one member"),
        ({"members": [{"config": "a.yaml"}]}, "ensemble.members: Expected a <class 'str'>, got"),
    ],
)
def test_bad_ensemble_config_is_one_line(workdir: Path, section: dict, message: str) -> None:
    """The ``ensemble:`` section is parsed by its type (``EnsemblePlan``): each bad field is one line naming it."""
    with pytest.raises(SystemExit) as exit_info:
        run_ensemble(write_ensemble("bad.yaml", **section))
    assert message in str(exit_info.value.code) and "\n" not in str(exit_info.value.code)
    _no_training_happened()


@pytest.mark.parametrize("step", [0, 1.5, -1])
def test_an_ensemble_grid_step_that_cannot_divide_one_is_one_line(workdir: Path, step: float) -> None:
    line = refused_line("cv", "--config", write_ensemble("bad.yaml", grid_step=step), *TINY, *CV)
    assert line == f"error: bad.yaml: ensemble.grid_step must divide 1 (e.g. 0.05, 0.1), got {float(step)!r}"
    assert not Path("runs").exists()


def test_an_ensemble_config_holds_the_section_alone(workdir: Path) -> None:
    Path("bad.yaml").write_text(yaml.safe_dump({"ensemble": {"members": MEMBERS}, "trainer": {"max_epochs": 1}}))
    line = refused_line("cv", "--config", "bad.yaml", *TINY, *CV, "--folds", "0")
    assert line == "error: bad.yaml: an 'ensemble:' config holds only 'ensemble:'; found also ['trainer']"
    assert not Path("runs").exists()


@pytest.mark.parametrize("ensemble_first", [True, False])
def test_an_ensemble_config_with_another_config_is_one_line(workdir: Path, ensemble_first: bool) -> None:
    Path("patch.yaml").write_text(yaml.safe_dump({"trainer": {"max_epochs": 1}}))
    configs = [write_ensemble("ok.yaml"), "patch.yaml"]
    first, second = configs if ensemble_first else configs[::-1]
    line = refused_line("cv", "--config", first, "--config", second, *TINY, *CV, "--folds", "0")
    assert line == (
        "error: ok.yaml: an 'ensemble:' config stands alone; give other options as arguments, not another --config"
    )
    assert not Path("runs").exists()


def test_members_on_other_folds_are_refused(workdir: Path) -> None:
    Path("other.yaml").write_text(
        yaml.safe_dump(
            {
                "ensemble": {
                    "members": [
                        MEMBERS[0],
                        [*MEMBERS[1], "--data.init_args.split", "chunks", "--data.init_args.num_chunks", "20"],
                    ]
                }
            }
        )
    )
    with pytest.raises(SystemExit) as exit_info:
        run_ensemble("other.yaml")
    assert "member demo2 has other val nodes than demo1 in fold 0" in str(exit_info.value.code)


def test_select_ranks_on_validation_and_reports_test_for_the_chosen_only(workdir: Path) -> None:
    from nie.protocols.select import select

    Path("heads2.yaml").write_text(yaml.safe_dump({"model": {"init_args": {"network": {"init_args": {"heads": 2}}}}}))
    equal = write_ensemble("equal.yaml", weights="equal")
    candidates = [DEMO, f"{DEMO}+heads2.yaml", equal]
    result = select(["--candidates", *candidates, *TINY, *CV, "--folds", "0", "1", "--out", "ranking.json"])
    assert read_json("ranking.json") == result
    ranking = result["ranking"]
    assert sorted(r["candidate"] for r in ranking) == sorted(candidates)
    assert [r["mean"] for r in ranking] == sorted((r["mean"] for r in ranking), reverse=True)
    assert result["chosen"] == ranking[0]["candidate"]
    own = read_json(str(RUNS[0]).format(0) + "/cv_fold.json")["metrics"]["best_val/spearman"]
    assert next(r for r in ranking if r["candidate"] == DEMO)["folds"][0] == pytest.approx(own)
    assert "spearman" in result["test"] and not any(k.startswith("best_") for k in result["test"])
    with pytest.raises(SystemExit, match="config file missing.yaml not found"):
        run_train("select", "--candidates", "missing.yaml", "--out", "x.json")


def test_members_sharing_a_run_directory_are_refused(workdir: Path) -> None:
    Path("same.yaml").write_text(
        yaml.safe_dump({"ensemble": {"members": [MEMBERS[0], [*MEMBERS[0], "--seed_everything", "1"]]}})
    )
    with pytest.raises(SystemExit, match="members demo1 and demo2 share the run directory"):
        run_ensemble("same.yaml")


def test_run_directories_may_name_the_seed(workdir: Path) -> None:
    from nie.cli.lightning_cli import NIECLI
    from nie.core.naming import run_path, run_values

    def leaf(seed: str) -> Path:
        cli = NIECLI(args=["--config", DEMO, *TINY, "--seed_everything", seed], run=False)
        return run_path(Path("runs"), run_values(cli.model, cli.datamodule), ["fold"], ["lr", "seed_everything"])

    assert leaf("1") == Path("runs/fold0/lr0.005-seed_everything1") and leaf("1") != leaf("2")


def _no_training_happened() -> None:
    assert not list(Path(".").glob("runs/**/*.ckpt"))


def _write_members(path: str, *members: list[str]) -> str:
    Path(path).write_text(yaml.safe_dump({"ensemble": {"members": [list(m) for m in members]}}))
    return path


@pytest.mark.parametrize(
    "second,message",
    [
        (
            [*MEMBERS[1], "--data.init_args.label_transform", "none"],
            "member demo2 predicts in label space 'none', demo1 in 'log1p'",
        ),
        (["--config", DEMO, "--config", "pagerank.yaml"], "member pagerank predicts scores on its own scale"),
        (["--config", "missing.yaml"], "ensemble mixed.yaml: member missing: ensemble member '--config missing.yaml'"),
        ([*MEMBERS[1], "--model.init_args.lrr", "0.1"], "ensemble mixed.yaml: member demo2: model: Option 'lrr'"),
    ],
    ids=["label space", "own scale", "missing config", "unparseable"],
)
def test_members_that_cannot_be_combined_are_refused_before_training(
    workdir: Path, second: list[str], message: str
) -> None:
    pagerank = {"model": {"init_args": {"network": {"class_path": "nie.importance.PageRank", "init_args": {}}}}}
    Path("pagerank.yaml").write_text(yaml.safe_dump({**pagerank, "checkpoint": {"hparams": []}}))
    with pytest.raises(SystemExit) as exit_info:
        run_ensemble(_write_members("mixed.yaml", MEMBERS[0], second))
    assert message in str(exit_info.value.code) and "\n" not in str(exit_info.value.code)
    _no_training_happened()


def test_ensemble_and_members_keep_their_own_tables(workdir: Path) -> None:
    table = run_ensemble(write_ensemble("pair.yaml", weights="equal"))
    assert read_json("runs/ensembles/pair/cv_metrics.json") == table
    heads4, heads2 = (read_json(f"runs/geni/synthetic/cv_metrics-lr0.005-heads{h}.json") for h in (4, 2))
    assert heads4["spearman"] != heads2["spearman"] != table["spearman"]


def _rmse_patch() -> str:
    Path("rmse.yaml").write_text(yaml.safe_dump({"checkpoint": {"monitor": "val/rmse", "mode": "min"}}))
    return "rmse.yaml"


def test_select_ranks_a_min_monitor_lowest_first(workdir: Path) -> None:
    from nie.protocols.select import select

    patch = _rmse_patch()
    Path("heads2.yaml").write_text(yaml.safe_dump({"model": {"init_args": {"network": {"init_args": {"heads": 2}}}}}))
    candidates = [f"{DEMO}+{patch}", f"{DEMO}+{patch}+heads2.yaml"]
    result = select(["--candidates", *candidates, *TINY, *CV, "--folds", "0", "1", "--out", "ranking.json"])
    means = [r["mean"] for r in result["ranking"]]
    assert means == sorted(means) and means[0] < means[1]
    assert result["selected_by"] == "mean best_val/rmse over folds (min)"


@pytest.mark.parametrize("bad", ["missing.yaml", "unparseable"])
def test_select_checks_every_candidate_before_the_first_trains(workdir: Path, bad: str) -> None:
    if bad == "unparseable":
        Path("bad.yaml").write_text(yaml.safe_dump({"model": {"init_args": {"lrr": 0.1}}}))
        bad = f"{DEMO}+bad.yaml"
    with pytest.raises(SystemExit) as exit_info:
        run_train("select", "--candidates", DEMO, bad, *TINY, *CV, "--out", "ranking.json")
    assert str(exit_info.value.code).startswith(f"error: select: candidate {bad!r}")
    _no_training_happened()


def test_select_refuses_candidates_on_other_monitors_before_training(workdir: Path) -> None:
    with pytest.raises(SystemExit, match="validated on different scores"):
        run_train("select", "--candidates", DEMO, f"{DEMO}+{_rmse_patch()}", *TINY, *CV, "--out", "ranking.json")
    _no_training_happened()


def test_the_ensemble_weights_bench_runs() -> None:
    """It crashed once fit_weights took an EnsembleSection (mypy now checks bench/ too)."""
    done = subprocess.run(
        [sys.executable, "bench/ensemble_weights.py", "--members", "2", "--step", "0.5", "--nodes", "50"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("| 2 | 3 |")  # members, grid points
