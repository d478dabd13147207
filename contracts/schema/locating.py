"""Where the schema objects of an OpenAPI document are, and reading one without converting it.

:func:`iter_schema_roots` and :func:`walk_schema` find every schema object (components,
parameters, request bodies, responses, headers, and the subschemas of each); :func:`follow_refs`
and :func:`resolve_pointer` follow references; :func:`schema_type`, :func:`hidden_properties` and
:func:`ecma_pattern` read what a schema says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..documents import join_pointer

__all__ = [
    "ECMA_WHITESPACE",
    "HTTP_METHODS",
    "LISTS_OF_SCHEMAS",
    "MAPS_OF_SCHEMAS",
    "REQUEST",
    "RESPONSE",
    "SINGLE_SCHEMAS",
    "ecma_pattern",
    "follow_refs",
    "hidden_properties",
    "iter_schema_roots",
    "resolve_pointer",
    "schema_type",
    "subschemas",
    "walk_schema",
]

REQUEST = "request"
RESPONSE = "response"

MAPS_OF_SCHEMAS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
LISTS_OF_SCHEMAS = ("allOf", "anyOf", "oneOf", "prefixItems")
SINGLE_SCHEMAS = (
    "not",
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# --------------------------------------------------------------------------- locating schemas


def subschemas(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Direct subschemas of a schema object, with their pointers."""
    if not isinstance(node, dict):
        return
    for key in MAPS_OF_SCHEMAS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield join_pointer(pointer, key, name), sub
    for key in LISTS_OF_SCHEMAS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield join_pointer(pointer, key, i), sub
    for key in SINGLE_SCHEMAS:
        if key in node and isinstance(node[key], (dict, bool)):
            yield join_pointer(pointer, key), node[key]
    items = node.get("items")
    if isinstance(items, list):
        for i, sub in enumerate(items):
            yield join_pointer(pointer, "items", i), sub
    elif isinstance(items, (dict, bool)):
        yield join_pointer(pointer, "items"), items


