"""What a request may carry, as Python types: the contract's schemas as type expressions and TypedDicts.

The types are those the client accepts when it *sends*: a date-time is a ``str`` or a
``datetime.datetime`` (the client writes RFC 3339), an array a ``Sequence``, a free-form object a
``Mapping[str, Any]``; ``readOnly`` properties are left out (a request must not carry them). An
object with properties is a ``TypedDict`` named after its component (``_CartItem``) or, inline,
after where it sits (``_NewAudienceSettings``), ``total=False`` with ``Required[...]`` on what the
schema requires: most of Talon.One's request fields are optional. The names are private: they
exist for type checkers only (import them under ``if TYPE_CHECKING:``).

What has no faithful type (``allOf`` of several schemas, ``not``, a ``$ref`` that cannot be
followed) is ``Any``: a stub that accepts too much is wrong less often than one that refuses a
valid body.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..schema import follow_refs
from .text import INDENT, LINE_LENGTH, Imports, bracketed, quoted

__all__ = ["SchemaTypes"]

_COMPONENT = re.compile(r"^#/components/schemas/([^/]+)$")
_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "null": "None"}
_FORMATS = {"date-time": "datetime.datetime", "date": "datetime.date"}
_LONG_LITERAL = 60  # characters of a Literal[...] past which it gets a name


class SchemaTypes:
    """Renders schemas of one contract document to type expressions, collecting the TypedDicts."""

    def __init__(self, document: Mapping[str, Any], imports: Imports) -> None:
        self.document = document
        self.imports = imports
        self._typed_dicts: dict[str, list[str]] = {}  # name -> rendered definition (or alias)
        self._by_component: dict[str, str] = {}  # component pointer -> TypedDict name
        self._depth = 0

    def typed_dicts(self) -> list[list[str]]:
        """The definitions made so far (TypedDicts, long Literals' aliases), by name."""
        return [self._typed_dicts[name] for name in sorted(self._typed_dicts)]

    def type_of(self, schema: Any, hint: str) -> str:
        """The type expression for ``schema``; ``hint`` names an inline object's TypedDict."""
        self._depth += 1
        try:
            if self._depth > 32 or not isinstance(schema, dict):
                return self._any()
            return self._type_of(schema, hint)
        finally:
            self._depth -= 1

    def _type_of(self, schema: dict[str, Any], hint: str) -> str:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._reference(ref, hint)
        nullable = schema.get("nullable") is True
        members = schema.get("allOf")
        if "enum" in schema and isinstance(schema["enum"], list):
            kind = self._enum(schema["enum"], hint)
        elif isinstance(schema.get("anyOf") or schema.get("oneOf"), list):
            kind = self._union(schema, hint)
        elif isinstance(members, list) and len(members) == 1 and "not" not in schema:
            kind = self.type_of(members[0], hint)
        elif "allOf" in schema or "not" in schema:
            kind = self._any()  # an intersection: no faithful type
        else:
            kinds = schema.get("type")
            names = kinds if isinstance(kinds, list) else [kinds]
            kind = _join([self._typed(schema, name, hint) for name in names])
        return _join([kind, "None"]) if nullable else kind

    def _typed(self, schema: dict[str, Any], kind: Any, hint: str) -> str:
        if kind is None:  # no type: what its keywords say it is
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "string":
            fmt = _FORMATS.get(str(schema.get("format")))
            if fmt is not None:
                self.imports.module("datetime")
            return _join(["str", fmt]) if fmt else "str"
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            self.imports.name("collections.abc", "Sequence")
            return f"Sequence[{self.type_of(schema.get('items', {}), hint + 'Item')}]"
        if kind == "object":
            return self._object(schema, hint)
        return self._any()

    def _union(self, schema: dict[str, Any], hint: str) -> str:
        # members that only refine (``type: string, anyOf: [{format: date-time}, {format: date}]``)
        # take the outer type
        members = schema.get("anyOf") or schema.get("oneOf") or []
        outer = {k: v for k, v in schema.items() if k in ("type", "nullable")}
        parts = []
        for index, member in enumerate(members):
            if isinstance(member, dict) and "$ref" not in member:
                member = {**outer, **member}
            parts.append(self.type_of(member, f"{hint}{index + 1}" if len(members) > 1 else hint))
        return _join(parts)

    def _reference(self, ref: str, hint: str) -> str:
        target, _problem = follow_refs(self.document, {"$ref": ref})
        if not isinstance(target, dict):
            return self._any()
        match = _COMPONENT.match(ref)
        if match is None or not isinstance(target.get("properties"), dict) or not target["properties"]:
            return self.type_of(target, hint)  # a scalar or free-form component: inlined
        if ref not in self._by_component:
            name = self._by_component[ref] = self._free_name(match.group(1).replace("~1", "/"))
            self._typed_dicts[name] = []  # claimed before its properties, so that cycles end
            self._typed_dicts[name] = self._typed_dict(name, target)
        return self._by_component[ref]

    def _object(self, schema: dict[str, Any], hint: str) -> str:
        properties = schema.get("properties")
        if isinstance(properties, dict) and properties:
            name = self._free_name(hint)
            self._typed_dicts[name] = []
            self._typed_dicts[name] = self._typed_dict(name, schema)
            return name
        self.imports.name("collections.abc", "Mapping")
        extra = schema.get("additionalProperties")
        value = self.type_of(extra, hint + "Value") if isinstance(extra, dict) and extra else self._any()
        return f"Mapping[str, {value}]"

    def _typed_dict(self, name: str, schema: dict[str, Any]) -> list[str]:
        self.imports.name("typing", "TypedDict")
        required = set(schema.get("required") or [])
        fields: list[tuple[str, str]] = []
        for key, sub in (schema.get("properties") or {}).items():
            resolved, _ = follow_refs(self.document, sub)
            if isinstance(resolved, dict) and resolved.get("readOnly") is True:
                continue  # never sent
            kind = self.type_of(sub, name.lstrip("_") + key[:1].upper() + key[1:])
            if key in required:
                self.imports.name("typing_extensions", "Required")  # typing has it from 3.11 only
                kind = f"Required[{kind}]"
            fields.append((key, kind))
        if all(key.isidentifier() and not keyword.iskeyword(key) for key, _ in fields):
            head = f"class {name}(TypedDict, total=False):"
            return [head, *[_field(key, kind) for key, kind in fields]] if fields else [head, f"{INDENT}..."]
        # a key that is no identifier (``return``) needs the functional form
        items = [f"{quoted(key)}: {kind}" for key, kind in fields]
        return [f"{name} = TypedDict(", f"{INDENT}{quoted(name)},", *bracketed("{", items, "},", INDENT),
                f"{INDENT}total=False,", ")"]  # fmt: skip

    def _free_name(self, hint: str) -> str:
        base = "_" + re.sub(r"\W", "", hint[:1].upper() + hint[1:])
        name, number = base, 1
        while name in self._typed_dicts:
            number += 1
            name = f"{base}{number}"
        return name

    def _enum(self, values: list[Any], hint: str) -> str:
        literal = _literal(values, self.imports)
        if literal is None:
            return self._any()
        if len(literal) <= _LONG_LITERAL:
            return literal
        # a long enum is an alias, one value a line: inline, the formatter would nest it line by line
        self.imports.name("typing", "TypeAlias")
        name = self._free_name(hint)
        head, _, rest = literal.partition(" | ")  # ``Literal[...] | None``: None stays at the use
        self._typed_dicts[name] = bracketed(f"{name}: TypeAlias = Literal[", _members(head[8:-1], ", "), "]")
        return _join([name, rest or None])

    def _any(self) -> str:
        self.imports.name("typing", "Any")
        return "Any"


def _field(key: str, kind: str) -> str:
    line = f"{INDENT}{key}: {kind}"
    if len(line) > LINE_LENGTH:
        raise ValueError(f"{key}: {kind} is too long for one line")  # not met yet; wrap when it is
    return line


def _literal(values: list[Any], imports: Imports) -> str | None:
    """``Literal[...]`` of an enum's values (``| None`` for a null one); None for other values."""
    if not values or not all(v is None or isinstance(v, str | int) for v in values):
        return None  # a float or an object in an enum: no Literal for it
    literals = [quoted(v) if isinstance(v, str) else repr(v) for v in values if v is not None]
    parts: list[str | None] = []
    if literals:
        imports.name("typing", "Literal")
        parts.append(f"Literal[{', '.join(literals)}]")
    return _join([*parts, "None" if None in values else None])


def _join(parts: Sequence[str | None]) -> str:
    """A union of the parts, each once, in order; ``Any`` absorbs the rest."""
    seen: list[str] = []
    for part in parts:
        for piece in _members(part or ""):
            if piece not in seen:
                seen.append(piece)
    if "Any" in seen:
        return "Any"
    return " | ".join(seen) or "Any"


def _members(union: str, separator: str = " | ") -> list[str]:
    """The top-level members of ``a | b[c | d]``: ``a``, ``b[c | d]`` (quoted text skipped)."""
    out, depth, start, quoting = [], 0, 0, False
    for index, char in enumerate(union):
        if char == '"' and union[index - 1 : index] != "\\":
            quoting = not quoting
        elif not quoting and char == "[":
            depth += 1
        elif not quoting and char == "]":
            depth -= 1
        elif not quoting and depth == 0 and union.startswith(separator, index):
            out.append(union[start:index])
            start = index + len(separator)
    out.append(union[start:])
    return [piece for piece in out if piece]
