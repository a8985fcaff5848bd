"""Every private Lightning and jsonargparse API the project relies on, in one place.

Each is used because no public API does the job (said at each entry). ``PRIVATE_USES`` lists them with
the modules that use them; ``tests/test_lightning_private.py`` fails when an installed Lightning no
longer has one, and when a scan of the production code finds a private use the list does not name, so
moving the ``lightning`` pin is a test run, not an audit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only


@dataclass(frozen=True)
class PrivateUse:
    """``names`` of ``owner`` (a class or module path) that ``where`` (project files) rely on, and why."""

    owner: str
    names: tuple[str, ...]
    where: tuple[str, ...]
    why: str
    text: bool = False  # the format of a message, not attributes: read by the tests' examples, not a scan


HERE = "nie/core/lightning_private.py"
PRIVATE_USES: tuple[PrivateUse, ...] = (
    PrivateUse(
        "lightning.pytorch.callbacks.ModelCheckpoint",
        ("_should_skip_saving_checkpoint", "_save_last_checkpoint", "_monitor_candidates", "_last_global_step_saved"),
        (HERE,),
        "last.ckpt at every validation: Lightning refreshes it only with a top-k save (refresh_last_checkpoint)",
    ),
    PrivateUse(
        "lightning.pytorch.loggers.TensorBoardLogger",
        ("_version", "_experiment"),
        (HERE,),
        "a resumed run logs into its own version, known only after the logger is built (reuse_logger_version)",
    ),
    PrivateUse(
        "lightning.pytorch.utilities.rank_zero_only",
        ("rank",),
        (HERE,),
        "LICAP's inner single-device Trainer resets the process rank; no public API restores it",
    ),
    PrivateUse(
        "lightning.pytorch.cli.LightningCLI",
        ("_parse_ckpt_path",),
        ("nie/cli/lightning_cli.py",),
        "refuse a checkpoint of another task or network before its hyper-parameters replace the config's",
    ),
    PrivateUse(
        "lightning.pytorch.Trainer",
        ("predict_loop",),
        ("nie/cli/lightning_cli.py",),
        "LightningCLI's predict discards trainer.predict's return value: after_predict reads the loop's",
    ),
    PrivateUse(
        "jsonargparse.ArgumentError",
        ("Parser key", "Errors:", "Union subtypes", "Got value", "is not accepted"),
        ("nie/cli/parsing.py", "nie/cli/exits.py"),
        "its nested report of a bad value condensed to one line (no structured form of it exists)",
        text=True,
    ),
)


def refresh_last_checkpoint(callback: ModelCheckpoint, trainer: pl.Trainer) -> None:
    """Save ``last.ckpt`` now unless this step saved it already. Lightning refreshes it at validation
    only when a top-k checkpoint was saved in the same step; resuming after a kill needs the latest."""
    if (
        callback.save_last
        and not callback._should_skip_saving_checkpoint(trainer)
        and callback._last_global_step_saved != trainer.global_step
    ):
        callback._save_last_checkpoint(trainer, callback._monitor_candidates(trainer))


def reuse_logger_version(logger: TensorBoardLogger, version: int | str) -> bool:
    """Make ``logger`` write into ``version`` if it has neither a version of the user's nor a writer yet
    (the constructor's ``version`` is fixed before the checkpoint to resume is known). True if it will."""
    if logger._version is not None or logger._experiment is not None:
        return False
    logger._version = version
    return True


@contextlib.contextmanager
def keeping_global_rank() -> Iterator[None]:
    """A Trainer built inside a run sets Lightning's process rank to its own (0): the run's is restored."""
    rank = rank_zero_only.rank  # type: ignore[attr-defined]  # Lightning sets this attribute at run time
    try:
        yield
    finally:
        rank_zero_only.rank = rank  # type: ignore[attr-defined]  # (as above)
