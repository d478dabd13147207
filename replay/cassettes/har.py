"""HAR 1.2 (``log.entries``: browsers' devtools, proxies, mitmproxy): one entry, one interaction.

Read by :func:`from_har`, written by :func:`to_har` (one entry; ``replay.cassettes.files`` streams
the log around them: :func:`log_opening`, the entries, :data:`LOG_CLOSING`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from contracts import __version__
from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.fields import (
    BadRecord,
    header_lists,
    header_map,
    seconds_of,
    status_of,
    text_field,
    text_or_bytes,
    url_field,
)
from replay.cassettes.model import Interaction

__all__ = [
    "LOG_CLOSING",
    "NOT_RECORDED",
    "POST_ENCODING",
    "UNKNOWN_TIME",
    "from_har",
    "log_opening",
    "to_har",
]

#: HAR requires ``startedDateTime`` and ``time``; an interaction that does not know them (a vcrpy
#: cassette holds neither) gets these fixed values, so that the same source always gives the same
#: file, and the entry lists them in :data:`NOT_RECORDED` (a custom field: HAR's start with "_"),
#: so that reading the file back gives "not recorded" again instead of the epoch and 0 ms.
UNKNOWN_TIME = "1970-01-01T00:00:00.000Z"
NOT_RECORDED = "_notRecorded"
#: HAR's postData has no ``encoding`` (only a response's content has): a request body that is not
#: UTF-8 text is written in base64 with this custom field saying so (read back byte for byte); a
#: reader that does not know it sees base64 text rather than a corrupted body. ``encoding`` is read too.
POST_ENCODING = "_encoding"
_HTTP_VERSION = "HTTP/1.1"  # what the model does not keep; the replay speaks HTTP/1.1
LOG_CLOSING = b"\n]}}\n"


def from_har(entry: Any, source: str, index: int) -> Interaction:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("request"), Mapping):
        raise BadRecord("a HAR entry needs a request")
    request = entry["request"]
    raw_post = request.get("postData")
    post: Mapping[str, Any] = raw_post if isinstance(raw_post, Mapping) else {}
    headers = {
        k: v for k, v in header_map(request.get("headers")).items() if not k.startswith(":")
    }  # HTTP/2 pseudo-headers
    body = _payload(post, post.get(POST_ENCODING, post.get("encoding")), "request postData")
    http_request = HttpRequest(
        text_field(request, "method", "the request").upper(),
        url_field(request, "url", "the request"),
        headers,
        body or None,
    )
    response = entry.get("response")
    http_response = None
    if isinstance(response, Mapping) and response.get("status"):  # status 0: the browser got no answer
        raw_content = response.get("content")
        content: Mapping[str, Any] = raw_content if isinstance(raw_content, Mapping) else {}
        payload = _payload(content, content.get("encoding"), "response content")
        response_headers = {
            k: v for k, v in header_map(response.get("headers")).items() if not k.startswith(":")
        }
        http_response = HttpResponse(status_of(response["status"]), response_headers, payload)
    raw_unknown = entry.get(NOT_RECORDED)
    unknown = raw_unknown if isinstance(raw_unknown, list) else []
    time_ms = None if "time" in unknown else seconds_of(entry.get("time"))
    return Interaction(
        source=source,
        index=index,
        request=http_request,
        response=http_response,
        recorded_at=None if "startedDateTime" in unknown else entry.get("startedDateTime"),
        elapsed=time_ms / 1000 if time_ms is not None and time_ms >= 0 else None,
    )


def _payload(holder: Mapping[str, Any], encoding: Any, what: str) -> bytes | None:
    text = holder.get("text")
    if text is None:
        return None
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (ValueError, TypeError):
            raise BadRecord(f"{what} says base64 but is not") from None
    return str(text).encode("utf-8")


# --------------------------------------------------------------------------- writing


def log_opening() -> bytes:
    """The start of a HAR log, up to its first entry (the entries follow, then :data:`LOG_CLOSING`)."""
    creator = orjson.dumps({"name": "talon-contracts", "version": __version__})
    return b'{"log":{"version":"1.2","creator":' + creator + b',"entries":[\n'


def _headers(headers: Any) -> list[dict[str, str]]:
    # the model keeps {name: [values]}: each value is one HAR header, in order, repeats and all
    return [
        {"name": name, "value": value} for name, values in header_lists(headers).items() for value in values
    ]


def _first(headers: Any, name: str) -> str | None:
    for key, values in header_lists(headers).items():
        if key.lower() == name and values:
            return values[0]
    return None


def _body(body: bytes | str | None) -> tuple[dict[str, Any], int]:
    """({text, encoding?} of a body, its size in bytes): UTF-8 text as it is, anything else base64.

    The body is written as recorded: one still compressed (redaction off, or a coding that cannot
    be undone such as br) keeps its Content-Encoding and goes in base64, so that reading it back
    gives the same bytes, although HAR means content.text to be decoded."""
    value = text_or_bytes(body)
    if value is None:
        return ({"text": ""} if body is not None else {}), 0
    if isinstance(value, bytes):
        return {"text": base64.b64encode(value).decode("ascii"), "encoding": "base64"}, len(value)
    return {"text": value}, len(value.encode("utf-8"))


def _request(request: HttpRequest) -> dict[str, Any]:
    query = urlsplit(request.url).query
    result: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": _HTTP_VERSION,
        "headers": _headers(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)],
        "cookies": [],  # HAR's parsed cookies: the Cookie header (redacted) is in headers
        "headersSize": -1,
    }
    content, size = _body(request.body)
    result["bodySize"] = size
    if content.get("text"):  # an empty body has no postData (read back as no body)
        encoded = content.pop("encoding", None)
        result["postData"] = {"mimeType": _first(request.headers, "content-type") or "", **content}
        if encoded:
            result["postData"][POST_ENCODING] = encoded
    return result


def _response(response: HttpResponse | None) -> dict[str, Any]:
    if response is None:  # what browsers write for a request that got no answer: status 0
        return {"status": 0, "statusText": "", "httpVersion": "", "headers": [], "cookies": [],
                "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
                "bodySize": -1}  # fmt: skip
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    content, size = _body(response.body)
    return {
        "status": response.status,
        "statusText": phrase,
        "httpVersion": _HTTP_VERSION,
        "headers": _headers(response.headers),
        "cookies": [],
        "content": {"size": size, "mimeType": _first(response.headers, "content-type") or "", **content},
        "redirectURL": _first(response.headers, "location") or "",
        "headersSize": -1,
        "bodySize": size,
    }


def to_har(interaction: Interaction) -> dict[str, Any]:
    """The HAR 1.2 entry of an interaction (``log.entries[i]``)."""
    unknown = []
    if not interaction.recorded_at:
        unknown.append("startedDateTime")
    if interaction.elapsed is None:
        unknown.append("time")
    # milliseconds to the microsecond: what JSON Lines keeps of seconds (6 decimals)
    time = round(interaction.elapsed * 1000, 3) if interaction.elapsed is not None else 0
    entry: dict[str, Any] = {
        "startedDateTime": interaction.recorded_at or UNKNOWN_TIME,
        "time": time,
        "request": _request(interaction.request),
        "response": _response(interaction.response),
        "cache": {},
        "timings": {"send": 0, "wait": time, "receive": 0},  # all of it waiting: nothing finer is known
    }
    if unknown:
        entry[NOT_RECORDED] = unknown
    return entry
