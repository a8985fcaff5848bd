"""How the command line ends on a user's mistake: one ``error:`` line, never a traceback."""

from __future__ import annotations

import re
import sys
from argparse import ArgumentError
from typing import Any, Callable, Optional

from lightning.pytorch.utilities.exceptions import SIGTERMException

from nie.cli.parsing import condense_parse_error
from nie.core.errors import NIEError


def wrapped_user_error(err: BaseException) -> Optional[str]:
    """The project's own error that jsonargparse wrapped while instantiating a class ("Does not validate
    against any of the Union subtypes ... Errors: - <our message>"), as one line; None if there is none."""
    cause: Optional[BaseException] = err
    while cause is not None:
        if isinstance(cause, NIEError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    listed = re.search(r"^Errors:\n\s*- (.+)$", str(err), re.M)
    return listed.group(1).strip() if listed and "Union subtypes" in str(err) else None


def exit_on_user_error(main: Callable[[], Any]) -> Any:
    """Run ``main``; a configuration or data mistake exits with one ``error:`` line, not a traceback."""
    try:
        return main()
    except SIGTERMException:  # Lightning stops cleanly (last.ckpt saved) but would exit 0
        sys.exit("interrupted by SIGTERM after saving last.ckpt; rerun with --ckpt_path last to resume")
    except NIEError as err:
        sys.exit(f"error: {err}")
    except ArgumentError as err:
        sys.exit(f"error: {condense_parse_error(str(err))}")
    except (ValueError, TypeError) as err:
        message = wrapped_user_error(err)
        if message is None:
            raise
        sys.exit(f"error: {message}")
