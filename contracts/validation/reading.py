"""Reading what is on the wire the way the server reads it.

A parameter arrives as strings: :func:`coerce` turns one into the JSON value its schema describes
(ASCII digits only, Go's boolean spellings), and a :class:`ParamPlan` says, per parameter, what to
turn it into. A body arrives with a ``Content-Type``: :func:`pick_media` finds the documented media
type it selects, and :func:`json_fallback` the one to check the body against when it selects none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..http import is_json_media, parse_json
from ..model import MediaType, Parameter
from .engines import Compiled

__all__ = ["ParamPlan", "coerce", "json_fallback", "not_json", "pick_media"]

# Go's strconv.ParseBool, which the API's query parsing accepts.
_BOOLEANS = {"1": True, "t": True, "T": True, "true": True, "TRUE": True, "True": True,
             "0": False, "f": False, "F": False, "false": False, "FALSE": False, "False": False}  # fmt: skip
# ASCII only: int() and float() would also take "٣" or " 5", which no server reads as numbers.
_INTEGER = re.compile(r"[-+]?[0-9]+")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@dataclass(slots=True)
class ParamPlan:
    """How to read one parameter: the JSON type its string becomes (and its items'), its schema."""

    param: Parameter
    kind: str  # JSON type the raw string is coerced to
    item_kind: str
    compiled: Compiled


def coerce(raw: str, kind: str) -> Any:
    """A parameter's string form -> the JSON value its schema describes (ValueError if impossible)."""
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError(raw)
        return int(raw)
    if kind == "number":
        if _INTEGER.fullmatch(raw):
            return int(raw)
        if not _NUMBER.fullmatch(raw):
            raise ValueError(raw)
        return float(raw)
    if kind == "boolean":
        if raw not in _BOOLEANS:
            raise ValueError(raw)
        return _BOOLEANS[raw]
    if kind == "null":
        if raw not in ("", "null"):
            raise ValueError(raw)
        return None
    if kind in ("object", "array"):
        try:
            return parse_json(raw)
        except ValueError:
            raise ValueError(raw) from None
    return raw


def not_json(headers: Mapping[str, str], problem: ValueError) -> str:
    """What to say of a body that does not parse as JSON. A body still carrying ``Content-Encoding``
    was not decoded where it entered (unsupported, corrupt, or inflating past the reader's bounds):
    the parser's complaint about its bytes would only mislead."""
    coding = headers.get("content-encoding", "").strip()
    if coding and coding.lower() != "identity":
        return (
            f"the body is not valid JSON: it is still Content-Encoding {coding} (unsupported, corrupt, "
            "or inflating past the reader's bounds)"
        )
    return f"the body is not valid JSON ({problem})"


def json_fallback(content: Mapping[str, MediaType], media: str) -> MediaType | None:
    """After a Content-Type mismatch: still check the body as JSON, unless it says it is something else."""
    if media and not is_json_media(media):
        return None
    return next((m for m in content.values() if is_json_media(m.media_type)), None)


def pick_media(content: Mapping[str, MediaType], media: str) -> MediaType | None:
    """The documented media type for ``media``: exact, then ``type/*``, then ``*/*``."""
    if not media:
        return None
    found = content.get(media)
    if found is not None:
        return found
    major = media.split("/", 1)[0]
    return content.get(f"{major}/*") or content.get("*/*")
