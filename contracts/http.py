"""A minimal, transport-neutral model of an HTTP exchange.

The validator, the client, the cassette readers and the replay engine all speak these two
classes, so that a request captured by vcrpy, read from a HAR file or sent by our client is
checked by the same code.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "MAX_JSON_VALUES",
    "HeadersLike",
    "HttpRequest",
    "HttpResponse",
    "check_json_size",
    "has_content",
    "is_json_media",
    "media_type",
    "normalize_headers",
    "parse_json",
    "plain_url_parts",
    "query_params",
]

HeaderValue = str | bytes | Iterable[str]
HeadersLike = Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]]

#: The most values (objects, arrays and items) a JSON text is parsed into. Memory, not bytes, is what
#: a body costs: 63 MB of ``{}`` parse into 21 million dicts (> 1 GB); 1,000,000 of them take ~90 MB
#: and 0.11 s. The largest body in cassettes/ holds 461 values (8.7 KB).
MAX_JSON_VALUES = 1_000_000
#: Texts shorter than this cannot hold MAX_JSON_VALUES values ("[0,0,...]" is 2 bytes per value):
#: only longer ones are counted, so the usual body pays nothing.
_COUNTED_FROM = 2 * MAX_JSON_VALUES


def check_json_size(data: bytes | str, limit: int = MAX_JSON_VALUES) -> None:
    """Raise ``ValueError`` if ``data`` may hold more than ``limit`` values.

    An upper bound read without parsing (every value of a container but the first follows a comma):
    0.16 s for 60 MB, against seconds and gigabytes for parsing it.
    """
    if len(data) < 2 * limit:
        return
    if isinstance(data, str):
        count = data.count("{") + data.count("[") + data.count(",")
    else:
        count = data.count(b"{") + data.count(b"[") + data.count(b",")
    if count > limit:
        raise ValueError(f"the JSON text holds up to {count:,} values, more than the {limit:,} read; refused")


try:  # a dependency, but keep working where no orjson wheel exists
    import orjson as _orjson

    def parse_json(data: bytes | str) -> Any:
        """Parse JSON text (raises ``ValueError`` on malformed input or past :data:`MAX_JSON_VALUES`)."""
        if len(data) >= _COUNTED_FROM:
            check_json_size(data)
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            return _parse_strictly(data)  # what orjson refuses: nesting deeper than 1024, lone surrogates

except ImportError:  # pragma: no cover - depends on the environment

    def parse_json(data: bytes | str) -> Any:
        """Parse JSON text (raises ``ValueError`` on malformed input or past :data:`MAX_JSON_VALUES`)."""
        check_json_size(data)
        try:
            return json.loads(data)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply to be checked") from None


def _parse_strictly(data: bytes | str) -> Any:
    """The standard library's parser, for what orjson refuses, with the same outcome for text that
    no validator could check: a ``ValueError``."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be checked") from None
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the JSON text escapes a lone UTF-16 surrogate: not valid Unicode") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be checked") from None
    return document


def _header_text(value: HeaderValue) -> str:
    """A header value of any shape as text (normalize_headers reads the usual one, ``[text]``, itself)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]  # the usual shape in cassettes
    return ", ".join(_header_text(v) for v in value)


class NormalizedHeaders(dict[str, str]):
    """What :func:`normalize_headers` returns; passing it back costs nothing (hot paths call it often).
    Treat it as read-only: it may be shared."""


def normalize_headers(headers: HeadersLike | None) -> dict[str, str]:
    """Lower-cased names; repeated headers (lists in cassettes) joined with ', '."""
    if type(headers) is NormalizedHeaders:
        return headers
    if not headers:
        return NormalizedHeaders()
    pairs = headers.items() if type(headers) is dict or isinstance(headers, Mapping) else headers
    result = NormalizedHeaders()
    for name, value in pairs:
        key = name.lower()
        # the usual shape in cassettes first, without a call
        text = (
            value[0]
            if type(value) is list and len(value) == 1 and type(value[0]) is str
            else _header_text(value)
        )
        result[key] = f"{result[key]}, {text}" if key in result else text
    return result


#: ``scheme://host`` (no brackets: IPv6 literals are urlsplit's) or nothing but not ``//``; then the
#: path, the query, the fragment
_PLAIN_URL = re.compile(r"(?:[A-Za-z]+://[^/?#\[\]]*|(?!//))(/[^?#]*)(?:\?([^#]*))?(?:#.*)?", re.DOTALL)


# cached: a replay reads each request's URL twice (to find its operation, then to send it)
@functools.lru_cache(maxsize=256)
def plain_url_parts(url: str) -> tuple[str, str] | None:
    """(path, query) of a plain URL (``/p?q`` or ``scheme://host/p?q#f``, printable ASCII), as
    ``urlsplit`` reads them, at a fraction of its cost (hot paths read a URL per request); None
    for anything else, where ``urlsplit`` must decide."""
    # urlsplit drops tabs and line breaks, strips leading controls, and refuses some non-ASCII hosts
    if not (url.isascii() and url.isprintable()):
        return None
    found = _PLAIN_URL.fullmatch(url)
    if found is None:
        return None
    return found[1], found[2] or ""


def has_content(body: bytes | str | None) -> bool:
    """True when a body holds more than whitespace (without copying it)."""
    return body is not None and len(body) > 0 and not body.isspace()


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def query_params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(slots=True, repr=False)
class HttpRequest:
    method: str
    url: str  # a full URL, or a path with its query string
    headers: HeadersLike = field(default_factory=dict)
    body: bytes | str | None = None

    def __repr__(self) -> str:  # reprs end up in test reports: never show credentials
        names = sorted(normalize_headers(self.headers))
        shown = [f"{n}: <redacted>" if n in SECRET_HEADERS else n for n in names]
        size = len(self.body) if self.body else 0
        return f"HttpRequest({self.method} {self.url}, headers=[{', '.join(shown)}], body={size} bytes)"

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: HeadersLike = field(default_factory=dict)
    body: bytes | str | None = None
