"""User-facing errors.

Anything a user can fix (a bad scenario, a missing asset, a non-empty output folder) is raised as
`SimgenError`; the CLI prints its one-line message and exits with code 2, without a traceback.
"""

from __future__ import annotations


class SimgenError(Exception):
    """An error the user can fix; `str(err)` is the whole one-line message."""


class ScenarioError(SimgenError):
    """A problem in a scenario file, located by file, line and key path."""

    def __init__(self, file: str, line: int | None, key_path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {key_path}: {message}" if key_path else f"{where}: {message}")
