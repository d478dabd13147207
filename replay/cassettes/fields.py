"""What every cassette format's reader shares: the errors of one record, and the conversions of
headers, bodies and statuses from any format's shape."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from contracts.errors import TalonContractsError
from replay.cassettes.model import Interaction, ReadProblem

__all__ = ["MAX_PROBLEMS", "RECORD_ERRORS", "BadRecord", "CassetteError", "Item", "body_of", "header_lists",
           "header_map", "seconds_of", "status_of", "text_field", "text_or_bytes", "url_field", "why"]  # fmt: skip

Item = Interaction | ReadProblem
MAX_PROBLEMS = 1000  # per file; beyond this problems are counted, not kept (see ``ReadProblem``)


class CassetteError(TalonContractsError, OSError):
    """A file cannot be read as recorded traffic at all (missing, unknown format ...)."""


class BadRecord(Exception):
    """One interaction cannot be read (becomes a ReadProblem)."""


#: RFC 9110: a header name is a token (an HTTP/2 pseudo-header, as HAR files hold, starts with ":");
#: a value holds no control character but a tab (a line break could put a second request on the wire).
_NAME = re.compile(r":?[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _checked(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    for name, values in headers.items():
        if _NAME.fullmatch(name) is None:
            raise BadRecord(
                f"header name {name!r} is not an RFC 9110 token (no spaces, colons or line breaks)"
            )
        for value in values:
            if _BAD_VALUE.search(value):
                raise BadRecord(
                    f"header {name}: its value holds a control character (a line break ...), which HTTP does not allow"
                )
    return headers


def header_map(value: Any) -> dict[str, list[str]]:
    """Header shapes of every format -> {name: [values]} (names keep their case), each name and value
    checked against the HTTP grammar (:class:`BadRecord` when one is not)."""
    if value is None:
        return {}
    result: dict[str, list[str]] = {}
    if type(value) is dict:  # the usual shape, {name: [text, ...]}, is taken as it is (it is ours)
        for name, values in value.items():
            if type(values) is not list or not values or type(name) is not str:
                break
            if (len(values) != 1 or type(values[0]) is not str) and not all(type(v) is str for v in values):
                break
        else:
            return _checked(value)
    if isinstance(value, Mapping):
        pairs: list[Any] = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, Mapping) and "name" in item:
                pairs.append((item["name"], item.get("value", "")))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                pairs.append(tuple(item))
            else:
                raise BadRecord(f"a header entry must be a name/value pair, not {item!r}")
    else:
        raise BadRecord(f"headers must be a mapping or a list, not {type(value).__name__}")
    for name, values in pairs:
        if not isinstance(name, str):
            raise BadRecord(f"header name {name!r} is not text")
        for one in values if isinstance(values, list) else [values]:
            if one is None:
                continue
            if isinstance(one, (Mapping, list, tuple, set)):
                raise BadRecord(f"header {name}: a value must be text, not {type(one).__name__} {one!r:.60}")
            result.setdefault(name, []).append(one.decode("latin-1") if isinstance(one, bytes) else str(one))
    return _checked(result)


def body_of(value: Any) -> bytes | None:
    """Body shapes: text, bytes (!!binary), {string: ...}, {base64_string: ...}, {encoding, string}."""
    if value is None:
        return None
    if type(value) is str:
        return value.encode("utf-8", "replace")
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    if isinstance(value, Mapping):
        if value.get("base64_string") is not None:
            try:
                return base64.b64decode(value["base64_string"], validate=True)
            except (ValueError, TypeError):
                raise BadRecord("base64_string is not valid base64") from None
        if "string" in value:
            encoding = value.get("encoding") or "utf-8"
            inner = value["string"]
            if isinstance(inner, str):
                try:
                    return inner.encode(encoding)
                except (LookupError, UnicodeEncodeError):
                    return inner.encode("utf-8", "replace")  # an unknown encoding, a lone surrogate
            return body_of(inner)
        if not value:
            return None
    raise BadRecord(f"unreadable body of type {type(value).__name__}")


def status_of(value: Any) -> int:
    if type(value) is int and 100 <= value <= 599:
        return value
    if isinstance(value, Mapping):
        value = value.get("code")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRecord(f"response status {value!r} is not a number")
    status = value
    if not 100 <= status <= 599:
        raise BadRecord(f"response status {status} is not an HTTP status")
    return status


def text_field(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRecord(f"{what} has no {key}")
    return value


#: Nothing a request line could not carry: no space and no control character (a line break would put a
#: second request on the wire, as in a header).
_BAD_URL = re.compile(r"[\x00-\x20\x7f]")


def url_field(data: Mapping[str, Any], key: str, what: str) -> str:
    """A request URL: text that one request line can carry and that parses as a URL."""
    value = text_field(data, key, what)
    found = _BAD_URL.search(value)
    if found is not None:
        raise BadRecord(
            f"{what} {key} holds {'a space' if found.group() == ' ' else 'a control character'} at "
            f"character {found.start() + 1} (percent-encode it: a request line cannot carry it)"
        )
    try:
        urlsplit(value).port  # noqa: B018 - parsing is the check: brackets, a port that is not a number
    except ValueError as exc:
        raise BadRecord(f"{what} {key} is not a URL: {exc}") from None
    return value


def seconds_of(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# Whatever a malformed record makes the conversion raise: it concerns that record only.
RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeError, RecursionError)


def why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BadRecord) else f"unreadable interaction ({type(exc).__name__}: {exc})"


def text_or_bytes(body: bytes | str | None) -> str | bytes | None:
    if body is None or body == b"" or body == "":
        return None
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body  # YAML writes it as !!binary, as vcrpy does


def header_lists(headers: Any) -> dict[str, list[str]]:
    """Any header shape -> {name: [values]}, names as written (an unreadable shape -> {})."""
    try:
        return header_map(headers)
    except BadRecord:
        return {}
