"""Errors the user can fix; the CLI prints them as one line instead of a traceback."""

import difflib
from typing import ClassVar, Iterable, Optional


class NIEError(ValueError):
    """Bad configuration or input; the message names the file/field and what was expected."""

    docs: ClassVar[Optional[str]] = None  # the page that explains the fix; the CLI's line ends with it


class DataError(NIEError):
    """Bad input data; the message names the file and the offending line or field."""

    docs = "docs/data.md"


class ConfigError(NIEError):
    """A configuration value that cannot work."""


class RunFolderError(ConfigError):
    """A run folder or checkpoint recorded with other settings than the config's: refused, never mixed."""

    docs = "docs/runs.md"


def user_line(err: NIEError) -> str:
    """The error's message, and the docs page that explains the fix where there is one."""
    return f"{err} (see {err.docs})" if err.docs else str(err)


def close_names(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` that look like ``name`` (never ``name`` itself), closest first."""
    return [c for c in difflib.get_close_matches(name, set(names), n=n) if c != name]


def did_you_mean(name: str, names: Iterable[str], n: int = 3) -> str:
    """The hint every refused name ends with: `` (did you mean 'a' or 'b'?)`` for up to ``n`` of ``names`` that look
    like ``name``, '' for none; one wording for every section and option."""
    close = close_names(name, names, n)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
