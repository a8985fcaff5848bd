"""How the command line ends on a user's mistake: one ``error:`` line, never a traceback."""

from __future__ import annotations

import re
import sys
from argparse import ArgumentError
from typing import Any, Callable, Optional, TypeVar

from lightning.pytorch.utilities.exceptions import SIGTERMException

from nie.cli.parsing import condense_parse_error
from nie.core.errors import ConfigError, NIEError, user_line


def wrapped_user_error(err: BaseException) -> Optional[str]:
    """The project's own error that jsonargparse wrapped while instantiating a class ("Does not validate
    against any of the Union subtypes ... Errors: - <our message>"), as one line; None if there is none."""
    cause: Optional[BaseException] = err
    while cause is not None:
        if isinstance(cause, NIEError):
            return user_line(cause)
        cause = cause.__cause__ or cause.__context__
    listed = re.search(r"^Errors:\n\s*- (.+)$", str(err), re.M)
    return listed.group(1).strip() if listed and "Union subtypes" in str(err) else None


def user_message(err: BaseException) -> Optional[str]:
    """The one line a user's mistake is reported by, or None for an error that is not the user's."""
    if isinstance(err, NIEError):
        return user_line(err)
    if isinstance(err, ArgumentError):
        return condense_parse_error(str(err))
    return wrapped_user_error(err) if isinstance(err, (ValueError, TypeError)) else None


T = TypeVar("T")
RESUME_HINT = "last.ckpt holds the last validated epoch: rerun with --ckpt_path last to resume"  # fit's
# a protocol (cv, select, backtest) takes no --ckpt_path: its rerun reads finished splits back
PROTOCOL_RESUME_HINT = (
    "rerun the same command: finished splits are read back and a split cut short continues from its last.ckpt"
)


def attributed(source: str, build: Callable[[], T]) -> T:
    """``build()``, a user's mistake in it reported as one line (a ``ConfigError``) that names ``source`` (which
    candidate or member of several the mistake is in) where one is given."""
    try:
        return build()
    except (NIEError, ArgumentError, ValueError, TypeError) as err:
        message = user_message(err)
        if message is None:
            raise
        raise ConfigError(f"{source}: {message}" if source else message) from None


def exit_on_user_error(main: Callable[[], Any], resume_hint: str = RESUME_HINT) -> Any:
    """Run ``main``; a configuration or data mistake exits with one ``error:`` line, not a traceback, and
    an interrupted run with ``resume_hint`` (how the command resumes)."""
    try:
        return attributed("", main)
    except SIGTERMException:  # Lightning stops cleanly (last.ckpt saved) but would exit 0
        sys.exit(f"interrupted by SIGTERM; {resume_hint}")
    except SystemExit as stop:  # Lightning ends a run stopped by Ctrl-C with a bare exit 1
        if isinstance(stop.__context__, KeyboardInterrupt):
            sys.exit(f"interrupted by Ctrl-C; {resume_hint}")
        raise
    except ConfigError as err:  # attributed's one line
        sys.exit(f"error: {err}")
