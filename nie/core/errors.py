"""Errors the user can fix; the CLI prints them as one line instead of a traceback."""


class NIEError(ValueError):
    """Bad configuration or input; the message names the file/field and what was expected."""


class DataError(NIEError):
    """Bad input data; the message names the file and the offending line or field."""


class ConfigError(NIEError):
    """A configuration value that cannot work."""
