"""OpenAPI schema objects: where they are, tolerating their quirks, and turning them into JSON Schema.

Three jobs, one walker:

* :func:`iter_schema_roots` finds every schema object of an OpenAPI document (components,
  parameters, request bodies, responses, headers);
* :func:`repair_schema_quirks` fixes what a vendor document gets wrong in a schema when the
  intent is clear (``maximum: '1E+3'``), drops it when not, and records a :class:`LoadIssue`
  either way;
* :class:`SchemaCompiler` converts OpenAPI 3.0 schema objects into JSON Schema 2020-12 (which
  is what OpenAPI 3.1 uses already), once per component and direction, and bundles a root
  schema with the ``$defs`` it needs so that a compiled validator is self-contained.

OpenAPI 3.0 specifics handled by the conversion:

* ``nullable: true`` widens ``type`` (and ``enum``) with ``null``;
* boolean ``exclusiveMinimum``/``exclusiveMaximum`` (draft 4 style) become numeric bounds;
* ``readOnly`` properties are forbidden in requests and not required there; ``writeOnly``
  properties likewise in responses (OpenAPI 3.0.3, "Fixed Fields" of the Schema Object);
* ``format: int32``/``int64`` become numeric bounds (JSON Schema does not know them);
* ``$ref`` siblings are ignored in 3.0 (the vendor document has some) and honoured in 3.1;
* ``example``, ``xml``, ``externalDocs``, ``discriminator`` and ``x-`` extensions are dropped.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .documents import Document, join_pointer

__all__ = [
    "HTTP_METHODS",
    "REQUEST",
    "RESPONSE",
    "BundledSchema",
    "SchemaCompiler",
    "follow_refs",
    "hidden_properties",
    "iter_schema_roots",
    "json_kind",
    "repair_schema_quirks",
    "resolve_pointer",
    "subschemas",
]

REQUEST = "request"
RESPONSE = "response"

_MAPS_OF_SCHEMAS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTS_OF_SCHEMAS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SINGLE_SCHEMAS = (
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
_DROPPED = {
    "example",
    "examples",
    "xml",
    "externalDocs",
    "discriminator",
    "nullable",
    "readOnly",
    "writeOnly",
}
_INT_FORMAT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


# --------------------------------------------------------------------------- locating schemas


def subschemas(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Direct subschemas of a schema object, with their pointers."""
    if not isinstance(node, dict):
        return
    for key in _MAPS_OF_SCHEMAS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield join_pointer(pointer, key, name), sub
    for key in _LISTS_OF_SCHEMAS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield join_pointer(pointer, key, i), sub
    for key in _SINGLE_SCHEMAS:
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


def json_kind(schema: Any, default: str = "string") -> str:
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


# --------------------------------------------------------------------------- quirk repair


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
    for key in _LISTS_OF_SCHEMAS:
        if key in node and not (isinstance(node[key], list) and node[key]):
            drop(key, f"{key} must be a non-empty list of schemas")
    for key in (*_SINGLE_SCHEMAS, "items"):
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


# --------------------------------------------------------------------------- conversion


@dataclass(frozen=True, slots=True)
class BundledSchema:
    """A self-contained JSON Schema 2020-12 document and how to map its paths back to the contract."""

    schema: dict[str, Any] | bool
    #: contract pointer of the root schema
    origin: str
    #: ``$defs`` key -> contract pointer it came from
    defs: dict[str, str]

    def contract_pointer(self, schema_path: list[str | int] | tuple[str | int, ...]) -> str:
        """Translate a validator's schema path into a JSON pointer into the contract document."""
        tokens = list(schema_path)
        base = self.origin
        if len(tokens) >= 2 and tokens[0] == "$defs" and str(tokens[1]) in self.defs:
            base = self.defs[str(tokens[1])]
            tokens = tokens[2:]
        return "#" + join_pointer(base, *tokens)


