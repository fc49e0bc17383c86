"""The one exception type the CLI turns into a clean message and a non-zero exit code."""

from __future__ import annotations


class RetainError(Exception):
    """A problem the user can fix (bad input, missing model, bad option).

    The CLI prints `str(error)` without a traceback and exits with `exit_code`.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
