"""Captures stored gzipped (``capture --gzip`` writes ``<story>.jsonl.gz``): read as they inflate.

A gzip file is detected by its magic bytes, whatever its name, and read through a stream that
inflates as the reader asks, so a JSON Lines capture is still read a line at a time. What a small
file may inflate to is untrusted: a line, or a document read whole, may inflate to at most
:data:`MAX_INFLATED_READ` bytes, and a broken or truncated stream is one clear error
(:class:`~replay.cassettes.fields.CassetteError`), never a traceback.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from replay.cassettes.fields import CassetteError

__all__ = ["GZIP_MAGIC", "MAX_INFLATED_READ", "Inflating", "open_capture", "plain_suffix"]

GZIP_MAGIC = b"\x1f\x8b"
#: The most one read of a gzipped capture may inflate to (a line, or a JSON document read whole):
#: 128 MiB holds the largest body a cassette may decode (64 MiB) in base64 with room to spare.
MAX_INFLATED_READ = 128 * 1024 * 1024


def plain_suffix(path: Path) -> str:
    """``.jsonl`` for ``x.jsonl`` and for ``x.jsonl.gz``: the suffix of what is stored."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


class Inflating:
    """The bytes of a gzip stream, read line by line or in pieces, each read bounded."""

    def __init__(self, stream: IO[bytes], source: str, limit: int = MAX_INFLATED_READ) -> None:
        self.raw = stream
        self.gzip = gzip.GzipFile(fileobj=stream, mode="rb")
        self.source = source
        self.limit = limit

    def _bounded(self, read: Callable[[int], bytes], size: int | None, what: str) -> bytes:
        """One read of at most ``size`` bytes (all: None or negative), refused past the limit."""
        bound = self.limit + 1 if size is None or size < 0 else min(size, self.limit + 1)
        try:
            data = read(bound)
        except (OSError, EOFError, zlib.error) as exc:
            raise CassetteError(f"{self.source}: the gzip stream is broken: {exc}") from None
        if len(data) > self.limit:
            raise CassetteError(f"{self.source}: {what} inflates past {self.limit:,} bytes; refused")
        return data

    def readline(self, size: int = -1) -> bytes:
        return self._bounded(self.gzip.readline, size, "a line")

    def read(self, size: int = -1) -> bytes:
        return self._bounded(self.gzip.read, size, "one piece read whole")

    def __iter__(self) -> Inflating:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self.gzip.close()
        self.raw.close()

    def __enter__(self) -> Inflating:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(path: Path, source: str) -> IO[bytes]:
    """``path`` opened for reading: inflating when it is gzip (``OSError`` if it cannot be opened)."""
    stream = path.open("rb")
    try:
        magic = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    except OSError:
        magic = b""
    if magic == GZIP_MAGIC:
        return cast(IO[bytes], Inflating(stream, source))  # (what the readers use of a binary stream)
    return stream
