"""User-facing errors.

A :class:`UserError` is a mistake the user can fix (missing file, bad option, bad config,
corrupt data). The CLI prints its message as one line and exits with status 2, never a
traceback. Everything else is a bug and propagates normally.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""

    def __init__(self, message: str, *, path: object | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class ConfigError(UserError):
    """A configuration file (TOML) is invalid."""


class DataError(UserError):
    """A dataset file or image is missing, corrupt or of the wrong shape."""


def did_you_mean(name: str, choices) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""
