"""A new user's wrong values for session 15's options (sampled batches, structural features, ensembles,
predict.py): each is one line naming the option and what was expected, and a refused run writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DEMO, TINY, refused_line
from tests.ensemble_data import CV, write_ensemble

BATCH = "--data.init_args.batch_size"
FANOUTS = "--data.init_args.fanouts"
SAMPLED = [BATCH, "64", FANOUTS, "[5, 5]"]


@pytest.mark.parametrize(
    "arguments,message",
    [
        ([BATCH, "0", FANOUTS, "[5, 5]"], "data.batch_size=0: expected"),
        ([BATCH, "-1", FANOUTS, "[5, 5]"], "data.batch_size=-1: expected"),
        ([BATCH, "64", FANOUTS, "[-2, 5]"], "data.fanouts=[-2, 5]: expected"),
        ([BATCH, "64", FANOUTS, "[0, 0]"], "data.fanouts=[0, 0]: expected"),
        (["--data.init_args.structural_dim", "-1"], "data.structural_dim=-1: expected a number >= 1"),
        (["--data.init_args.structural_dim", "0"], "data.structural_dim=0: expected a number >= 1"),
        ([*SAMPLED, "--data.init_args.eval_batch_size", "-1"], "data.eval_batch_size=-1: expected a number >= 1"),
        ([*SAMPLED, "--data.init_args.eval_batch_size", "x"], "data.eval_batch_size: Expected a <class 'int'>"),
    ],
)
def test_bad_batch_and_feature_sizes_are_one_line(workdir: Path, arguments: list[str], message: str) -> None:
    """batch_size 0 was a ZeroDivisionError, -1 a ValueError, fanout -2 aborted the process inside DGL and
    structural_dim -1 a numpy traceback, each after the run folder was written."""
    line = refused_line("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "1", *arguments)
    assert message in line
    assert not Path("runs").exists()


@pytest.mark.parametrize("step", [0, 1.5, -1])
def test_an_ensemble_grid_step_that_cannot_divide_one_is_one_line(workdir: Path, step: float) -> None:
    line = refused_line("cv", "--config", write_ensemble("bad.yaml", grid_step=step), *TINY, *CV)
    assert line == f"error: bad.yaml: ensemble.grid_step must divide 1 (e.g. 0.05, 0.1), got {float(step)!r}"
    assert not Path("runs").exists()


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
