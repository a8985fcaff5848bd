"""What a shorter early-stopping patience would have selected, replayed from a longer run's log.

Training is deterministic, so a run with patience P' < P passes through exactly the validation
scores of the run with patience P until it stops. Reading those scores from TensorBoard gives the
shorter run's best validation score without training it again: a validation-only comparison of
training budgets.

    python bench/early_stopping_replay.py runs/selection/patience40/tensorboard/version_* \\
        --patience 20 40 --min-epochs 50
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def validation_curve(logdir: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, score) of every validation check during training.

    Epoch-end metrics are logged at step = epoch. Dropped: the HParams tab's placeholder (step 0,
    overwritten by the first check) and the re-validation of the best checkpoint after ``fit``
    (a step with no ``train/loss``).
    """
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    trained = {s.step for s in events.Scalars("train/loss")}
    scores = {s.step: s.value for s in events.Scalars(tag) if s.step in trained}  # the last per step wins
    steps = sorted(scores)
    return np.array(steps), np.array([scores[s] for s in steps])


def replay(epochs: np.ndarray, scores: np.ndarray, patience: int, min_epochs: int) -> tuple[int, int, float]:
    """(stop epoch, best epoch, best score) under ``callbacks.MinEpochsEarlyStopping`` (mode max);
    the checkpoint callback's best counts every check, warm-up included."""
    best, wait, stop = -np.inf, 0, len(scores) - 1
    for i, (epoch, score) in enumerate(zip(epochs, scores)):
        if epoch < min_epochs:
            continue
        if score > best:
            best, wait = score, 0
        else:
            wait += 1
            if wait >= patience:
                stop = i
                break
    chosen = int(np.argmax(scores[: stop + 1]))
    return int(epochs[stop]), int(epochs[chosen]), float(scores[chosen])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logdirs", nargs="+", type=Path, help="TensorBoard version directories, one per fold")
    parser.add_argument("--patience", type=int, nargs="+", required=True, help="patience in validation checks")
    parser.add_argument("--min-epochs", type=int, default=0)
    parser.add_argument("--tag", default="val/spearman")
    args = parser.parse_args()
    curves = [validation_curve(d, args.tag) for d in sorted(args.logdirs) if any(d.glob("events.*"))]
    for patience in args.patience:
        results = [replay(e, s, patience, args.min_epochs) for e, s in curves]
        bests = [r[2] for r in results]
        print(
            f"patience {patience}: best {args.tag} {np.mean(bests):.4f} ± {np.std(bests):.4f}, "
            f"mean stop epoch {np.mean([r[0] for r in results]):.0f}  "
            + "  ".join(f"(stop {r[0]}, best epoch {r[1]}: {r[2]:.4f})" for r in results)
        )


if __name__ == "__main__":
    main()
