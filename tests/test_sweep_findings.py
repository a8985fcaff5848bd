"""Findings of the new-user sweep (issue 36): each probe once crashed, wrote where a refused run must not,
or gave a silent wrong result. Through the command line where the sweep met it there; generated data only.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch

from nie.core.errors import ConfigError
from nie.forecasting.metrics import ForecastErrors
from nie.importance import SKES
from nie.importance.metrics import FlatSpearman, NDCGAtK, OverlapAtK
from nie.importance.spec import GraphSpec
from nie.protocols.forecasting.plan import BacktestPlan, origins
from tests.conftest import DEMO, TINY, read_json, run_train
from tests.power_data import BACKTEST_PLAN, make_power_table, write_backtest_config, write_power_config

OWNER = "error: model.init_args.network.init_args"
GRAPH_SPEC = GraphSpec(20, 3, in_dim=4, semantic_dim=0, label_mean=1.0, centrality_mean=1.0)


# ------------------------------------------------------------------------- SKES options (2, 6, 7)
def _skes_config(workdir: Path) -> str:
    path = workdir / "skes.yaml"
    path.write_text(
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.SKES\n      init_args: {paths: 2}\n"
        "trainer:\n  max_epochs: 1\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, paths]}\n"
    )
    return str(path)


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("points", "0", f"{OWNER}.points must be at least 1, got 0"),  # was ZeroDivisionError
        ("views", "[centrality, centrality]", f"{OWNER}.views names ['centrality'] more than once"),  # was accepted
        ("views", "[]", f"{OWNER}.views is empty: name at least one of"),  # trained the defaults, recorded []
    ],
)
def test_skes_options_are_one_line_through_the_cli(workdir: Path, option: str, value: str, message: str) -> None:
    with pytest.raises(SystemExit) as raised:
        run_train("fit", "--config", DEMO, "--config", _skes_config(workdir), *TINY,
                  f"--model.init_args.network.init_args.{option}", value)  # fmt: skip
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert not list(workdir.glob("runs/**/*.ckpt"))


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"paths": 0}, "paths must be at least 1, got 0"),
        ({"layers": 0, "propagation": True}, "layers must be at least 1, got 0"),
        ({"hidden": -1}, "hidden must be at least 1, got -1"),
        ({"hidden": 12, "points": 8}, "hidden=12 must be a multiple of points=8"),
        ({"projections": 0}, "projections must be at least 1, got 0"),
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"views": ["paths", "similarity", "paths"]}, "views names ['paths'] more than once"),
    ],
)
def test_every_skes_count_and_view_list_is_checked_where_declared(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SKES(GRAPH_SPEC, **settings)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_default_views_are_what_trains_when_views_are_left_out() -> None:
    assert SKES(GRAPH_SPEC).view_names == ["centrality", "similarity", "paths"]
    assert SKES(GRAPH_SPEC, views=["similarity"]).token_names == ["similarity"]


# ------------------------------------------------------------------- ratios with a zero denominator (8)
def test_a_station_whose_power_is_all_zero_has_nan_skill_and_one_counted_warning(workdir: Path) -> None:
    table = make_power_table()
    table.loc[table.station == 2, "power"] = 0.0
    config = write_power_config(workdir / "data", table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_train("fit", "--config", str(config))
    metrics = read_json(next(workdir.glob("runs/**/val_metrics.json")))
    assert math.isnan(metrics["val/station_2/skill"])  # was -12211149824.0
    assert math.isfinite(metrics["val/station_1/skill"]) and math.isfinite(metrics["val/skill"])
    said = [str(w.message) for w in caught if "skill is NaN" in str(w.message)]
    assert said == ["skill is NaN for 1 of 2 stations, where persistence is exact (RMSE 0, e.g. power always 0) "
                    "and the ratio is undefined (stations 2)"]  # fmt: skip


def test_capacity_zero_gives_nan_normalised_errors_never_a_huge_number() -> None:
    metric = ForecastErrors(["a", "b"], capacities=torch.tensor([2.0, 0.0], dtype=torch.float64))
    target = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    with pytest.warns(UserWarning, match=r"nmae is NaN for 1 of 2 stations, where the capacity is 0 .*\(stations b\)"):
        scores = metric(target + 1, target, torch.ones_like(target), target * 0.5, torch.tensor([0, 1]))
    assert scores["station_a/nmae"] == pytest.approx(0.5) and math.isnan(scores["station_b/nmae"])
    assert math.isnan(scores["station_b/nrmse"]) and math.isfinite(scores["nmae"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per metric, not at every validation
        metric.compute()


def test_ranking_ratios_with_a_zero_denominator_are_nan_with_a_warning() -> None:
    ndcg = NDCGAtK(5)
    ndcg.update(torch.rand(10), torch.zeros(10))
    with pytest.warns(UserWarning, match="NDCGAtK is NaN: every one of the 10 true gains is 0"):
        assert math.isnan(ndcg.compute())  # torchmetrics says 0
    for preds, target, which in (
        (torch.rand(10), torch.ones(10), "labels"),
        (torch.ones(10), torch.rand(10), "predictions"),
    ):
        spearman = FlatSpearman()
        spearman.update(preds, target)
        with pytest.warns(UserWarning, match=f"FlatSpearman is NaN: all 10 {which} are equal"):
            assert math.isnan(spearman.compute())  # torchmetrics says 0
    spearman = FlatSpearman()
    spearman.update(torch.arange(10.0), torch.arange(10.0) ** 2)
    assert spearman.compute() == pytest.approx(1.0)
    overlap = OverlapAtK(5)
    overlap.update(torch.zeros(0), torch.zeros(0))
    with pytest.warns(UserWarning, match=r"OverlapAtK is NaN: no node was scored"):
        assert math.isnan(overlap.compute())  # was 0 / max(0, 1)


# --------------------------------------------------------------------------- backtest plans (5, 9, 11)
PLAN = BACKTEST_PLAN
SPAN = (pd.Timestamp("2020-01-01 01:00"), pd.Timestamp("2020-02-10 00:00"), pd.Timedelta("1h"))  # make_power_table


@pytest.mark.parametrize(
    "plan,message",
    [  # 5: a refused plan left runs/tensorboard/version_N
        ({"val_span": "1h", "window": "1h"}, "backtest.val_span 1h is shorter than the forecast horizon (1 days"),
        ({"window": "1h"}, "backtest.window 1h is shorter than the forecast horizon (1 days"),
        # 9: the first origin was rolled forward to the step's anchor without a word
        ({"first_origin": "2020-01-29 00:00", "step": "W"},
         "backtest.first_origin 2020-01-29 00:00:00 does not fall on step 'W' (W-SUN): its first origin would be "
         "2020-02-02 00:00:00; write that, or a fixed step such as 7D"),
        ({"first_origin": "2020-01-20 01:00", "step": "MS"},
         "backtest.first_origin 2020-01-20 01:00:00 does not fall on step 'MS' (MS): its first origin would be "
         "2020-02-01 01:00:00"),
        # 11: a last origin after the data was cut to the data without a word
        ({"last_origin": "2020-03-01 00:00"}, "backtest.last_origin 2020-03-01 00:00:00 is outside the data"),
        ({"last_origin": "2020-02-08 00:00"},
         "backtest.last_origin 2020-02-08 00:00:00: its test span to 2020-02-11 00:00:00 passes the data's end "
         "(2020-02-10 00:00:00); the last with one is 2020-02-05 00:00:00"),
        ({"last_origin": "2020-02-03 00:00"},
         "backtest.last_origin 2020-02-03 00:00:00 is not an origin of the plan (first_origin + k * step '3D'): "
         "the last one before it is 2020-02-02 00:00:00"),
    ],
)  # fmt: skip
def test_a_plan_value_the_backtest_would_change_is_one_line_and_writes_nothing(
    workdir: Path, plan: dict, message: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        run_train("backtest", "--config", write_backtest_config(workdir, **plan))
    assert str(raised.value).startswith(f"error: {message}")
    assert "\n" not in str(raised.value) and not Path("runs").exists()


def test_a_last_origin_on_the_plan_and_in_the_data_is_the_last_origin() -> None:
    schedule = origins(BacktestPlan(**PLAN, last_origin="2020-02-02 00:00"), SPAN, history=48, horizon=24)
    assert [str(o.origin) for o in schedule] == ["2020-01-30 00:00:00", "2020-02-02 00:00:00"]
    weekly = origins(BacktestPlan(**{**PLAN, "first_origin": "2020-01-26 00:00", "step": "W"}), SPAN, 48, 24)
    assert [str(o.origin) for o in weekly] == ["2020-01-26 00:00:00", "2020-02-02 00:00:00"]  # Sundays, from it


# ------------------------------------------------------------------------------- help texts (13)
ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = re.compile(r"configs/[\w./-]+\.ya?ml")  # '+' joins a base and its patches: not part of a path
PRODUCTION = ["train.py", "predict.py", "nie", "datamodules", "callbacks", "bench"]


def _help_of(capsys: pytest.CaptureFixture, main, argv: list[str]) -> str:
    try:
        main(argv)
    except SystemExit as done:  # argparse's --help exits 0
        assert done.code in (0, None)
    return capsys.readouterr().out


def test_train_help_lists_every_subcommand(capsys: pytest.CaptureFixture) -> None:
    from train import PROTOCOLS, main

    text = _help_of(capsys, main, ["--help"])  # was Lightning's: fit, validate, test, predict only
    for subcommand in ["fit", "validate", "test", "predict", *PROTOCOLS]:
        assert re.search(rf"\b{subcommand}\b", text), subcommand
        assert f"python train.py {subcommand} " in text or subcommand in ("validate", "test", "predict")


def test_every_config_named_in_a_help_text_or_docstring_exists(capsys: pytest.CaptureFixture) -> None:
    from predict import main as predict_main
    from train import PROTOCOLS, main

    texts = {f"train.py {name} --help": _help_of(capsys, main, [name, "--help"]) for name in PROTOCOLS}
    texts.update({"train.py --help": _help_of(capsys, main, ["--help"])})
    texts.update({"predict.py --help": _help_of(capsys, predict_main, ["--help"])})
    files = [p for root in PRODUCTION for p in ([ROOT / root] if root.endswith(".py") else (ROOT / root).rglob("*.py"))]
    texts.update({str(p.relative_to(ROOT)): p.read_text() for p in files})
    named = {(where, path) for where, text in texts.items() for path in CONFIG_PATH.findall(text)}
    assert len(named) > 10  # the scan reads what it should
    missing = sorted((where, path) for where, path in named if not (ROOT / path).is_file())
    assert not missing  # configs/gefcom2014/backtest.yaml was named in backtest --help and train.py


# ------------------------------------------------------------------------- predict.py and include: (14)
def test_predict_reads_the_experiment_config_with_its_includes(workdir: Path) -> None:
    from predict import main as predict_main

    (workdir / "exp").mkdir()
    (workdir / "exp" / "base.yaml").write_text(Path(DEMO).read_text())
    (workdir / "exp" / "skes.yaml").write_text(
        "include: [base.yaml]\n"
        "model:\n  init_args:\n    network:\n      class_path: nie.importance.SKES\n      init_args: {paths: 2}\n"
        "data:\n  init_args: {num_nodes: 300, num_relations: 4}\n"
        "trainer: {max_epochs: 1, enable_progress_bar: false, enable_model_summary: false}\n"
        "checkpoint: {dirs: [network, dataset, fold], hparams: [lr, paths]}\n"
    )
    run_train("fit", "--config", "exp/skes.yaml")
    ckpt = str(next(workdir.glob("runs/skes/**/last.ckpt")))
    predict_main(["--ckpt", ckpt, "--config", "exp/skes.yaml", "--out", "p.csv"])  # was "expected a run config"
    table = pd.read_csv("p.csv")
    assert len(table) == 300 and "attention centrality" in table.columns
    (workdir / "patch.yaml").write_text("trainer: {max_epochs: 1}\n")
    with pytest.raises(SystemExit) as raised:
        predict_main(["--ckpt", ckpt, "--config", "patch.yaml"])
    assert str(raised.value).startswith("error: patch.yaml: expected a config with 'model' and 'data' sections")
    assert "include:" in str(raised.value) and "\n" not in str(raised.value)


# ------------------------------------------------------------------------- a second probe's findings
@pytest.mark.parametrize("subcommand", ["fit", "validate", "test", "predict"])
def test_a_missing_checkpoint_file_is_one_line_and_writes_nothing(workdir: Path, subcommand: str) -> None:
    with pytest.raises(SystemExit, match=r"^error: --ckpt_path nope.ckpt: checkpoint not found"):
        run_train(subcommand, "--config", DEMO, *TINY, "--ckpt_path", "nope.ckpt")
    assert not Path("runs").exists()


def test_a_partial_site_on_the_command_line_says_to_give_the_whole_site() -> None:
    from datamodules.power.geometry import Site

    with pytest.raises(ConfigError, match=r"give the whole site as one value, e.g. '\{latitude"):
        Site.parse({"latitude": "-30"}, "data.solar.site")
