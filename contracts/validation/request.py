"""Checking requests, and reading them the way the server does.

:meth:`RequestChecks.parse_request` routes a request (unless told its operation), reads its path,
query and header parameters into typed values (the contract's defaults for absent ones), checks
its credentials against the operation's security requirements and its body against the documented
media types and schema. What breaks the contract is a violation; what could not be read is absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnknownOperation, Violation, short_json
from ..http import (
    HttpRequest,
    has_content,
    is_json_media,
    media_type,
    normalize_headers,
    parse_json,
    query_params,
)
from ..model import MISSING, MediaType, Operation, Parameter, RequestBody
from ..schema import REQUEST, schema_type
from .checks import SchemaChecks
from .reading import ParamPlan, coerce, json_fallback, not_json, pick_media

__all__ = ["ParsedRequest", "RequestChecks"]

_ABSENT: Any = object()  # a parameter that is absent, or present but unreadable


@dataclass(slots=True)
class ParsedRequest:
    """A request as the server reads it: typed parameters (defaults applied), parsed body, violations."""

    operation: Operation | None
    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]  # all headers, names lower-cased
    body: Any  # the parsed JSON body, or None
    violations: list[Violation]
    header_params: dict[str, Any] = field(default_factory=dict)  # documented header parameters, typed

    @property
    def ok(self) -> bool:
        return not self.violations


class RequestChecks(SchemaChecks):
    """The request half of the validator."""

    def _param_plans(self, op: Operation) -> list[ParamPlan]:
        plans = self._params.get(op.operation_id)
        if plans is None:
            plans = []
            for param in op.parameters:
                kind = schema_type(param.resolved)
                items = param.resolved.get("items")
                item_kind = (
                    schema_type(self.contract.schema_top(items)) if isinstance(items, dict) else "string"
                )
                compiled = self.compiled(
                    param.schema,
                    param.schema_pointer,
                    REQUEST,
                    (op.operation_id, "param", param.location, param.name),
                )
                plans.append(ParamPlan(param, kind, item_kind, compiled))
            self._params[op.operation_id] = plans
        return plans

    def parse_request(
        self,
        request: HttpRequest,
        operation: str | Operation | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> ParsedRequest:
        """Read a request the way the server would, and check it on the way.

        Parameters come back typed (``pageSize`` as an int, ``subledgerId`` as a list ...) with
        the contract's defaults filled in for absent ones; the body comes back parsed. Anything
        that breaks the contract is in ``violations``; values that could not be read are absent.
        ``path_params``: the path's parameters, when the caller has routed the request already.
        """
        if operation is None:
            try:
                match = self.contract.match(request.method, request.url)
            except UnknownOperation as exc:
                violation = _unknown_operation(request, exc)
                return ParsedRequest(None, {}, {}, normalize_headers(request.headers), None, [violation])
            op, path_values = match.operation, match.path_params
        else:
            op = self.contract.operation(operation)
            if path_params is not None:
                path_values = dict(path_params)
            else:
                path_values = self.contract.path_params(op, request.url) or {}
        headers = normalize_headers(request.headers)
        query = query_params(request.url)
        parsed = ParsedRequest(op, {}, {}, headers, None, [])
        known = self._read_parameters(op, parsed, path_values, query)
        if self.report_unknown_query:
            parsed.violations += _unknown_query(op, query, known)
        parsed.violations += self._check_security(op, headers, query)
        parsed.body, body_violations = self._check_request_body(op, headers, request.body)
        parsed.violations += body_violations
        return parsed

    def validate_request(
        self, request: HttpRequest, operation: str | Operation | None = None
    ) -> list[Violation]:
        """Check a request: operation found, path/query/header parameters, auth, body."""
        return self.parse_request(request, operation).violations

    def _read_parameters(
        self,
        op: Operation,
        parsed: ParsedRequest,
        path_values: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> set[str]:
        """Fill ``parsed`` with the typed path, query and header parameters; the query names known."""
        headers = parsed.headers
        known: set[str] = set()
        for plan in self._param_plans(op):
            param = plan.param
            if param.location == "path":
                raw: list[str] | None = [path_values[param.name]] if param.name in path_values else None
                target = parsed.path
            elif param.location == "query":
                known.add(param.name)
                raw = query.get(param.name)
                target = parsed.query
            elif param.location == "header":
                header = headers.get(param.name.lower())
                raw = None if header is None else [header]
                target = parsed.header_params
            else:
                continue  # cookies: not used by this API
            value, found_violations = self._check_param(op, plan, raw)
            parsed.violations += found_violations
            if value is not _ABSENT:
                target[param.name] = value
            elif raw is None and param.default is not MISSING:
                target[param.name] = param.default
        return known

    def _param_violation(
        self, op: Operation, param: Parameter, keyword: str, expected: Any, actual: Any, message: str
    ) -> Violation:
        return Violation(
            operation_id=op.operation_id,
            phase="request",
            location=param.location,
            pointer="/" + param.name,
            keyword=keyword,
            expected=expected,
            actual=actual,
            message=message,
            schema_path="#" + param.schema_pointer if param.schema_pointer else None,
        )

    def _check_param(
        self, op: Operation, plan: ParamPlan, raw: list[str] | None
    ) -> tuple[Any, list[Violation]]:
        """(typed value or _ABSENT, violations) for one parameter's raw string values."""
        param = plan.param
        if raw is None:
            if param.required:
                return _ABSENT, [self._param_violation(op, param, "required", param.name, None,
                                                       f"required {param.location} parameter {param.name!r} is missing")]  # fmt: skip
            return _ABSENT, []
        if plan.kind == "array":
            if param.explode and param.location == "query":
                pieces = raw
            else:
                pieces = [p for value in raw for p in value.split(",")] if raw != [""] else []
            values = []
            for i, piece in enumerate(pieces):
                try:
                    values.append(coerce(piece, plan.item_kind))
                except ValueError:
                    violation = self._param_violation(
                        op, param, "type", plan.item_kind, piece,
                        f"item {i} of {param.name!r}: expected {plan.item_kind}, got {piece!r}",
                    )  # fmt: skip
                    violation.pointer = f"/{param.name}/{i}"
                    return _ABSENT, [violation]
            value: Any = values
        else:
            if len(raw) > 1:
                return _ABSENT, [self._param_violation(op, param, "multiple", 1, raw,
                                                       f"{param.name!r} given {len(raw)} times; it takes one value")]  # fmt: skip
            try:
                value = coerce(raw[0], plan.kind)
            except ValueError:
                return _ABSENT, [self._param_violation(op, param, "type", plan.kind, raw[0],
                                                       f"expected {plan.kind}, got {raw[0]!r}")]  # fmt: skip
        violations = self._schema_violations(
            plan.compiled,
            value,
            operation_id=op.operation_id,
            phase="request",
            status=None,
            location=param.location,
            base="/" + param.name.replace("~", "~0").replace("/", "~1"),
        )
        return (_ABSENT if violations else value), violations

    def _check_security(
        self, op: Operation, headers: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> list[Violation]:
        alternatives = op.security
        if not alternatives or any(not alt for alt in alternatives):
            return []
        first: list[Violation] | None = None
        for alternative in alternatives:
            problems: list[Violation] = []
            for name in alternative:
                scheme = self.contract.security_schemes.get(name)
                if scheme is not None:
                    problems += self._check_scheme(op, name, scheme, headers, query)
            if not problems:
                return []
            first = first if first is not None else problems
        return first or []

    def _check_scheme(
        self,
        op: Operation,
        name: str,
        scheme: Mapping[str, Any],
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> list[Violation]:
        kind = scheme.get("type")
        prefix = scheme.get("x-talon-key-prefix")
        if kind == "apiKey":
            where = str(scheme.get("in", "header"))
            field_name = str(scheme.get("name", "Authorization"))
            if where == "header":
                value = headers.get(field_name.lower())
            else:
                value = next(iter(query.get(field_name) or []), None)
            expected = f"{prefix} <key>" if prefix else "an API key"
        elif kind in ("http", "oauth2", "openIdConnect"):
            where, field_name = "header", "Authorization"
            value = headers.get("authorization")
            prefix = {"basic": "Basic", "bearer": "Bearer"}.get(
                str(scheme.get("scheme", "bearer")).lower(), "Bearer"
            )
            expected = f"{prefix} <credentials>"
        else:
            return []
        location = "header" if where == "header" else "query"
        if not value:
            return [Violation(operation_id=op.operation_id, phase="request", location=location,
                              pointer="/" + field_name, keyword="security", expected=expected, actual=None,
                              message=f"missing credentials: {field_name} must carry {expected} ({name})")]  # fmt: skip
        if prefix:
            scheme_word, _, secret = value.partition(" ")
            if scheme_word != prefix or not secret.strip():
                # Never echo a secret: show the scheme word only when it looks like one.
                looks_like_scheme = bool(secret) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,19}", scheme_word)
                shown = f"{scheme_word} …" if looks_like_scheme else "<redacted>"
                return [Violation(operation_id=op.operation_id, phase="request", location=location,
                                  pointer="/" + field_name, keyword="security", expected=expected, actual=shown,
                                  message=f"{field_name} must be {expected!r}, got {shown!r} ({name})")]  # fmt: skip
        return []

    def _check_request_body(
        self, op: Operation, headers: Mapping[str, str], body: bytes | str | None
    ) -> tuple[Any, list[Violation]]:
        """(parsed JSON body or None, violations)."""
        present = has_content(body)
        spec = op.request_body
        if spec is None:
            if present:
                return None, [
                    _body_violation(
                        op,
                        "requestBody",
                        "body",
                        None,
                        short_json(body),
                        "the operation takes no request body",
                    )
                ]
            return None, []
        if not present:
            if spec.required:
                return None, [
                    _body_violation(
                        op, "required", "body", sorted(spec.content), None, "the request body is required"
                    )
                ]
            return None, []
        found: list[Violation] = []
        chosen = _body_media(op, spec, headers.get("content-type"), found)
        if chosen is None or not is_json_media(chosen.media_type):
            return None, found
        try:
            instance = parse_json(body)  # type: ignore[arg-type]
        except ValueError as exc:
            return None, [
                *found,
                _body_violation(op, "json", "body", "JSON", short_json(body), not_json(headers, exc)),
            ]
        compiled = self.compiled(
            chosen.schema,
            chosen.schema_pointer,
            REQUEST,
            (op.operation_id, "request", chosen.media_type, REQUEST),
        )
        return instance, found + self._schema_violations(
            compiled,
            instance,
            operation_id=op.operation_id,
            phase="request",
            status=None,
            location="body",
            base="",
        )


def _unknown_operation(request: HttpRequest, exc: UnknownOperation) -> Violation:
    return Violation(
        operation_id=None,
        phase="request",
        location="operation",
        pointer="",
        keyword="operation",
        expected=list(exc.suggestions),
        actual=f"{request.method.upper()} {request.path}",
        message=str(exc),
    )


def _unknown_query(op: Operation, query: Mapping[str, list[str]], known: set[str]) -> list[Violation]:
    return [
        Violation(
            operation_id=op.operation_id,
            phase="request",
            location="query",
            pointer="/" + name,
            keyword="additionalParameters",
            expected=sorted(known),
            actual=query[name],
            message=f"undocumented query parameter {name!r}",
        )
        for name in query
        if name not in known
    ]


def _body_violation(
    op: Operation, keyword: str, location: str, expected: Any, actual: Any, message: str
) -> Violation:
    return Violation(operation_id=op.operation_id, phase="request", location=location, pointer="",
                     keyword=keyword, expected=expected, actual=actual, message=message)  # fmt: skip


def _body_media(
    op: Operation, spec: RequestBody, declared: str | None, found: list[Violation]
) -> MediaType | None:
    """The documented media type to check the body as (None: none applies); a Content-Type the
    operation does not document is a violation, added to ``found``."""
    media = media_type(declared)
    chosen = pick_media(spec.content, media) if media else None
    if chosen is None:
        documented = ", ".join(sorted(spec.content))
        found.append(
            _body_violation(
                op,
                "mediaType",
                "content-type",
                sorted(spec.content),
                declared,
                f"Content-Type {declared!r} is not documented; expected one of {documented}"
                if declared
                else f"Content-Type is missing; expected one of {documented}",
            )
        )
        chosen = json_fallback(spec.content, media)
    return chosen
