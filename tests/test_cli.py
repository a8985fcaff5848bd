"""The real CLI on tiny generated graphs: fit, cv, checkpoint names, seeds, predict, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import DEMO, ROOT, TINY, read_json, run_train

RUN = Path("runs/geni/synthetic/fold0/lr0.005-heads4")


def fit(*extra: str) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "4", *extra)


def test_fit_fast_dev_run(workdir: Path) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--trainer.fast_dev_run", "true")


def test_print_config(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_train("fit", "--config", DEMO, "--print_config")
    assert exit_info.value.code == 0
    assert "nie.importance.GENI" in capsys.readouterr().out


def config_args(path: Path) -> list[str]:
    """``--config`` arguments for a shipped config; ``selection/<base>_<variant>.yaml`` patches ``<base>.yaml``,
    a ``backtest/`` patch (for any power config) is read on the quantile LSTM."""
    if path.parent.name == "backtest":
        return ["--config", str(path.parent.parent / "lstm_quantile.yaml"), "--config", str(path)]
    if path.parent.parent.name == "patches":  # interim, until configs/gefcom2014 follows fb15k's layout (17:15)
        return ["--config", str(path.parents[2] / f"{path.parent.name}.yaml"), "--config", str(path)]
    if path.parent.name == "patches":
        return ["--config", str(path.parent.parent / "geni.yaml"), "--config", str(path)]
    if path.parent.name != "selection":
        return ["--config", str(path)]
    return ["--config", str(path.parent.parent / f"{path.stem.split('_')[0]}.yaml"), "--config", str(path)]


def is_shared_part(path: Path) -> bool:
    """A shared section or patch (no ``model``, not itself including a base): read through ``include``."""
    config = yaml.safe_load(path.read_text())
    patch = "patches" in (path.parent.name, path.parent.parent.name)
    return (
        path.parent.name not in ("selection", "backtest")
        and not patch
        and not {"model", "include", "ensemble"} & set(config)
    )


def is_ensemble(path: Path) -> bool:
    return "ensemble" in yaml.safe_load(path.read_text())


CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.yaml"))
SHARED_PARTS = [p for p in CONFIGS if is_shared_part(p)]
ENSEMBLES = [p for p in CONFIGS if is_ensemble(p)]


def test_every_shared_part_is_included_by_an_experiment() -> None:
    included = {
        (p.parent / name).resolve() for p in CONFIGS for name in (yaml.safe_load(p.read_text()).get("include") or [])
    }
    assert SHARED_PARTS and not [p for p in SHARED_PARTS if p.resolve() not in included]


@pytest.mark.parametrize(
    "config", [p.relative_to(ROOT).as_posix() for p in CONFIGS if p not in SHARED_PARTS and p not in ENSEMBLES]
)
def test_every_shipped_config_parses(config: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_train("fit", *config_args(ROOT / config), "--print_config")
    assert exit_info.value.code == 0, capsys.readouterr().err
    assert "class_path" in capsys.readouterr().out


@pytest.mark.parametrize("config", [p.relative_to(ROOT).as_posix() for p in ENSEMBLES])
def test_every_shipped_ensemble_has_members_that_parse(
    config: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nie.protocols.importance.ensemble import ensemble_section, member_args

    monkeypatch.chdir(ROOT)  # members are named relative to the project root, like every command's paths
    section = ensemble_section(["--config", config])
    assert section is not None and len(section["members"]) >= 2
    for member in section["members"]:
        with pytest.raises(SystemExit) as exit_info:
            run_train("fit", *member_args(member, []), "--print_config")
        assert exit_info.value.code == 0, capsys.readouterr().err


def test_fit_names_checkpoints_by_hyperparameters(workdir: Path) -> None:
    fit()
    fit("--model.init_args.lr", "0.01")
    checkpoints = sorted(p.name for p in RUN.glob("epoch=*-val_spearman=*.ckpt"))
    assert len(checkpoints) == 1 and (RUN / "last.ckpt").is_file()
    assert (RUN / "config.yaml").is_file() and (RUN / "best.json").is_file()
    assert set(read_json(RUN / "val_metrics.json")) >= {"val/ndcg@100", "val/spearman", "val/overlap@100", "val/rmse"}
    assert any(Path("runs/geni/synthetic/fold0/lr0.01-heads4").glob("epoch=*.ckpt"))  # no overwrite


def test_test_with_best_checkpoint_in_a_new_process_writes_json(workdir: Path) -> None:
    fit()
    run_train("test", "--config", DEMO, *TINY, "--ckpt_path", "best", "--out", "metrics.json")
    metrics = read_json("metrics.json")
    assert set(metrics) >= {"test/ndcg@100", "test/spearman", "test/overlap@100", "test/rmse"}
    assert "commit" in metrics.pop("provenance") and metrics == read_json(RUN / "test_metrics.json")


def test_same_seed_same_metrics_and_other_seed_differs(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = []
    for seed, folder in (("3", "a"), ("3", "b"), ("4", "c")):
        (workdir / folder).mkdir()
        monkeypatch.chdir(workdir / folder)  # separate runs and caches
        fit("--seed_everything", seed)
        results.append(read_json(RUN / "val_metrics.json"))
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_cv_three_folds_writes_mean_std_and_resumes(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["cv", "--config", DEMO, *TINY, "--data.init_args.num_folds", "3", "--trainer.max_epochs", "3"]
    run_train(*args, "--out", "cv.json")
    table = read_json("cv.json")
    for metric in ("ndcg@100", "spearman", "overlap@100", "rmse"):
        assert set(table[metric]) == {"mean", "std", "folds"} and len(table[metric]["folds"]) == 3
    assert read_json("runs/geni/synthetic/cv_metrics-lr0.005-heads4.json") == table
    for fold, score in enumerate(table["best_val/spearman"]["folds"]):  # what selects configurations
        (best,) = Path(f"runs/geni/synthetic/fold{fold}/lr0.005-heads4").glob("epoch=*-val_spearman=*.ckpt")
        assert f"{score:.4f}" == best.stem.split("val_spearman=")[1]
    run_train(*args, "--out", "again.json")
    assert capsys.readouterr().out.count("done earlier") == 3
    assert {k: v for k, v in read_json("again.json").items() if k not in ("fit_test_seconds", "provenance")} == {
        k: v for k, v in table.items() if k not in ("fit_test_seconds", "provenance")
    }


def test_predict_writes_ranked_csv(workdir: Path) -> None:
    from predict import main as predict_main

    fit()
    predict_main(["--ckpt", str(RUN / "last.ckpt"), "--out", "pred.csv"])
    table = pd.read_csv("pred.csv")
    assert list(table.columns) == ["node_id", "name", "score", "rank"]
    assert len(table) == 300 and table["rank"].tolist() == list(range(1, 301))
    assert (table["score"] >= 0).all() and table["score"].is_monotonic_decreasing
