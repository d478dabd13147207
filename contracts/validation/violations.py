"""Turning an engine's errors into :class:`~contracts.errors.Violation` records.

Only a payload that fails pays for this: the checks ask the engine's fast ``is_valid`` first and
come here for the detailed pass. Each error gets a pointer into the instance, the schema path in the
contract, JSON-safe ``expected``/``actual`` values and a one-line message per keyword.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..documents import join_pointer
from ..errors import Violation, short_json
from .engines import Compiled

__all__ = ["describe_errors"]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, (list, str)) else "?"


def _bound(word: str) -> Callable[[Any, Any], str]:
    return lambda expected, actual: f"{actual} is {word} {expected}"


# One-line messages per keyword, (expected, actual) -> text; the engine's own message otherwise.
_MESSAGES: dict[str, Callable[[Any, Any], str]] = {
    "type": lambda e, a: (
        f"expected {' or '.join(e) if isinstance(e, list) else e}, got {_json_type(a)} {short_json(a, 60)}"
    ),
    "required": lambda e, a: f"required property {e!r} is missing",
    "enum": lambda e, a: f"{short_json(a, 60)} is not one of {short_json(e, 120)}",
    "const": lambda e, a: f"expected {short_json(e)}, got {short_json(a, 60)}",
    "format": lambda e, a: f"{short_json(a, 60)} is not a valid {e}",
    "minimum": _bound("below the minimum"),
    "exclusiveMinimum": _bound("below the exclusive minimum"),
    "maximum": _bound("above the maximum"),
    "exclusiveMaximum": _bound("above the exclusive maximum"),
    "minLength": lambda e, a: f"{short_json(a, 60)} is shorter than {e} character(s)",
    "maxLength": lambda e, a: f"string of {_count(a)} characters is longer than {e}",
    "minItems": lambda e, a: f"{_count(a)} item(s), fewer than the minimum {e}",
    "maxItems": lambda e, a: f"{_count(a)} item(s), more than the maximum {e}",
    "pattern": lambda e, a: f"{short_json(a, 60)} does not match {e!r}",
    "additionalProperties": lambda e, a: (
        f"undocumented properties {', '.join(map(repr, e))} are not allowed here"
    ),
    "readOnly": lambda e, a: "readOnly property must not be sent in a request",
    "writeOnly": lambda e, a: "writeOnly property must not appear in a response",
    "anyOf": lambda e, a: (
        f"{short_json(a, 60)} matches none of {' | '.join(map(str, e or ['its alternatives']))}"
    ),
    "oneOf": lambda e, a: (
        f"{short_json(a, 60)} matches not exactly one of {' | '.join(map(str, e or ['its alternatives']))}"
    ),
    "falseSchema": lambda e, a: "no value is allowed here",
}


def _message(keyword: str, expected: Any, actual: Any, fallback: str) -> str:
    render = _MESSAGES.get(keyword)
    return render(expected, actual) if render is not None else fallback


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _schema_at(schema: Any, path: Iterable[str | int]) -> Any:
    node = schema
    for token in path:
        if isinstance(node, dict):
            node = node.get(str(token))
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return None
    return node


def _describe(alternative: Any) -> str:
    if isinstance(alternative, dict):
        if "$ref" in alternative:
            return str(alternative["$ref"]).rsplit("/", 1)[-1]
        kind = alternative.get("type")
        if kind is not None:
            return "/".join(kind) if isinstance(kind, list) else str(kind)
        if "format" in alternative:
            return f"format {alternative['format']}"
    return "schema"


def describe_errors(
    compiled: Compiled,
    instance: Any,
    max_errors: int,
    *,
    operation_id: str | None,
    phase: str,
    status: int | None,
    location: str,
    base: str,
) -> list[Violation]:
    """The violations of ``instance``, which the engine found invalid (at most ``max_errors``)."""
    found: list[Violation] = []
    for raw in compiled.engine.errors(instance):
        keyword, expected, actual = raw.keyword, raw.expected, raw.actual
        pointer = join_pointer(base, *raw.instance_path)
        schema_path = raw.schema_path
        if keyword == "required":
            pointer = join_pointer(pointer, str(expected))
            actual = None
        elif keyword in ("not", "anyOf", "oneOf"):
            node = _schema_at(compiled.bundled.schema, raw.schema_path[:-1]) or {}
            if keyword == "not" and node.get("$comment") in ("readOnly", "writeOnly"):
                keyword = node["$comment"]
                expected = "absent"
                schema_path = [*schema_path[:-1], keyword]  # the property's flag, in the contract
            elif keyword != "not":
                expected = [_describe(a) for a in node.get(keyword, [])]
        found.append(
            Violation(
                operation_id=operation_id,
                phase=phase,
                status=status,
                location=location,
                pointer=pointer,
                keyword=keyword,
                expected=_jsonable(expected),
                actual=_jsonable(actual),
                message=_message(keyword, expected, actual, raw.message),
                schema_path=compiled.bundled.contract_pointer(schema_path),
            )
        )
        if len(found) >= max_errors:
            break
    return found
