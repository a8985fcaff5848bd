"""Session 17's new-user probes: what a newcomer's slips on the demo get (one line, nothing written) and
that the fix the line suggests runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml
from torch import Tensor, nn

from nie.importance.spec import GraphBatch
from tests.conftest import DEMO, TINY, read_json, refused_line, run_train
from tests.ensemble_data import MEMBERS

SHORT = [*TINY, "--trainer.max_epochs", "1"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["--checkpoint.hparams", "[lr,lr]"], "checkpoint.hparams names lr twice"),
        (["--checkpoint.dirs", "[network,network,fold]"], "checkpoint.dirs names network twice"),
        (["--checkpoint.dirs", "[network,heads]"], "checkpoint.dirs and checkpoint.hparams both name heads"),
    ],
)
@pytest.mark.parametrize("subcommand", ["fit", "cv"])
def test_a_name_given_twice_is_one_line_and_writes_nothing(
    workdir: Path, subcommand: str, names: list[str], expected: str
) -> None:
    message = refused_line(subcommand, "--config", DEMO, *SHORT, *names)
    assert message.startswith(f"error: {expected}")
    assert not list(workdir.iterdir())


def test_the_fix_for_a_name_given_twice_runs(workdir: Path) -> None:
    message = refused_line("fit", "--config", DEMO, *SHORT, "--checkpoint.hparams", "[lr,heads,lr]")
    option, value = re.findall(r"e\.g\. (\S+) (\S+)$", message)[0]
    assert (option, value) == ("--checkpoint.hparams", "[lr,heads]")
    run_train("fit", "--config", DEMO, *SHORT, option, value)
    assert (workdir / "runs/geni/synthetic/fold0/lr0.005-heads4/settings.json").is_file()


class MeanOfTrainingLabels(nn.Module):
    """A newcomer's baseline: declares ``fit`` without subclassing ``nie.core.baseline.Baseline``."""

    fitted: list[float] = []

    def __init__(self, spec: object) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))

    def fit(self, datamodule: object) -> None:
        _, labels = datamodule.training_labels()  # type: ignore[attr-defined]
        self.mean.fill_(float(labels.float().mean()))
        MeanOfTrainingLabels.fitted.append(float(self.mean))

    def forward(self, batch: GraphBatch) -> Tensor:
        assert MeanOfTrainingLabels.fitted, "evaluated before it was fitted"
        return self.mean + torch.linspace(0, 1, len(batch.output_nodes))


@pytest.mark.parametrize("subcommand", ["fit", "validate", "test"])
def test_a_plain_baseline_is_fitted_once_before_it_is_evaluated(workdir: Path, subcommand: str) -> None:
    MeanOfTrainingLabels.fitted.clear()
    network = "tests.test_new_user_s17.MeanOfTrainingLabels"
    run_train(
        subcommand, "--config", DEMO, *SHORT, "--model.init_args.network", network, "--checkpoint.hparams", "[lr]"
    )
    assert len(MeanOfTrainingLabels.fitted) == 1


def test_validate_without_a_checkpoint_scores_a_baseline_as_fit_then_validate_does(workdir: Path) -> None:
    """Was a RuntimeError traceback (PersonalizedPageRank evaluated before its fit)."""
    ppr = [*SHORT, "--model.init_args.network", "nie.importance.PersonalizedPageRank", "--checkpoint.hparams", "[lr]"]
    run_train("validate", "--config", DEMO, *ppr, "--out", "direct.json")
    run_train("fit", "--config", DEMO, *ppr)
    run_train("validate", "--config", DEMO, *ppr, "--ckpt_path", "best", "--out", "fitted.json")
    direct, fitted = (
        {k: v for k, v in read_json(f).items() if k != "provenance"} for f in ("direct.json", "fitted.json")
    )
    assert direct == fitted and direct["val/spearman"] > 0.3


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [
        (["--metric", "val/ndcg@100", "val/rmse"], "select: --metric mixes scores to raise and to lower"),
        (["--metric", "val/ndcg@100", "val/rmse", "--mode", "min"], "select: --metric mixes scores"),
        (["--metric", "val/rmse"], "select: --metric val/rmse: scores to lower, ranked highest first"),
        (["--metric", "val/spearman", "--mode", "min"], "ranked lowest first (the worst first); leave out --mode"),
        (["--mode", "min"], "select: --mode min would rank val/spearman the wrong way round"),
    ],
)
def test_select_ranking_the_wrong_way_round_is_one_line_before_training(
    workdir: Path, ranking: list[str], expected: str
) -> None:
    """Were accepted: the mean of NDCG and RMSE ranked highest first, or the worst candidate chosen."""
    message = refused_line("select", "--candidates", DEMO, *SHORT, *ranking, "--out", "ranking.json")
    assert message.startswith(f"error: {expected}") or expected in message
    assert not (workdir / "runs").exists() and not (workdir / "ranking.json").exists()  # nothing trained


def test_weights_on_with_equal_weights_is_one_line(workdir: Path) -> None:
    """Was accepted and ignored: equal weights never read the score the config asked them chosen on."""
    Path("equal.yaml").write_text(
        yaml.safe_dump({"ensemble": {"members": MEMBERS, "weights": "equal", "weights_on": ["val/spearman"]}})
    )
    message = refused_line("cv", "--config", "equal.yaml", *SHORT, "--out", "ensemble.json")
    assert message == (
        "error: equal.yaml: ensemble.weights_on chooses validation weights; weights: equal never reads it: drop one"
    )
    assert not (workdir / "runs").exists() and not (workdir / "ensemble.json").exists()


@pytest.mark.parametrize("names", ["lr", "lr,heads"])
def test_a_list_given_without_brackets_is_one_line_whose_fix_runs(workdir: Path, names: str) -> None:
    message = refused_line("fit", "--config", DEMO, *SHORT, "--checkpoint.hparams", names)
    assert message == f"error: checkpoint.hparams: Expected a list such as [{names}], got {names!r}"
    run_train("fit", "--config", DEMO, *SHORT, "--checkpoint.hparams", re.findall(r"such as (\[\S+\])", message)[0])
    leaf = "-".join({"lr": "lr0.005", "heads": "heads4"}[name] for name in names.split(","))
    assert (workdir / "runs/geni/synthetic/fold0" / leaf / "settings.json").is_file()


@pytest.mark.parametrize("subcommand", ["fit", "cv"])
def test_an_empty_out_is_one_line_and_writes_nothing(workdir: Path, subcommand: str) -> None:
    """``--out ''`` used to run and write no table, without a word."""
    assert refused_line(subcommand, "--config", DEMO, *SHORT, "--out", "") == "error: --out is empty; give a file path"
    assert not list(workdir.iterdir())
