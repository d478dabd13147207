"""One in-memory model of a recorded HTTP interaction, whatever file format it came from.

Cassette readers (``replay.cassettes.reading``) turn vcrpy cassettes, schemathesis VCR reports, HAR files
and JSON Lines captures into :class:`Interaction` objects; problems with a single interaction
become :class:`ReadProblem` records so that the rest of a file can still be used.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from typing import Any

from contracts.http import HttpRequest, HttpResponse, normalize_headers
from replay.talon.policies import authorization

__all__ = [
    "AUTH_PLACEHOLDER",
    "FILTERED_CREDENTIALS",
    "FOREIGN_AUTH_PLACEHOLDER",
    "PLACEHOLDER",
    "Interaction",
    "ReadProblem",
    "body_text",
    "decoded_body",
    "is_filtered_credential",
    "plain",
    "plain_response",
    "with_credential_placeholder",
]

#: What a redacted cassette holds in place of a secret (``replay.recording.redaction`` writes them,
#: the engine reads them).
PLACEHOLDER = "REDACTED"
AUTH_PLACEHOLDER = authorization(PLACEHOLDER)  # the key in use: the engine sends the caller's
#: A credential other than the key in use (a story's revoked key ...): replay sends an invalid key
#: in its place, so that a recorded 401 is provoked again instead of answered with data.
FOREIGN_AUTH_PLACEHOLDER = authorization(f"{PLACEHOLDER}-OTHER")
#: What other tools write as a whole ``Authorization`` value in place of a credential they filtered
#: out: schemathesis' reports (``st run --report vcr|har``) write ``[Filtered]``; ``<redacted>`` and
#: ``***`` are the usual others (HTTP debuggers, log scrubbers). Each says "a credential was sent
#: and removed", not which one (schemathesis filters the wrong keys of its own auth checks alike),
#: so it is read as AUTH_PLACEHOLDER, the key in use: verify accepts it as a credential and replay
#: sends the caller's key. Only these exact values: anything else is checked as a key (a bare key,
#: a wrong scheme) or searched for as a secret, as before.
FILTERED_CREDENTIALS: tuple[str, ...] = ("[Filtered]", "<redacted>", "***")


def is_filtered_credential(value: str | None) -> bool:
    """Whether an ``Authorization`` value is one of FILTERED_CREDENTIALS."""
    return value is not None and value.strip() in FILTERED_CREDENTIALS


def with_credential_placeholder(request: HttpRequest) -> HttpRequest:
    """``request`` with a credential another tool filtered (FILTERED_CREDENTIALS) written as ours."""
    headers = normalize_headers(request.headers)
    if not is_filtered_credential(headers.get("authorization")):
        return request
    return dataclasses.replace(request, headers={**headers, "authorization": AUTH_PLACEHOLDER})


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


#: Decompressed bodies larger than this are left compressed (and then fail validation as not JSON):
#: no Integration API answer comes near it, and a "zip bomb" in a capture must not exhaust memory.
MAX_DECODED_BODY = 64 * 1024 * 1024


#: ... and so are bodies that inflate more than this many times past their first mebibyte. Bodies in
#: cassettes/ compress 2.3x (median) to 4.3x (max); gzip's own ceiling is ~1,030x, reached only
#: by repetition such as a "zip bomb".
MAX_EXPANSION = 100
_EXPANSION_FREE = 1024 * 1024


def _decompress(data: bytes, wbits: int) -> bytes | None:
    decompressor = zlib.decompressobj(wbits)
    limit = min(MAX_DECODED_BODY, _EXPANSION_FREE + MAX_EXPANSION * len(data))
    try:
        result = decompressor.decompress(data, limit)
    except zlib.error:
        return None
    if decompressor.unconsumed_tail:
        return None  # over the limit
    return result


def decoded_body(headers: Any, body: bytes | str | None) -> bytes | str | None:
    """The body as the application saw it: content encodings undone (vcrpy keeps them).

    ``gzip``/``x-gzip`` and ``deflate`` (zlib-wrapped or raw), applied in the order the header
    lists them; ``identity`` is ignored. A body that does not decompress is returned as it is.
    """
    if not isinstance(body, bytes) or not body:
        return body
    header = normalize_headers(headers).get("content-encoding", "")
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    data: bytes = body
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            decoded = _decompress(data, 16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            decoded = _decompress(data, zlib.MAX_WBITS)
            if decoded is None:
                decoded = _decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
        elif coding == "identity":
            continue
        else:
            return body  # br, zstd ...: left for the validator to report
        if decoded is None:
            return body
        data = decoded
    return data


def plain(headers: Any, body: bytes | str | None) -> tuple[dict[str, str], bytes | str | None]:
    """A message's headers (normalised) and body as the application saw them: content encodings
    undone, and ``Content-Encoding`` dropped when they were. The one place where a recorded or a
    live body is decoded: the engine, the offline checks, redaction and the upgrade check call it
    where a message enters; the diff and the validator then see plain bodies only."""
    normalized = normalize_headers(headers)
    if not body or "content-encoding" not in normalized:
        return normalized, body
    decoded = decoded_body(normalized, body)
    if decoded is body:
        return normalized, body  # br, zstd, a lying header ...: as it is (the validator says so)
    without = normalize_headers({k: v for k, v in normalized.items() if k != "content-encoding"})
    return without, decoded


def plain_response(response: HttpResponse) -> HttpResponse:
    """:func:`plain` of a response (the response itself when it is plain already)."""
    headers, body = plain(response.headers, response.body)
    if headers is response.headers and body is response.body:
        return response
    return HttpResponse(response.status, headers, body)


def body_text(body: bytes | str | None) -> str:
    """A body as text: UTF-8, undecodable bytes replaced; ``""`` for none."""
    if body is None:
        return ""
    return body if isinstance(body, str) else body.decode("utf-8", errors="replace")
