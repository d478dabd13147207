"""The facets of one pair of schema objects: type, null, enum, bounds, lengths, items, pattern, format,
default, properties, additional properties, composition, deprecation and the keywords without a
rule of their own. :class:`Pair` compares them and descends (through the walk, ``SchemaDiff.walk``) into
properties, items, map values and composition members."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..documents import join_pointer
from ..errors import short_json
from ..schema import hidden_properties
from .walking import ANNOTATIONS, Found, SchemaSource, Walker

__all__ = ["Pair"]

_NUMERIC = {"integer", "number"}
# Keywords a facet of its own compares; every other keyword falls to `keyword-changed`.
_HANDLED = {
    "$ref", "type", "nullable", "enum", "const", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
    "maxLength", "minLength", "maxItems", "minItems", "pattern", "format", "default", "properties", "required",
    "additionalProperties", "items", "allOf", "oneOf", "anyOf", "deprecated", "readOnly", "writeOnly",
}  # fmt: skip
# (narrow, wide): the wide format admits every value of the narrow one; "no format" admits all.
_WIDER_FORMATS = {("int32", "int64"), ("float", "double"), ("int32", "double"), ("int64", "double")}
_COMPOSITIONS = (("allOf", "all-of"), ("oneOf", "one-of"), ("anyOf", "any-of"))
_HIDING = {"request": ("readOnly", "became-read-only", "no-longer-read-only"),
           "response": ("writeOnly", "became-write-only", "no-longer-write-only")}  # fmt: skip


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _show(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return ", ".join(short_json(v, 40) for v in values)
    return short_json(values, 60)


def _types(node: dict[str, Any], legacy: bool) -> tuple[frozenset[str] | None, bool]:
    """(JSON types other than null, or None for any; whether the type admits null)."""
    kind = node.get("type")
    if isinstance(kind, str):
        kinds: set[str] | None = {kind}
    elif isinstance(kind, list):
        kinds = {k for k in kind if isinstance(k, str)}
    else:
        kinds = None
    nullable = bool(kinds and "null" in kinds) or (legacy and node.get("nullable") is True)
    if kinds is not None:
        kinds.discard("null")
    return (frozenset(kinds) if kinds is not None else None), nullable


def _covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _has(kinds: frozenset[str] | None, *wanted: str) -> bool:
    return kinds is None or any(k in kinds for k in wanted)


def _enum(node: dict[str, Any], legacy: bool) -> list[Any] | None:
    """The values an enum (or const) allows, null included where the schema lets it through: in 3.0,
    ``nullable: true`` admits null beside an enum (the validator adds it the same way)."""
    if "const" in node:
        values = [node["const"]]
    elif isinstance(node.get("enum"), list):
        values = list(node["enum"])
    else:
        return None
    if legacy and node.get("nullable") is True and None not in values:
        values.append(None)
    return values


def _bound(node: dict[str, Any], side: str, legacy: bool) -> tuple[float, bool] | None:
    """(limit, exclusive) of the maximum (``side="max"``) or minimum, or None."""
    plain_key, exclusive_key = (
        ("maximum", "exclusiveMaximum") if side == "max" else ("minimum", "exclusiveMinimum")
    )
    plain, exclusive = node.get(plain_key), node.get(exclusive_key)
    if legacy or isinstance(exclusive, bool):
        if not isinstance(plain, (int, float)) or isinstance(plain, bool):
            return None
        return plain, exclusive is True
    candidates = []
    if isinstance(plain, (int, float)) and not isinstance(plain, bool):
        candidates.append((plain, False))
    if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):
        candidates.append((exclusive, True))
    if not candidates:
        return None
    # the tighter of the two: lowest maximum / highest minimum; exclusive wins a tie
    if side == "max":
        return min(candidates, key=lambda c: (c[0], not c[1]))
    return max(candidates, key=lambda c: (c[0], c[1]))


def _tighter(old: tuple[float, bool] | None, new: tuple[float, bool] | None, side: str) -> int:
    """+1 when ``new`` is the tighter bound, -1 when the looser, 0 when the same."""
    if old == new:
        return 0
    if old is None:
        return 1
    if new is None:
        return -1
    if old[0] == new[0]:
        return 1 if new[1] else -1
    lower = new[0] < old[0]
    return (1 if lower else -1) if side == "max" else (-1 if lower else 1)


def _show_bound(bound: tuple[float, bool] | None, side: str) -> str:
    if bound is None:
        return "none"
    sign = ("<" if bound[1] else "<=") if side == "max" else (">" if bound[1] else ">=")
    return f"{sign} {bound[0]}"


def _format_order(old: str | None, new: str | None) -> int:
    """+1: new is wider, -1: narrower, 0: same, 2: unrelated."""
    if old == new:
        return 0
    if new is None or (old, new) in _WIDER_FORMATS:
        return 1
    if old is None or (new, old) in _WIDER_FORMATS:
        return -1
    return 2


def _members(members: list[Any]) -> Iterator[tuple[str, int]]:
    """Name each member of an allOf/oneOf/anyOf: its ``$ref`` when it has one, else its position."""
    for index, member in enumerate(members):
        ref = member.get("$ref") if isinstance(member, dict) else None
        yield (ref if isinstance(ref, str) else f"#{index}"), index


def _closed(node: dict[str, Any]) -> bool:
    return node.get("additionalProperties") is False


class Pair:
    """The comparison of one pair of (resolved) schema objects."""

    def __init__(
        self,
        diff: Walker,
        direction: str,
        old: dict[str, Any],
        old_pointer: str,
        new: dict[str, Any],
        new_pointer: str,
        path: tuple[str, ...],
        required: bool,
        out: list[Found],
        active: set[tuple[str, str]],
        inherited: tuple[frozenset[str], frozenset[str]],
    ) -> None:
        self.diff, self.direction = diff, direction
        self.old, self.old_pointer, self.new, self.new_pointer = old, old_pointer, new, new_pointer
        self.path, self.required, self.out, self.active, self.inherited = (
            path,
            required,
            out,
            active,
            inherited,
        )
        self.old_types, self.old_null = _types(old, diff.old.legacy)
        self.new_types, self.new_null = _types(new, diff.new.legacy)

    def found(self, suffix: str, message: str, before: Any = None, after: Any = None, *,
              key: str | None = None, path: tuple[str, ...] | None = None, touch: str = "present",
              values: tuple[Any, ...] = (), bound: tuple[str, Any] | None = None,
              old_pointer: str | None = "", new_pointer: str | None = "") -> None:  # fmt: skip
        """Note a difference; pointers default to the keyword ``key`` in each schema (or the schema)."""
        if old_pointer == "":
            old_pointer = join_pointer(self.old_pointer, key) if key and key in self.old else self.old_pointer
        if new_pointer == "":
            new_pointer = join_pointer(self.new_pointer, key) if key and key in self.new else self.new_pointer
        self.out.append(Found(f"{self.direction}-{suffix}", self.path if path is None else path, old_pointer,
                              new_pointer, message, before, after, touch, values, bound))  # fmt: skip

    def child(self, old: Any, old_pointer: str, new: Any, new_pointer: str, token: str | None,
              required: bool = False, inherited: tuple[frozenset[str], frozenset[str]] | None = None) -> None:  # fmt: skip
        path = self.path if token is None else (*self.path, token)
        self.diff.walk(self.direction, old, old_pointer, new, new_pointer, path, required, self.out, self.active,
                       inherited or (frozenset(), frozenset()))  # fmt: skip

    def run(self) -> None:
        self.types()
        self.nullable()
        self.enum()
        if _has(self.old_types, *_NUMERIC) and _has(self.new_types, *_NUMERIC):
            self.bounds()
        if _has(self.old_types, "string") and _has(self.new_types, "string"):
            self.counts("maxLength", "max-length", "max")
            self.counts("minLength", "min-length", "min")
            self.pattern()
        if _has(self.old_types, "array") and _has(self.new_types, "array"):
            self.counts("maxItems", "max-items", "max")
            self.counts("minItems", "min-items", "min")
            self.items()
        self.format()
        self.default()
        if _has(self.old_types, "object") and _has(self.new_types, "object"):
            self.properties()
            self.additional()
        self.compositions()
        self.deprecated()
        self.other_keywords()

    # -- facets

    def types(self) -> None:
        old, new = self.old_types, self.new_types
        wider, narrower = _covers(new, old), _covers(old, new)
        if wider and narrower:
            return

        def shown(kinds: frozenset[str] | None) -> str:
            return "any" if kinds is None else "|".join(sorted(kinds)) or "nothing"

        before, after = shown(old), shown(new)
        message = f"type {before} -> {after}"
        if wider:
            self.found("type-widened", message, before, after, key="type")
        elif narrower:
            self.found("type-narrowed", message, before, after, key="type", touch="outside",
                       bound=("type", sorted(new or ())))  # fmt: skip
        else:
            self.found("type-changed", message, before, after, key="type", touch="outside",
                       bound=("type", sorted(new or ())))  # fmt: skip

    def nullable(self) -> None:
        if self.old_null == self.new_null:
            return
        key = "nullable" if self.diff.new.legacy else "type"
        # a required property of an answer: the SDK refuses None there, so it has rules of its own
        facet = "required-nullable" if self.direction == "response" and self.required else "nullable"
        if self.new_null:
            self.found(f"{facet}-added", "null is now allowed", False, True, key=key)
        else:
            self.found(f"{facet}-removed", "null is no longer allowed", True, False, key=key, touch="values",
                       values=(None,))  # fmt: skip

    def enum(self) -> None:
        old, new = _enum(self.old, self.diff.old.legacy), _enum(self.new, self.diff.new.legacy)
        if old is None and new is None:
            return
        key = "enum" if "enum" in self.new or "enum" in self.old else "const"
        if old is None:
            self.found("enum-added", f"enum [{_show(new)}] now restricts the value", None, new, key=key,
                       touch="outside", bound=("enum", new))  # fmt: skip
            return
        if new is None:
            self.found(
                "enum-removed", f"enum [{_show(old)}] no longer restricts the value", old, None, key=key
            )
            return
        old_keys = {_canonical(v): v for v in old}
        new_keys = {_canonical(v): v for v in new}
        removed = [v for k, v in old_keys.items() if k not in new_keys]
        added = [v for k, v in new_keys.items() if k not in old_keys]
        if removed:
            self.found("enum-value-removed", f"enum value(s) {_show(removed)} removed", old, new, key=key,
                       touch="values", values=tuple(removed))  # fmt: skip
        if added:
            self.found("enum-value-added", f"enum value(s) {_show(added)} added", old, new, key=key)

    def bounds(self) -> None:
        for side, keys in (
            ("max", ("maximum", "exclusiveMaximum")),
            ("min", ("minimum", "exclusiveMinimum")),
        ):
            old, new = (
                _bound(self.old, side, self.diff.old.legacy),
                _bound(self.new, side, self.diff.new.legacy),
            )
            order = _tighter(old, new, side)
            if not order:
                continue
            key = next((k for k in keys if k in self.new), next((k for k in keys if k in self.old), keys[0]))
            word = "maximum" if side == "max" else "minimum"
            message = f"{word} {_show_bound(old, side)} -> {_show_bound(new, side)}"
            before = None if old is None else old[0]
            after = None if new is None else new[0]
            if order > 0:
                assert new is not None
                self.found(f"{side}-tightened", message, before, after, key=key, touch="outside",
                           bound=(("exclusive" + word.capitalize()) if new[1] else word, new[0]))  # fmt: skip
            else:
                self.found(f"{side}-loosened", message, before, after, key=key)

    def counts(self, keyword: str, facet: str, side: str) -> None:
        old, new = self.old.get(keyword), self.new.get(keyword)
        old = old if isinstance(old, int) and not isinstance(old, bool) else None
        new = new if isinstance(new, int) and not isinstance(new, bool) else None
        if old == new:
            return
        message = f"{keyword} {'none' if old is None else old} -> {'none' if new is None else new}"
        if side == "max":
            tighter = old is None or (new is not None and new < old)
        else:
            tighter = old is None or (new is not None and new > old)
        if tighter:
            self.found(
                f"{facet}-tightened", message, old, new, key=keyword, touch="outside", bound=(keyword, new)
            )
        else:
            self.found(f"{facet}-loosened", message, old, new, key=keyword)

    def pattern(self) -> None:
        old, new = self.old.get("pattern"), self.new.get("pattern")
        if old == new:
            return
        if old is None:
            self.found("pattern-added", f"pattern {new!r} added", None, new, key="pattern", touch="outside",
                       bound=("pattern", new))  # fmt: skip
        elif new is None:
            self.found("pattern-removed", f"pattern {old!r} removed", old, None, key="pattern")
        else:
            self.found("pattern-changed", f"pattern {old!r} -> {new!r}", old, new, key="pattern",
                       touch="outside", bound=("pattern", new))  # fmt: skip

    def format(self) -> None:
        old = self.old.get("format") if isinstance(self.old.get("format"), str) else None
        new = self.new.get("format") if isinstance(self.new.get("format"), str) else None
        order = _format_order(old, new)
        if not order:
            return
        message = f"format {old or 'none'} -> {new or 'none'}"
        suffix = {1: "format-widened", -1: "format-narrowed", 2: "format-changed"}[order]
        self.found(suffix, message, old, new, key="format")

    def default(self) -> None:
        has_old, has_new = "default" in self.old, "default" in self.new
        if not has_old and not has_new:
            return
        old, new = self.old.get("default"), self.new.get("default")
        if has_old == has_new and _canonical(old) == _canonical(new):
            return
        message = (
            f"default {short_json(old) if has_old else 'none'} -> {short_json(new) if has_new else 'none'}"
        )
        self.found("default-changed", message, old, new, key="default", touch="missing")

    def items(self) -> None:
        old, new = self.old.get("items"), self.new.get("items")
        if old is None and new is None:
            return
        self.child(
            old if old is not None else {}, join_pointer(self.old_pointer, "items"),
            new if new is not None else {}, join_pointer(self.new_pointer, "items"), "*",
        )  # fmt: skip

    def _visible(self, node: dict[str, Any], source: SchemaSource, inherited: frozenset[str]) -> tuple[
        dict[str, Any], set[str], set[str]
    ]:  # fmt: skip
        """(properties, required names, hidden names) of ``node`` as this direction sees them; hidden
        are the properties this direction leaves out (``readOnly`` in requests ...), also those an allOf
        sibling hides."""
        props = node.get("properties")
        props = {k: v for k, v in props.items() if isinstance(k, str)} if isinstance(props, dict) else {}
        hidden = hidden_properties(source.data, node, self.direction) | inherited
        required = node.get("required")
        names = {n for n in required if isinstance(n, str)} if isinstance(required, list) else set()
        visible = {k: v for k, v in props.items() if k not in hidden}
        for name in sorted(names - hidden - set(visible)):
            visible[name] = {}  # required but not described (the vendor has such): any value, still required
        return visible, names - hidden, hidden

    def properties(self) -> None:
        old_props, old_required, old_hidden = self._visible(self.old, self.diff.old, self.inherited[0])
        new_props, new_required, new_hidden = self._visible(self.new, self.diff.new, self.inherited[1])
        old_base = join_pointer(self.old_pointer, "properties")
        new_base = join_pointer(self.new_pointer, "properties")
        flag, became, no_longer = _HIDING[self.direction]
        for name in [*old_props, *(n for n in new_props if n not in old_props)]:
            path = (*self.path, name)
            old_at = join_pointer(old_base, name) if name in old_props else None
            new_at = join_pointer(new_base, name) if name in new_props else None
            if name not in new_props:
                if name in new_hidden:  # the validator refuses it (requests) or it is never sent (answers)
                    self.found(f"property-{became}", f"property {name!r} is now {flag}", path=path,
                               old_pointer=old_at, new_pointer=join_pointer(new_base, name))  # fmt: skip
                elif self.direction == "request" and _closed(self.new):
                    self.found("property-removed-from-closed-object", f"property {name!r} removed; the object "
                               "takes no other properties", path=path, old_pointer=old_at,
                               new_pointer=self.new_pointer)  # fmt: skip
                else:
                    suffix = "required-property-removed" if name in old_required else "property-removed"
                    self.found(suffix, f"property {name!r} removed", path=path, old_pointer=old_at,
                               new_pointer=self.new_pointer)  # fmt: skip
                continue
            if name not in old_props:
                if name in new_required:  # also a hidden one that is now visible and required
                    self.found("required-property-added", f"required property {name!r} added", path=path,
                               old_pointer=self.old_pointer, new_pointer=new_at, touch="missing")  # fmt: skip
                elif name in old_hidden:
                    self.found(f"property-{no_longer}", f"property {name!r} is no longer {flag}", path=path,
                               old_pointer=join_pointer(old_base, name), new_pointer=new_at)  # fmt: skip
                else:
                    self.found("property-added", f"optional property {name!r} added", path=path,
                               old_pointer=self.old_pointer, new_pointer=new_at)  # fmt: skip
                continue
            if name in new_required and name not in old_required:
                self.found("property-became-required", f"property {name!r} is now required", path=path,
                           old_pointer=old_at, new_pointer=join_pointer(self.new_pointer, "required"),
                           touch="missing")  # fmt: skip
            elif name in old_required and name not in new_required:
                self.found("property-became-optional", f"property {name!r} is now optional", path=path,
                           old_pointer=join_pointer(self.old_pointer, "required"), new_pointer=new_at)  # fmt: skip
            self.child(old_props[name], old_at or "", new_props[name], new_at or "", name,
                       required=name in new_required)  # fmt: skip

    def additional(self) -> None:
        def shape(node: dict[str, Any]) -> tuple[str, Any]:
            value = node.get("additionalProperties", True)
            if value is False:
                return "closed", None
            if isinstance(value, dict) and value:
                return "schema", value
            return "open", None

        (old_kind, old), (new_kind, new) = shape(self.old), shape(self.new)
        key = "additionalProperties"
        if old_kind == new_kind == "closed" or old_kind == new_kind == "open":
            return
        if new_kind == "closed":
            allowed = sorted(self._visible(self.new, self.diff.new, self.inherited[1])[0])
            self.found("additional-properties-closed", "additionalProperties: false (unlisted properties refused)",
                       True, False, key=key, touch="outside", bound=("additionalProperties", allowed))  # fmt: skip
            return
        if old_kind == "closed":
            self.found(
                "additional-properties-opened", "additionalProperties no longer false", False, True, key=key
            )
            if new_kind == "open":
                return
        self.child(
            old if old is not None else {}, join_pointer(self.old_pointer, key),
            new if new is not None else {}, join_pointer(self.new_pointer, key), "*",
        )  # fmt: skip

    def compositions(self) -> None:
        for keyword, facet in _COMPOSITIONS:
            old_value, new_value = self.old.get(keyword), self.new.get(keyword)
            old: list[Any] = old_value if isinstance(old_value, list) else []
            new: list[Any] = new_value if isinstance(new_value, list) else []
            if not old and not new:
                continue
            inherited: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
            if keyword == "allOf":  # a member's `required` may name a property another member hides
                inherited = (frozenset(hidden_properties(self.diff.old.data, self.old, self.direction)),
                             frozenset(hidden_properties(self.diff.new.data, self.new, self.direction)))  # fmt: skip
            old_members = dict(_members(old))
            new_members = dict(_members(new))
            for name, index in old_members.items():
                old_at = join_pointer(self.old_pointer, keyword, index)
                if name in new_members:
                    new_at = join_pointer(self.new_pointer, keyword, new_members[name])
                    self.child(
                        old[index], old_at, new[new_members[name]], new_at, None, self.required, inherited
                    )
                else:
                    self.found(f"{facet}-member-removed", f"{keyword} member {name} removed",
                               old_pointer=old_at, new_pointer=self.new_pointer)  # fmt: skip
            for name, index in new_members.items():
                if name not in old_members:
                    self.found(f"{facet}-member-added", f"{keyword} member {name} added",
                               old_pointer=self.old_pointer, new_pointer=join_pointer(self.new_pointer, keyword, index))  # fmt: skip

    def deprecated(self) -> None:
        old, new = self.old.get("deprecated") is True, self.new.get("deprecated") is True
        if old != new:
            self.found("deprecated" if new else "undeprecated", "deprecated" if new else "no longer deprecated",
                       old, new, key="deprecated")  # fmt: skip

    def other_keywords(self) -> None:
        """Keywords no facet reads (``not``, ``multipleOf``, ``prefixItems``, ``if`` ...): any change counts,
        also one behind a ``$ref`` they hold."""
        for key in [*self.old, *(k for k in self.new if k not in self.old)]:
            if not isinstance(key, str) or key in _HANDLED or key in ANNOTATIONS or key.startswith("x-"):
                continue
            old, new = self.old.get(key), self.new.get(key)
            if not self.diff.same(old, new) or _canonical(old) != _canonical(new):
                self.found(
                    "keyword-changed", f"{key} {short_json(old)} -> {short_json(new)}", old, new, key=key
                )
