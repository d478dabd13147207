"""One in-memory model of a recorded HTTP interaction, whatever file format it came from.

Cassette readers (``replay.cassettes``) turn vcrpy cassettes, schemathesis VCR reports, HAR files
and JSON Lines captures into :class:`Interaction` objects; problems with a single interaction
become :class:`ReadProblem` records so that the rest of a file can still be used.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

from contracts.http import HttpRequest, HttpResponse, normalize_headers

__all__ = ["Interaction", "ReadProblem", "decoded_body"]


@dataclass(slots=True)
class Interaction:
    """A request and (usually) its response, with where it was read from."""

    source: str
    index: int  # 0-based position in its file
    request: HttpRequest
    response: HttpResponse | None
    recorded_at: str | None = None  # RFC 3339, when the request was sent
    elapsed: float | None = None  # seconds until the response
    line: int | None = None  # where the interaction starts in its file, when known
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.source}#{self.index}" + (f" (line {self.line})" if self.line else "")


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A part of a file that could not be read. ``fatal``: reading the file stopped there."""

    source: str
    message: str
    index: int | None = None
    line: int | None = None
    fatal: bool = False

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        if self.index is not None:
            where += f" (interaction {self.index})"
        return f"{where}: {self.message}"


def decoded_body(headers: Any, body: bytes | str | None) -> bytes | str | None:
    """The body as the application saw it: gzip/deflate content encodings undone (vcrpy keeps them)."""
    if not isinstance(body, bytes) or not body:
        return body
    encoding = normalize_headers(headers).get("content-encoding", "").lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError):
        return body  # not really compressed: validation will say what is wrong with it
    return body
