"""Errors a user can cause and fix. The CLI prints a `UserError` as one line and exits 1; every other
exception is a bug and keeps its traceback.

Each subclass also derives from the builtin a caller would expect (`ConfigError` is a `ValueError`), so
library callers can catch either.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: the message says what was wrong and what to do."""

    def __str__(self) -> str:  # KeyError would quote its message
        return str(self.args[0]) if self.args else ""