class SchemaCompiler:
    """Converts a contract's schemas to JSON Schema 2020-12, caching per (component, direction)."""

    def __init__(self, document: dict[str, Any], openapi_version: str) -> None:
        self.document = document
        self.legacy = not openapi_version.startswith("3.1")  # 3.0 rules (nullable, $ref siblings ...)
        self._components: dict[tuple[str, str], Any] = {}

    # -- public

    def bundle(self, schema: Any, origin: str, direction: str) -> BundledSchema:
        """A standalone schema for ``schema`` (found at ``origin``), with every reference in ``$defs``."""
        refs: dict[str, str] = {}
        root = self._convert(schema, direction, refs)
        defs: dict[str, Any] = {}
        pending = list(refs)
        while pending:
            key = pending.pop()
            if key in defs:
                continue
            target_pointer = refs[key]
            cache_key = (target_pointer, direction)
            if cache_key not in self._components:
                try:
                    target = resolve_pointer(self.document, target_pointer)
                except KeyError:
                    target = {}  # unresolved refs were reported when the contract was loaded
                sub_refs: dict[str, str] = {}
                converted = self._convert(target, direction, sub_refs)
                self._components[cache_key] = (converted, sub_refs)
            converted, sub_refs = self._components[cache_key]
            defs[key] = converted
            for sub_key, sub_pointer in sub_refs.items():
                if sub_key not in refs:
                    refs[sub_key] = sub_pointer
                    pending.append(sub_key)
        if defs:
            root = {"allOf": [root]} if isinstance(root, bool) else dict(root)
            root["$defs"] = defs
        return BundledSchema(root, origin, refs)

    # -- conversion

    def _ref(self, ref: str, refs: dict[str, str]) -> str:
        """Rewrite a local ``$ref`` to point into ``$defs``, remembering where it came from."""
        if not ref.startswith("#"):
            return ref  # external refs were inlined at load time; anything left is unresolvable
        pointer = ref[1:]
        match = re.match(r"^/components/schemas/([^/]+)(/.*)?$", pointer)
        if match:
            key = match.group(1).replace("~1", "/").replace("~0", "~")
            refs.setdefault(key, "/components/schemas/" + match.group(1))
            return "#/$defs/" + match.group(1) + (match.group(2) or "")
        key = "ref:" + pointer
        refs.setdefault(key, pointer)
        return "#/$defs/" + key.replace("~", "~0").replace("/", "~1")

    def _resolved(self, node: Any) -> dict[str, Any]:
        """Follow local $ref chains (to read flags such as readOnly behind a reference)."""
        target, _ = follow_refs(self.document, node)
        return target if isinstance(target, dict) else {}

    def _hidden(self, node: Any, direction: str) -> set[str]:
        return hidden_properties(self.document, node, direction)

    def _convert(
        self, node: Any, direction: str, refs: dict[str, str], inherited: frozenset[str] = frozenset()
    ) -> Any:
        """``inherited``: hidden property names of allOf siblings, to drop from this node's ``required``."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            return {}
        if "$ref" in node and self.legacy:
            return {"$ref": self._ref(node["$ref"], refs)}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key == "$ref":
                out[key] = self._ref(value, refs)
            elif key in _MAPS_OF_SCHEMAS and isinstance(value, dict):
                out[key] = {name: self._convert(sub, direction, refs) for name, sub in value.items()}
            elif key == "allOf" and isinstance(value, list):
                # a `required` in one member may name a readOnly property defined in another
                siblings = frozenset(inherited | self._hidden(node, direction))
                out[key] = [self._convert(sub, direction, refs, siblings) for sub in value]
            elif key in _LISTS_OF_SCHEMAS and isinstance(value, list):
                out[key] = [self._convert(sub, direction, refs) for sub in value]
            elif key in _SINGLE_SCHEMAS and isinstance(value, (dict, bool)):
                out[key] = self._convert(value, direction, refs)
            elif key == "items":
                if isinstance(value, list):  # draft 4 tuple form
                    out["prefixItems"] = [self._convert(sub, direction, refs) for sub in value]
                else:
                    out["items"] = self._convert(value, direction, refs)
            else:
                out[key] = copy.deepcopy(value)
        if self.legacy:
            self._legacy_bounds(out)
        self._int_format_bounds(out)
        self._access_modes(node, out, direction)
        if inherited and isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in inherited]
        if self.legacy and node.get("nullable") is True:
            out = self._nullable(out)
        return out

    @staticmethod
    def _legacy_bounds(out: dict[str, Any]) -> None:
        for exclusive, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
            flag = out.get(exclusive)
            if isinstance(flag, bool):
                del out[exclusive]
                if flag and bound in out:
                    out[exclusive] = out.pop(bound)

    @staticmethod
    def _int_format_bounds(out: dict[str, Any]) -> None:
        bounds = _INT_FORMAT_BOUNDS.get(out.get("format", ""))
        if bounds is None or out.get("type") not in ("integer", ["integer", "null"]):
            return
        low, high = bounds
        if not isinstance(out.get("minimum"), (int, float)) and not isinstance(
            out.get("exclusiveMinimum"), (int, float)
        ):
            out["minimum"] = low
        if not isinstance(out.get("maximum"), (int, float)) and not isinstance(
            out.get("exclusiveMaximum"), (int, float)
        ):
            out["maximum"] = high

    def _access_modes(self, node: dict[str, Any], out: dict[str, Any], direction: str) -> None:
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        flag = "readOnly" if direction == REQUEST else "writeOnly"
        hidden = [name for name, sub in props.items() if self._resolved(sub).get(flag) is True]
        if not hidden:
            return
        for name in hidden:
            # `not: {}` rejects any value; the comment lets the validator name the real reason.
            out["properties"][name] = {"not": {}, "$comment": flag}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in hidden]

    @staticmethod
    def _nullable(out: dict[str, Any]) -> dict[str, Any]:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            return out
        if kind is None and any(k in out for k in ("$ref", "allOf", "anyOf", "oneOf")):
            return {"anyOf": [out, {"type": "null"}]}
        return out  # nullable without a type has no effect (OpenAPI 3.0.3 clarification)
