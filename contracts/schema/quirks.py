"""Repairing what a vendor document gets wrong in its schemas.

:func:`repair_schema_quirks` fixes a schema keyword when the intent is clear (``maximum: '1E+3'``,
``required: 'true'`` on a property), drops it when not, and records a
:class:`~contracts.errors.LoadIssue` either way, so that a quirk never stops a contract from loading.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..documents import Document, join_pointer
from .locating import LISTS_OF_SCHEMAS, SINGLE_SCHEMAS, iter_schema_roots, walk_schema

__all__ = ["repair_schema_quirks"]

_NON_NEGATIVE_INT_KEYWORDS = (
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
)
_NUMBER_KEYWORDS = ("maximum", "minimum", "multipleOf")
_JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}

_INTEGER_TEXT = re.compile(r"[-+]?[0-9]+")


def _as_number(value: Any) -> float | int | None:
    """A number written as a string (``'1E+3'``, ``' 12 '``), or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    text = value.strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)  # exact, even beyond float precision
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number == int(number) and abs(number) < 2**53 else number


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _repair_bounds(node: dict[str, Any], pointer: str, doc: Document) -> None:
    for key in (*_NUMBER_KEYWORDS, *_NON_NEGATIVE_INT_KEYWORDS, "exclusiveMaximum", "exclusiveMinimum"):
        if key not in node:
            continue
        value = node[key]
        where = join_pointer(pointer, key)
        if key.startswith("exclusive") and isinstance(value, bool):
            continue  # the OpenAPI 3.0 form, converted later
        number = (
            value if isinstance(value, (int, float)) and not isinstance(value, bool) else _as_number(value)
        )
        if number is None:
            doc.issue(where, f"{key} has the non-numeric value {value!r}; ignored")
            del node[key]
            continue
        if key in _NON_NEGATIVE_INT_KEYWORDS and (number < 0 or number != int(number)):
            doc.issue(where, f"{key} must be a non-negative integer, got {value!r}; ignored")
            del node[key]
            continue
        if key == "multipleOf" and number <= 0:
            doc.issue(where, f"multipleOf must be greater than 0, got {value!r}; ignored")
            del node[key]
            continue
        if number is not value:
            doc.issue(where, f"{key} is the string {value!r}; read as the number {number!r}")
            node[key] = int(number) if key in _NON_NEGATIVE_INT_KEYWORDS else number


def _repair_shapes(node: dict[str, Any], pointer: str, doc: Document) -> None:
    """Keywords whose value has the wrong JSON type: converted when the intent is clear, else dropped."""

    def drop(key: str, why: str) -> None:
        doc.issue(join_pointer(pointer, key), f"{why}; ignored")
        del node[key]

    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        unknown = [k for k in kinds if not isinstance(k, str) or k not in _JSON_TYPES]
        if unknown or not kinds:
            drop("type", f"unknown type {unknown[0]!r}" if unknown else "type is an empty list")
    if "required" in node:
        required = node["required"]
        if not (isinstance(required, list) and all(isinstance(x, str) for x in required)):
            drop("required", "required must be a list of property names")  # Swagger 2's `required: true`
        elif len(set(required)) != len(required):
            node["required"] = list(dict.fromkeys(required))
    if "enum" in node and not (isinstance(node["enum"], list) and node["enum"]):
        drop("enum", "enum must be a non-empty list")
    for key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
        if key in node and not isinstance(node[key], dict):
            drop(key, f"{key} must be a mapping")
    for key in LISTS_OF_SCHEMAS:
        if key in node and not (isinstance(node[key], list) and node[key]):
            drop(key, f"{key} must be a non-empty list of schemas")
    for key in (*SINGLE_SCHEMAS, "items"):
        value = node.get(key)
        if key not in node or isinstance(value, (dict, bool)) or (key == "items" and isinstance(value, list)):
            continue
        flag = _as_bool(value)
        if flag is None:
            drop(key, f"{key} must be a schema or a boolean, got {value!r}")
        else:
            doc.issue(join_pointer(pointer, key), f"{key} is the string {value!r}; read as {flag}")
            node[key] = flag
    for key in ("uniqueItems", "nullable", "readOnly", "writeOnly", "deprecated"):
        value = node.get(key)
        if key not in node or isinstance(value, bool):
            continue
        flag = _as_bool(value)
        if flag is None:
            drop(key, f"{key} must be a boolean, got {value!r}")
        else:
            doc.issue(join_pointer(pointer, key), f"{key} is the string {value!r}; read as {flag}")
            node[key] = flag
    if "format" in node and not isinstance(node["format"], str):
        drop("format", f"format must be a string, got {node['format']!r}")
    if "pattern" in node:
        try:
            re.compile(node["pattern"])
        except (re.error, TypeError):
            drop("pattern", f"pattern {node['pattern']!r} is not a valid regex")


def _repair_node(node: dict[str, Any], pointer: str, doc: Document) -> None:
    if "$ref" in node and not isinstance(node["$ref"], str):
        doc.issue(join_pointer(pointer, "$ref"), "$ref is not a string; replaced by an unconstrained schema")
        node.clear()
    if "$ref" in node:
        return
    _repair_bounds(node, pointer, doc)
    _repair_shapes(node, pointer, doc)


def repair_schema_quirks(doc: Document) -> None:
    """Repair (in place) schema quirks of ``doc.data``, recording each in ``doc.issues``."""
    for pointer, root in iter_schema_roots(doc.data):
        walk_schema(root, pointer, lambda node, ptr: _repair_node(node, ptr, doc))