def _content_schemas(content: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    if isinstance(content, dict):
        for media, obj in content.items():
            if isinstance(obj, dict) and "schema" in obj:
                yield join_pointer(pointer, media, "schema"), obj["schema"]


def _parameter_schemas(param: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    if isinstance(param, dict):
        if "schema" in param:
            yield join_pointer(pointer, "schema"), param["schema"]
        yield from _content_schemas(param.get("content"), join_pointer(pointer, "content"))


def _response_schemas(response: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    if isinstance(response, dict):
        yield from _content_schemas(response.get("content"), join_pointer(pointer, "content"))
        headers = response.get("headers")
        if isinstance(headers, dict):
            for name, header in headers.items():
                yield from _parameter_schemas(header, join_pointer(pointer, "headers", name))


def iter_schema_roots(document: Any) -> Iterator[tuple[str, Any]]:
    """Every top-level schema object of an OpenAPI 3.x document, with its pointer."""
    if not isinstance(document, dict):
        return
    components = document.get("components")
    if isinstance(components, dict):
        for name, schema in _items(components.get("schemas")):
            yield join_pointer("/components/schemas", name), schema
        for name, param in _items(components.get("parameters")):
            yield from _parameter_schemas(param, join_pointer("/components/parameters", name))
        for name, header in _items(components.get("headers")):
            yield from _parameter_schemas(header, join_pointer("/components/headers", name))
        for name, body in _items(components.get("requestBodies")):
            if isinstance(body, dict):
                yield from _content_schemas(
                    body.get("content"), join_pointer("/components/requestBodies", name, "content")
                )
        for name, response in _items(components.get("responses")):
            yield from _response_schemas(response, join_pointer("/components/responses", name))
    for path, item in _items(document.get("paths")):
        item_pointer = join_pointer("/paths", path)
        if not isinstance(item, dict):
            continue
        for i, param in enumerate(_list(item.get("parameters"))):
            yield from _parameter_schemas(param, join_pointer(item_pointer, "parameters", i))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_pointer = join_pointer(item_pointer, method)
            for i, param in enumerate(_list(op.get("parameters"))):
                yield from _parameter_schemas(param, join_pointer(op_pointer, "parameters", i))
            body = op.get("requestBody")
            if isinstance(body, dict):
                yield from _content_schemas(
                    body.get("content"), join_pointer(op_pointer, "requestBody", "content")
                )
            for status, response in _items(op.get("responses")):
                yield from _response_schemas(response, join_pointer(op_pointer, "responses", status))


def _items(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def walk_schema(node: Any, pointer: str, visit: Callable[[dict[str, Any], str], None]) -> None:
    """Call ``visit`` on ``node`` and every schema object nested in it (pre-order)."""
    stack = [(pointer, node)]
    while stack:
        ptr, current = stack.pop()
        if isinstance(current, dict):
            visit(current, ptr)
            stack.extend(reversed(list(subschemas(current, ptr))))


#: ECMA-262's \s, which JSON Schema patterns use: narrower than Python's (no U+0085, no
#: U+001C..U+001F) and with U+FEFF. Written as the inside of a character class.
ECMA_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_CLASSES = {"s": ECMA_WHITESPACE, "d": "0-9", "w": "A-Za-z0-9_"}


def ecma_pattern(pattern: str) -> str:
    r"""A JSON Schema (ECMA-262) pattern as a Python ``re`` pattern with the same meaning for the
    class escapes Python reads differently: ``\s \d \w`` and their negations (Python's are
    Unicode-wide). Other syntax is common to both and kept. A negated escape inside a bracket
    class (``[\S-]``) has no plain equivalent and is kept as Python reads it."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            inside = _ECMA_CLASSES.get(escaped)
            negated = _ECMA_CLASSES.get(escaped.lower()) if escaped.isupper() else None
            if inside is not None:
                out.append(inside if in_class else f"[{inside}]")
            elif negated is not None and not in_class:
                out.append(f"[^{negated}]")
            else:
                out.append(char + escaped)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def follow_refs(document: Any, node: Any, limit: int = 32) -> tuple[Any, str | None]:
    """Follow a chain of local ``$ref``s: (target, None), or (None, why it cannot be followed)."""
    seen: list[str] = []
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None, f"cannot resolve $ref {ref!r}"
        if ref in seen or len(seen) >= limit:
            return None, f"$ref {ref!r} loops back on itself"
        seen.append(ref)
        try:
            node = resolve_pointer(document, ref[1:])
        except KeyError:
            return None, f"$ref {ref!r} points at nothing"
    return node, None


def hidden_properties(
    document: Any, node: Any, direction: str, seen: frozenset[int] = frozenset()
) -> set[str]:
    """Properties of the schema ``node`` (and of its allOf members) that must not appear in ``direction``:
    ``readOnly`` ones in requests, ``writeOnly`` ones in responses (OpenAPI 3.0.3, Schema Object)."""
    flag = "readOnly" if direction == REQUEST else "writeOnly"
    target, _ = follow_refs(document, node)
    if not isinstance(target, dict) or id(target) in seen:
        return set()  # not a schema object, or a recursive allOf
    seen = seen | {id(target)}
    props = target.get("properties")
    hidden = set()
    if isinstance(props, dict):
        for name, sub in props.items():
            resolved, _ = follow_refs(document, sub)
            if isinstance(resolved, dict) and resolved.get(flag) is True:
                hidden.add(name)
    members = target.get("allOf")
    for member in members if isinstance(members, list) else ():
        hidden |= hidden_properties(document, member, direction, seen)
    return hidden


def schema_type(schema: Any, default: str = "string") -> str:
    """The (first non-null) JSON type a schema object declares, or ``default``."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return str(kind) if kind else default


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Value at a JSON pointer (``""`` or ``"/a/b"``); raises KeyError when absent."""
    if pointer in ("", "#"):
        return document
    if pointer.startswith("#"):
        pointer = pointer[1:]
    node = document
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(pointer)
    return node
