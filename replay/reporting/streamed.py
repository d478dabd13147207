"""A report file written while a run goes on, renamed into place when it ends (also after Ctrl-C).

Opened at once, so that a path that cannot be written is found before the run, not after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from replay.cassettes import atomic_write

__all__ = ["StreamedFile"]


class StreamedFile:
    """``path``, written through a temporary file beside it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._context = atomic_write(self.path)
        self.stream: IO[bytes] = self._context.__enter__()

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8"))

    def finish(self) -> None:
        """Rename the file into place."""
        self._context.__exit__(None, None, None)

    def abandon(self, exc: BaseException) -> None:
        """Leave nothing behind (the temporary file is removed)."""
        self._context.__exit__(type(exc), exc, exc.__traceback__)
