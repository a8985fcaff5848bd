"""bench/early_stopping_replay.py: a long run's log replays what a shorter patience would have chosen."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, TINY, run_train

sys.path.insert(0, str(ROOT / "bench"))
from early_stopping_replay import replay, validation_curve  # noqa: E402

PATCH = """checkpoint: {{dirs: [network, dataset, fold], hparams: [lr, heads]}}
early_stopping: {{patience: {patience}, min_epochs: 5}}
gradient_clipping: {{max_norm: null}}
"""


def fit_with_patience(workdir: Path, patience: int) -> Path:
    patch = workdir / f"patience{patience}.yaml"
    patch.write_text(PATCH.format(patience=patience))
    logs = Path(f"runs/patience{patience}/tensorboard")  # the logger follows checkpoint.root
    before = set(logs.glob("version_*"))
    run_train(
        "fit",
        "--config",
        DEMO,
        "--config",
        str(patch),
        *TINY,
        "--trainer.max_epochs",
        "80",
        "--model.init_args.lr",
        "0.05",
        "--checkpoint.root",
        f"runs/patience{patience}",  # patience does not name the run folder: each run its own root
    )
    (logdir,) = set(logs.glob("version_*")) - before
    return logdir


def test_replayed_short_patience_equals_a_real_short_run(workdir: Path) -> None:
    long_epochs, long_scores = validation_curve(fit_with_patience(workdir, 40), "val/spearman")
    short_epochs, short_scores = validation_curve(fit_with_patience(workdir, 3), "val/spearman")
    assert short_epochs[-1] < long_epochs[-1]  # the short run really stopped earlier
    stop, best_epoch, best = replay(long_epochs, long_scores, patience=3, min_epochs=5)
    assert stop == short_epochs[-1]
    assert best_epoch == short_epochs[short_scores.argmax()] and best == pytest.approx(short_scores.max())
