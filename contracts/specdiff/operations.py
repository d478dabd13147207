"""Comparing two contracts operation by operation.

Operations are followed by ``operationId``. An id that is gone while another id now serves the
same method and path (parameter names aside) is a rename, compared like any other pair; an id
whose method or path changed is compared too, with the move reported. Within a pair: parameters
(matched by location and name; path parameters by position, since only their place in the URL
is on the wire), the request body per media type, each documented response (status, media types,
body, headers) and the security requirements. Schemas are compared by
:class:`~contracts.specdiff.schemas.SchemaDiff`, per direction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..documents import join_pointer
from ..http import is_json_media
from ..model import MediaType, Operation, Parameter
from ..spec import Contract
from .model import Change, Side, SpecDiff, Touch
from .rules import RULES
from .schemas import SchemaDiff
from .walking import Found, SchemaSource

__all__ = ["Scope", "diff_contracts", "route_key"]

_SCALARS = {"string", "integer", "number", "boolean"}


def route_key(method: str, path: str) -> tuple[str, str]:
    """(METHOD, path with its parameters unnamed): what stays the same when only names change."""
    return method.upper(), re.sub(r"{[^}]*}", "{}", path)


@dataclass(frozen=True, slots=True)
class Scope:
    """The operations a diff covers: by id, and by route (so that a renamed one stays in)."""

    ids: frozenset[str]
    routes: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, contract: Contract) -> Scope:
        return cls(
            frozenset(op.operation_id for op in contract),
            frozenset(route_key(op.method, op.path) for op in contract),
        )

    def __contains__(self, op: Operation) -> bool:
        return op.operation_id in self.ids or route_key(op.method, op.path) in self.routes


def diff_contracts(old: Contract, new: Contract, *, scope: Scope | None = None) -> SpecDiff:
    """Every change from ``old`` to ``new`` in the operations of ``scope`` (all when None)."""
    result = SpecDiff(old.source, new.source, old.version, new.version)
    result.issues = [*old.issues, *new.issues]
    differ = _Differ(old, new)
    pairs, removed, added = _pair(old, new, scope)
    result.operations = len(pairs) + len(removed) + len(added)
    if result.operations and old.base_path != new.base_path:
        differ.emit("api-base-path-changed", None, None, "server", f"base path {old.base_path or '/'} -> "
                    f"{new.base_path or '/'}", old.base_path, new.base_path, "/servers", "/servers")  # fmt: skip
    for op in removed:
        differ.emit("operation-removed", op, None, "operation", f"{op.method} {op.path} removed",
                    old_pointer=op.pointer)  # fmt: skip
    for old_op, new_op in pairs:
        differ.operation(old_op, new_op)
    for op in added:
        differ.emit(
            "operation-added", None, op, "operation", f"{op.method} {op.path} added", new_pointer=op.pointer
        )
    result.changes = differ.changes
    return result


def _pair(
    old: Contract, new: Contract, scope: Scope | None
) -> tuple[list[tuple[Operation, Operation]], list[Operation], list[Operation]]:
    def wanted(op: Operation) -> bool:
        return scope is None or op in scope

    pairs = [(op, new.operations[op.operation_id]) for op in old if op.operation_id in new.operations]
    pairs = [(a, b) for a, b in pairs if wanted(a) or wanted(b)]
    gone = [op for op in old if op.operation_id not in new.operations]
    fresh = {route_key(op.method, op.path): op for op in new if op.operation_id not in old.operations}
    removed = []
    for op in gone:
        renamed = fresh.pop(route_key(op.method, op.path), None)
        if renamed is not None and (wanted(op) or wanted(renamed)):
            pairs.append((op, renamed))
        elif wanted(op):
            removed.append(op)
    added = [op for op in fresh.values() if wanted(op)]
    return pairs, removed, added


class _Differ:
    def __init__(self, old: Contract, new: Contract) -> None:
        self.old, self.new = old, new
        self.schemas = SchemaDiff(SchemaSource(old.data, old.openapi_version),
                                  SchemaSource(new.data, new.openapi_version))  # fmt: skip
        self.changes: list[Change] = []
        self._old_op: Operation | None = None
        self._new_op: Operation | None = None

    # -- output

    def _side(self, contract: Contract, pointer: str | None) -> Side | None:
        if pointer is None:
            return None
        return Side(contract.source, pointer, contract.document.line_of(pointer))

    def emit(
        self,
        rule_id: str,
        old_op: Operation | None,
        new_op: Operation | None,
        location: str,
        message: str,
        before: Any = None,
        after: Any = None,
        old_pointer: str | None = None,
        new_pointer: str | None = None,
        touch: Touch | None = None,
    ) -> None:
        op = new_op or old_op
        rename = (
            old_op.operation_id if old_op and new_op and old_op.operation_id != new_op.operation_id else None
        )
        self.changes.append(Change(
            rule_id, RULES[rule_id].level, op.operation_id if op else "*", op.method if op else "*",
            op.path if op else "*", location, message, before, after,
            self._side(self.old, old_pointer), self._side(self.new, new_pointer),
            touch or Touch("operation"), rename,
        ))  # fmt: skip

    def _found(self, found: Iterable[Found], location: str, phase: str, part: str, status: str | None = None,
               media: str | None = None, root: str | None = None) -> None:  # fmt: skip
        """``root``: the parameter's new name, shown in the location (the touch keeps the recorded name)."""
        assert self._old_op is not None and self._new_op is not None
        for f in found:
            where = "/".join((root, *f.path[1:]) if root is not None and f.path else f.path)
            touch = Touch(f.touch, phase, status, part, f.path, f.values, f.bound, media)
            self.emit(f.rule_id, self._old_op, self._new_op, f"{location}/{where}" if where else location,
                      f.message, f.before, f.after, f.old_pointer, f.new_pointer, touch)  # fmt: skip

    # -- one operation

    def operation(self, old: Operation, new: Operation) -> None:
        self._old_op, self._new_op = old, new
        if old.operation_id != new.operation_id:
            self.emit("operation-renamed", old, new, "operation",
                      f"operationId {old.operation_id} -> {new.operation_id}", old.operation_id, new.operation_id,
                      join_pointer(old.pointer, "operationId"), join_pointer(new.pointer, "operationId"))  # fmt: skip
        if old.method != new.method:
            self.emit("operation-method-changed", old, new, "operation", f"method {old.method} -> {new.method}",
                      old.method, new.method, old.pointer, new.pointer)  # fmt: skip
        if route_key("GET", old.path) != route_key("GET", new.path):
            self.emit("operation-path-changed", old, new, "operation", f"path {old.path} -> {new.path}",
                      old.path, new.path, old.pointer, new.pointer)  # fmt: skip
        if old.deprecated != new.deprecated:
            self.emit("operation-deprecated" if new.deprecated else "operation-undeprecated", old, new,
                      "operation", "deprecated" if new.deprecated else "no longer deprecated", old.deprecated,
                      new.deprecated, old.pointer, join_pointer(new.pointer, "deprecated"))  # fmt: skip
        self.parameters(old, new)
        self.request_body(old, new)
        self.responses(old, new)
        self.security(old, new)

    # -- parameters

    def parameters(self, old: Operation, new: Operation) -> None:
        def key(p: Parameter) -> tuple[str, str]:
            return p.location, p.name.lower() if p.location == "header" else p.name

        pairs: list[tuple[Parameter, Parameter]] = []
        if route_key("GET", old.path) == route_key("GET", new.path):
            for a, b in zip(
                old.path_parameters, new.path_parameters, strict=False
            ):  # only the place is on the wire
                pairs.append((a, b))
                if a.name != b.name:
                    self.emit("request-path-parameter-renamed", old, new, f"request path/{b.name}",
                              f"path parameter {{{a.name}}} -> {{{b.name}}}", a.name, b.name,
                              _param_pointer(a), _param_pointer(b))  # fmt: skip
        paired_old = {key(a) for a, _ in pairs}
        paired_new = {key(b) for _, b in pairs}
        rest_old = {key(p): p for p in old.parameters if key(p) not in paired_old}
        rest_new = {key(p): p for p in new.parameters if key(p) not in paired_new}
        for k in list(rest_old):
            if k in rest_new:
                pairs.append((rest_old.pop(k), rest_new.pop(k)))
        for k, p in list(rest_old.items()):  # the same name elsewhere in the request: a move
            moved = next(
                (q for q in rest_new.values() if q.location != p.location and _same_name(p, q)), None
            )
            if moved is None:
                continue
            del rest_old[k], rest_new[key(moved)]
            self.emit("request-parameter-moved", old, new, f"request {moved.location}/{moved.name}",
                      f"parameter {p.name} moved from {p.location} to {moved.location}", p.location,
                      moved.location, _param_pointer(p), _param_pointer(moved),
                      Touch("present", "request", None, p.location, (p.name,)))  # fmt: skip
            pairs.append((p, moved))
        for p in rest_old.values():
            rule_id = "request-required-parameter-removed" if p.required else "request-parameter-removed"
            self.emit(rule_id, old, new, f"request {p.location}/{p.name}", f"parameter {p.name} removed",
                      old_pointer=_param_pointer(p), new_pointer=new.pointer,
                      touch=Touch("present", "request", None, p.location, (p.name,)))  # fmt: skip
        for p in rest_new.values():
            rule_id = "request-required-parameter-added" if p.required else "request-parameter-added"
            word = "required" if p.required else "optional"
            self.emit(rule_id, old, new, f"request {p.location}/{p.name}", f"{word} parameter {p.name} added",
                      old_pointer=old.pointer, new_pointer=_param_pointer(p),
                      touch=Touch("missing" if p.required else "operation", "request", None, p.location,
                                  (p.name,)))  # fmt: skip
        for a, b in pairs:
            self.parameter(old, new, a, b)

    def parameter(self, old: Operation, new: Operation, a: Parameter, b: Parameter) -> None:
        location = f"request {b.location}/{b.name}"
        touch = Touch("present", "request", None, a.location, (a.name,))
        if a.required != b.required:
            self.emit("request-parameter-became-required" if b.required else "request-parameter-became-optional",
                      old, new, location, f"parameter {b.name} is now {'required' if b.required else 'optional'}",
                      a.required, b.required, _param_pointer(a), _param_pointer(b),
                      Touch("missing", "request", None, a.location, (a.name,)) if b.required else touch)  # fmt: skip
        if a.deprecated != b.deprecated:
            self.emit("request-parameter-deprecated" if b.deprecated else "request-parameter-undeprecated", old,
                      new, location, "deprecated" if b.deprecated else "no longer deprecated", a.deprecated,
                      b.deprecated, _param_pointer(a), _param_pointer(b), touch)  # fmt: skip
        old_kind, new_kind = _kind(a.resolved), _kind(b.resolved)
        for what, before, after in self._wire_forms(a, b, old_kind, new_kind):
            self.emit("request-parameter-style-changed", old, new, location, f"parameter {b.name}: {what} {before} -> "
                      f"{after}", before, after, _param_pointer(a), _param_pointer(b), touch)  # fmt: skip
        old_schema: Any = a.schema
        new_schema: Any = b.schema
        if old_kind in _SCALARS and new_kind == "array":
            self.emit("request-parameter-became-list", old, new, location,
                      f"parameter {b.name}: {old_kind} -> array (style {b.style}, explode {str(b.explode).lower()})",
                      old_kind, "array", a.schema_pointer, b.schema_pointer, touch)  # fmt: skip
            # the old single value is now a list of one: compare that with the new list (its items, and
            # the list's own bounds: a minItems of 2 refuses what the client sends)
            old_schema = {"type": "array", "items": a.schema}
        elif old_kind == "array" and new_kind in _SCALARS:
            self.emit("request-parameter-became-scalar", old, new, location,
                      f"parameter {b.name}: array -> {new_kind}", "array", new_kind, a.schema_pointer,
                      b.schema_pointer, touch)  # fmt: skip
            new_schema = {"type": "array", "items": b.schema}
        found = self.schemas.compare("request", old_schema, a.schema_pointer, new_schema, b.schema_pointer,
                                     (a.name,), required=b.required)  # fmt: skip
        self._found(found, "request " + b.location, "request", a.location, root=b.name)

    @staticmethod
    def _wire_forms(
        a: Parameter, b: Parameter, old_kind: str | None, new_kind: str | None
    ) -> list[tuple[str, str, str]]:
        """How the value is written on the wire, where it changed: (what, before, after)."""
        changes = []
        # style and explode change arrays and objects everywhere, and scalars in a path (simple/label/matrix)
        if (a.style, a.explode) != (b.style, b.explode) and (
            (old_kind in ("array", "object") and new_kind == old_kind) or (a.location == b.location == "path")
        ):
            changes.append(
                (
                    "style/explode",
                    f"{a.style}/{str(a.explode).lower()}",
                    f"{b.style}/{str(b.explode).lower()}",
                )
            )
        old_media, new_media = a.media_type, b.media_type
        if old_media != new_media:
            changes.append(
                ("content", old_media or "schema (no content type)", new_media or "schema (no content type)")
            )
        if a.allow_empty and not b.allow_empty:
            changes.append(("allowEmptyValue", "true", "false"))
        return changes

    # -- request body

    def request_body(self, old: Operation, new: Operation) -> None:
        a, b = old.request_body, new.request_body
        body = _body_pointer(new) or new.pointer
        if a is None and b is None:
            return
        if a is None:
            assert b is not None
            rule_id = "request-required-body-added" if b.required else "request-body-added"
            self.emit(rule_id, old, new, "request body", f"{'required' if b.required else 'optional'} body added",
                      old_pointer=old.pointer, new_pointer=body,
                      touch=Touch("operation", "request"))  # fmt: skip
            return
        old_body = _body_pointer(old) or old.pointer
        if b is None:
            self.emit("request-body-removed", old, new, "request body", "request body removed",
                      old_pointer=old_body, new_pointer=new.pointer, touch=Touch("operation", "request"))  # fmt: skip
            return
        if a.required != b.required:
            self.emit("request-body-became-required" if b.required else "request-body-became-optional", old, new,
                      "request body", f"body is now {'required' if b.required else 'optional'}", a.required,
                      b.required, old_body, body, Touch("operation", "request"))  # fmt: skip
        self._contents(old, new, a.content, b.content, "request", None, old_body, body)

    # -- responses

    def responses(self, old: Operation, new: Operation) -> None:
        """Each documented response with its counterpart: the same key, or the range or ``default`` that now
        (or until now) answers that status (``200`` -> ``2XX`` is a change of the schema, not of the status)."""
        pairs: list[tuple[str, str]] = []
        consumed: set[str] = set()
        for key in old.responses:
            if key in new.responses:
                others = [key]
            elif (covering := _covering(new, key)) is not None:
                others = [covering]
            else:  # a range now given as exact codes (2XX -> 200): each of them, as the range was
                others = [k for k in new.responses if k.isdigit() and key.endswith("XX") and k[0] == key[0]
                          and k not in old.responses]  # fmt: skip
            if not others:
                self._status_gone(old, new, key)
            for other in others:
                pairs.append((key, other))
                consumed.add(other)
        for key in new.responses:
            if key in consumed:
                continue
            covering = _covering(old, key)
            if covering is None:
                self._status_new(old, new, key)
            else:
                pairs.append((covering, key))
        for old_key, new_key in pairs:
            a, b = old.responses[old_key], new.responses[new_key]
            old_at = join_pointer(old.pointer, "responses", a.key)
            new_at = join_pointer(new.pointer, "responses", b.key)
            self._contents(old, new, a.content, b.content, "response", old_key, old_at, new_at, new_key)
            self.headers(old, new, old_key, new_key, a.headers, b.headers, old_at, new_at)

    def _status_gone(self, old: Operation, new: Operation, key: str) -> None:
        rule_id = (
            "response-success-status-removed" if key.startswith("2") else "response-error-status-removed"
        )
        self.emit(rule_id, old, new, f"response {key}", f"status {key} no longer documented", key, None,
                  join_pointer(old.pointer, "responses", old.responses[key].key), join_pointer(new.pointer, "responses"),
                  Touch("status", "response", key))  # fmt: skip

    def _status_new(self, old: Operation, new: Operation, key: str) -> None:
        rule_id = "response-success-status-added" if key.startswith("2") else "response-error-status-added"
        self.emit(rule_id, old, new, f"response {key}", f"status {key} now documented", None, key,
                  join_pointer(old.pointer, "responses"), join_pointer(new.pointer, "responses", new.responses[key].key),
                  Touch("operation", "response"))  # fmt: skip

    def headers(self, old: Operation, new: Operation, status: str, shown: str, a: tuple[Parameter, ...],
                b: tuple[Parameter, ...], old_at: str, new_at: str) -> None:  # fmt: skip
        """``status``: the old response key (what recorded traffic is matched by); ``shown``: the new one."""
        old_headers = {h.name.lower(): h for h in a}
        new_headers = {h.name.lower(): h for h in b}
        for name in [*old_headers, *(n for n in new_headers if n not in old_headers)]:
            x, y = old_headers.get(name), new_headers.get(name)
            location = f"response {shown} header/{(y or x).name}"  # type: ignore[union-attr]
            touch = Touch("present", "response", status, "header", (name,))
            if y is None:
                assert x is not None
                rule_id = "response-required-header-removed" if x.required else "response-header-removed"
                self.emit(rule_id, old, new, location, f"header {x.name} removed", old_pointer=_param_pointer(x),
                          new_pointer=new_at, touch=touch)  # fmt: skip
            elif x is None:
                rule_id = "response-required-header-added" if y.required else "response-header-added"
                self.emit(rule_id, old, new, location, f"header {y.name} added", old_pointer=old_at,
                          new_pointer=_param_pointer(y), touch=Touch("status", "response", status))  # fmt: skip
            else:
                if x.required != y.required:
                    self.emit("response-header-became-required" if y.required else "response-header-became-optional",
                              old, new, location, f"header {y.name} is now {'always sent' if y.required else 'optional'}",
                              x.required, y.required, _param_pointer(x), _param_pointer(y), touch)  # fmt: skip
                found = self.schemas.compare("response", x.schema, x.schema_pointer, y.schema, y.schema_pointer,
                                             (name,), required=y.required)  # fmt: skip
                self._found(found, f"response {shown} header", "response", "header", status)

    # -- bodies (request and response)

    def _contents(self, old: Operation, new: Operation, a: dict[str, MediaType] | Any, b: dict[str, MediaType] | Any,
                  phase: str, status: str | None, old_at: str, new_at: str, shown: str | None = None) -> None:  # fmt: skip
        """``status``: the old response key (what recorded traffic is matched by); ``shown``: the new one."""
        head = "request" if status is None else f"response {shown or status}"
        single = len(a) <= 1 and len(b) <= 1
        for media in [*a, *(m for m in b if m not in a)]:
            x, y = a.get(media), b.get(media)
            # JSON bodies are "body" whatever else is documented beside them: ignore entries keep matching
            label = f"{head} body" if single or is_json_media(media) else f"{head} body[{media}]"
            if y is None:
                assert x is not None
                self.emit(f"{phase}-media-type-removed", old, new, label, f"content type {media} removed", media,
                          None, join_pointer(old_at, "content", media), join_pointer(new_at, "content"),
                          Touch("media-type", phase, status, "body", (), (), None, media))  # fmt: skip
                continue
            if x is None:
                self.emit(f"{phase}-media-type-added", old, new, label, f"content type {media} added", None, media,
                          join_pointer(old_at, "content"), join_pointer(new_at, "content", media),
                          Touch("operation" if status is None else "status", phase, status))  # fmt: skip
                continue
            if x.schema is None and y.schema is None:
                continue
            found = self.schemas.compare(phase, x.schema if x.schema is not None else {}, x.schema_pointer,
                                         y.schema if y.schema is not None else {}, y.schema_pointer, (),
                                         required=True)  # fmt: skip
            self._found(found, label, phase, "body", status, media)

    # -- security

    def security(self, old: Operation, new: Operation) -> None:
        """Alternatives (any one of them lets a call in), each a set of schemes with their scopes."""

        def alternatives(op: Operation) -> list[dict[str, frozenset[str]]]:
            result: list[dict[str, frozenset[str]]] = []
            for requirement in op.security or ({},):  # no requirement: calls without credentials are let in
                scopes = {
                    n: frozenset(v) if isinstance(v, list) else frozenset() for n, v in requirement.items()
                }
                if scopes not in result:
                    result.append(scopes)
            return result

        a, b = alternatives(old), alternatives(new)
        touch = Touch("operation")
        at_old, at_new = join_pointer(old.pointer, "security"), join_pointer(new.pointer, "security")
        counterparts: list[
            dict[str, frozenset[str]]
        ] = []  # new alternatives reported as a change of an old one
        for alternative in a:
            if alternative in b:
                continue
            shown = " + ".join(sorted(alternative)) or "no authentication"
            same_schemes = [x for x in b if set(x) == set(alternative) and x not in a]
            # a credential that satisfied the old requirement satisfies one that asks for fewer scopes
            laxer = next((x for x in same_schemes if all(x[n] <= alternative[n] for n in x)), None)
            if laxer is not None:
                counterparts.append(laxer)
                for name in sorted(n for n in laxer if laxer[n] < alternative[n]):
                    self.emit("security-scopes-removed", old, new, f"security/{name}", f"{name} no longer needs "
                              f"scopes {', '.join(sorted(alternative[name] - laxer[name]))}",
                              sorted(alternative[name]), sorted(laxer[name]), at_old, at_new, touch)  # fmt: skip
            elif same_schemes or (same_schemes := [x for x in b if set(x) == set(alternative)]):
                closest = min(same_schemes, key=lambda x: sum(len(x[n] - alternative[n]) for n in x))
                counterparts.append(closest)
                for name in sorted(n for n in closest if closest[n] - alternative[n]):
                    self.emit("security-scopes-added", old, new, f"security/{name}", f"{name} needs scopes "
                              f"{', '.join(sorted(closest[name] - alternative[name]))}",
                              sorted(alternative[name]), sorted(closest[name]), at_old, at_new, touch)  # fmt: skip
            else:
                self.emit("security-requirement-removed", old, new, "security", f"security {shown} no longer "
                          "accepted", sorted(alternative), None, at_old, at_new, touch)  # fmt: skip
        for alternative in b:
            if alternative not in a and alternative not in counterparts:
                shown = " + ".join(sorted(alternative)) or "no authentication"
                self.emit("security-requirement-added", old, new, "security", f"security {shown} now accepted",
                          None, sorted(alternative), at_old, at_new, touch)  # fmt: skip
        used = {n for x in a for n in x} & {n for x in b for n in x}
        for name in sorted(used):
            x, y = _scheme(self.old.security_schemes.get(name)), _scheme(self.new.security_schemes.get(name))
            if x != y:
                changed = sorted(k for k in {*x, *y} if x.get(k) != y.get(k))
                self.emit("security-scheme-changed", old, new, f"security/{name}",
                          f"security scheme {name}: {', '.join(f'{k} {x.get(k)!r} -> {y.get(k)!r}' for k in changed)}",
                          x, y, join_pointer("/components/securitySchemes", name),
                          join_pointer("/components/securitySchemes", name), touch)  # fmt: skip


