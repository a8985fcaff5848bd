"""What a user sees of a node-importance run: a predicted-vs-true figure in TensorBoard and beside predict's CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nie.importance.plots import importance_figure, overlap_curve
from tests.conftest import DEMO, TINY, run_train

RUN = Path("runs/geni/synthetic/fold0/lr0.005-heads4")


def fit(*extra: str) -> None:
    run_train("fit", "--config", DEMO, *TINY, "--trainer.max_epochs", "2", *extra)


def image_tags(workdir: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    (version,) = workdir.glob("runs/tensorboard/version_*")
    tags: set[str] = set()
    for events in version.glob("events.out.tfevents.*"):
        tags |= set(EventAccumulator(str(events), size_guidance={IMAGES: 0}).Reload().Tags()["images"])
    return tags


def test_validation_figure_reaches_tensorboard(workdir: Path) -> None:
    fit()
    assert "val/importance" in image_tags(workdir)


def test_figures_can_be_switched_off(workdir: Path) -> None:
    fit("--model.init_args.figures", "false")
    assert image_tags(workdir) == set()


def test_figures_every_kth_validation_check(workdir: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    fit("--model.init_args.figure_every", "2", "--trainer.max_epochs", "5")
    (version,) = workdir.glob("runs/tensorboard/version_*")
    steps = set()
    for events in version.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events), size_guidance={IMAGES: 0}).Reload()
        if "val/importance" in accumulator.Tags()["images"]:
            steps |= {image.step for image in accumulator.Images("val/importance")}
    assert steps == {0, 2, 4}  # checks after epochs 0..4: the first, then every second


def test_figure_every_below_one_is_one_line(workdir: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        fit("--model.init_args.figure_every", "0")
    assert str(raised.value).startswith("error: model.init_args.figure_every must be at least 1")
    assert "\n" not in str(raised.value)


def test_predict_writes_png_beside_csv(workdir: Path) -> None:
    from predict import main as predict_main

    fit()
    predict_main(["--ckpt", str(RUN / "last.ckpt"), "--out", "pred.csv"])
    assert Path("pred.csv").is_file()
    assert Path("pred.png").read_bytes().startswith(b"\x89PNG")


def test_overlap_curve_by_hand() -> None:
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert overlap_curve(target * 10, target).tolist() == [1.0, 1.0, 1.0, 1.0]
    # reversed: top-1 {0} vs {3}, top-2 {0,1} vs {3,2}, top-3 {0,1,2} vs {3,2,1} share 1 and 2, top-4 all
    assert overlap_curve(-target, target).tolist() == pytest.approx([0.0, 0.0, 2 / 3, 1.0])
    assert len(overlap_curve(torch.arange(300.0), torch.arange(300.0))) == 100  # k stops at max_k


def test_figure_titles_carry_spearman_and_scatter_is_capped() -> None:
    target = torch.arange(20_000.0)
    fig = importance_figure(target.flip(0), target, "validation nodes", max_points=1000)
    scatter, overlap = fig.axes
    assert "Spearman ρ = -1.000" in scatter.get_title()
    assert len(scatter.collections[0].get_offsets()) == 1000
    assert overlap.get_title() == "OVERLAP@100 = 0.000"
