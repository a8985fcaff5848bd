"""The real CLI on tiny generated graphs: fit, cv, checkpoint names, seeds, predict, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from nie.core.config_roles import by_role, compositions, config_role, patch_targets
from tests.conftest import DEMO, ROOT, TINY, read_json, refused_line, run_train

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


CONFIGS = ROOT / "configs"
ROLES = by_role(CONFIGS)  # the one rule (nie/core/config_roles.py); a file in no place of the layout fails here
READ = {path: yaml.safe_load(path.read_text()) or {} for paths in ROLES.values() for path in paths}


def test_every_config_file_is_in_a_place_of_the_layout() -> None:
    assert sorted(p for paths in by_role(CONFIGS).values() for p in paths) == sorted(CONFIGS.rglob("*.yaml"))


def test_every_config_holds_what_its_place_says() -> None:
    """Parts are included by another config and name no task; ensembles hold only ``ensemble:``; patches name no
    task or datamodule class (experiments, and patches after them, resolve to a whole config: parsed below)."""
    included = {(p.parent / name).resolve() for p, config in READ.items() for name in config.get("include") or []}
    classes = {
        p: {section for section in ("model", "data") if "class_path" in (READ[p].get(section) or {})} for p in READ
    }
    assert ROLES["part"] and [p for p in ROLES["part"] if p.resolve() not in included or "model" in classes[p]] == []
    assert ROLES["ensemble"] and [p for p in ROLES["ensemble"] if set(READ[p]) != {"ensemble"}] == []
    assert ROLES["patch"] and [p for p in ROLES["patch"] if classes[p] or "ensemble" in READ[p]] == []


def test_a_config_in_no_place_of_the_layout_is_refused(tmp_path: Path) -> None:
    for name in ("fb/data.yaml", "fb/parts/data.yaml", "fb/patches/geni/long.yaml", "fb/geni.yaml", "fb/stray/x.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    assert config_role(tmp_path / "fb/parts/data.yaml", tmp_path) == "part"
    assert patch_targets(tmp_path / "fb/patches/geni/long.yaml", tmp_path) == [tmp_path / "fb/geni.yaml"]
    with pytest.raises(ValueError, match="stray/x.yaml: not a place for a config"):
        by_role(tmp_path)
    (tmp_path / "fb/patches/gat").mkdir()
    with pytest.raises(ValueError, match="patches/gat/ names no experiment"):
        patch_targets(tmp_path / "fb/patches/gat/x.yaml", tmp_path)


@pytest.mark.parametrize(
    "configs", [" + ".join(p.relative_to(ROOT).as_posix() for p in paths) for paths in compositions(CONFIGS)]
)
def test_every_experiment_and_patch_resolves_to_a_whole_config(configs: str, capsys: pytest.CaptureFixture) -> None:
    """Every experiment alone, every patch after each experiment its place says it applies to."""
    with pytest.raises(SystemExit) as exit_info:
        run_train("fit", *[a for path in configs.split(" + ") for a in ("--config", path)], "--print_config")
    assert exit_info.value.code == 0, capsys.readouterr().err
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["model"]["class_path"] and resolved["data"]["class_path"]


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


def test_a_cv_members_root_monitor_and_scale_come_from_its_built_parts(workdir: Path) -> None:
    from nie.protocols.importance.cv import member

    built = member(["--config", DEMO, *TINY, "--checkpoint.root", "elsewhere"]).facts
    assert (built.root, built.monitor, built.mode) == (Path("elsewhere"), "val/spearman", "max")
    assert built.predicts_labels is True  # GENI
    pagerank = '{"class_path": "nie.importance.PageRank"}'
    default = member(
        ["--config", DEMO, *TINY, "--model.init_args.network", pagerank, "--checkpoint.hparams", "[lr]"]
    ).facts
    assert default.root == Path("runs") and default.predicts_labels is False  # HParamCheckpoint's default root


def test_the_subcommands_are_listed_once(capsys: pytest.CaptureFixture[str]) -> None:
    import train

    with pytest.raises(SystemExit):
        train.main(["--help"])
    usage = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("usage:"))
    assert usage == f"usage: python train.py {{{','.join(train.SUBCOMMANDS)}}} [options]"
    assert set(train.PROTOCOLS) < set(train.SUBCOMMANDS)
    assert all(f"\n  {name} " in train.HELP for name in train.PROTOCOLS)  # each protocol has its paragraph


@pytest.mark.parametrize("argv", [[], ["fitt", "--config", DEMO]])
def test_train_py_without_a_known_subcommand_names_all_eight(workdir: Path, argv: list[str]) -> None:
    message = refused_line(*argv)
    assert "fit, validate, test, predict, cv, select, backtest, partition (python train.py --help)" in message
    assert message.endswith("got 'fitt'") == bool(argv)