def _scheme(scheme: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of a security scheme that decide where the credential goes."""
    if not scheme:
        return {}
    keep = ("type", "name", "in", "scheme", "bearerFormat", "openIdConnectUrl", "flows")
    return {k: scheme[k] for k in keep if k in scheme}


def _kind(resolved: dict[str, Any]) -> str | None:
    kind = resolved.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _param_pointer(param: Parameter) -> str:
    return param.pointer or param.schema_pointer.rsplit("/schema", 1)[0]


def _same_name(a: Parameter, b: Parameter) -> bool:
    """Header names are case-insensitive (RFC 9110); query, path and cookie names are not."""
    if "header" in (a.location, b.location):
        return a.name.lower() == b.name.lower()
    return a.name == b.name


def _covering(op: Operation, key: str) -> str | None:
    """For an exact status, the key of ``op`` that answers it (its range or ``default``), if not the same key."""
    if not key.isdigit():
        return None
    found = op.response_for(int(key))
    if found is None:
        return None
    covering = found.key.upper() if found.key != "default" else "default"
    return covering if covering != key else None


def _body_pointer(op: Operation) -> str | None:
    body = op.request_body
    if body is None or not body.content:
        return None
    first = next(iter(body.content.values()))
    return first.schema_pointer.split("/content/", 1)[0]
