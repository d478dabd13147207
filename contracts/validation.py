"""Checking requests and responses against a contract.

Every check returns a list of :class:`~contracts.errors.Violation` (empty when the exchange
conforms); ``check_*`` variants raise :class:`~contracts.errors.ContractViolationError`.

Speed: validation sits on every hot path (client, replay, cassette verification). Schemas
are converted and compiled once per (operation, status, media type, direction) and cached on
the :class:`Validator`. The default engine is ``jsonschema-rs`` (compiled); its fast
``is_valid`` answers the common case, and only a payload that fails pays for the detailed
pass that produces structured violations. The pure-Python ``jsonschema`` engine is the
fallback where no ``jsonschema-rs`` wheel exists, and the reference in tests.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .documents import join_pointer
from .errors import (
    ContractViolationError,
    ContractWarning,
    LoadIssue,
    UnknownOperation,
    Violation,
    short_json,
)
from .http import (
    HttpRequest,
    HttpResponse,
    has_content,
    is_json_media,
    media_type,
    normalize_headers,
    parse_json,
    query_params,
)
from .schema import REQUEST, RESPONSE, BundledSchema, ecma_pattern, json_kind
from .spec import MISSING

if TYPE_CHECKING:
    from .spec import Contract, MediaType, Operation, Parameter

__all__ = ["ENGINES", "ParsedRequest", "Validator"]

_UNPARSED: Any = object()
# Go's strconv.ParseBool, which the API's query parsing accepts.
_BOOLEANS = {"1": True, "t": True, "T": True, "true": True, "TRUE": True, "True": True,
             "0": False, "f": False, "F": False, "false": False, "FALSE": False, "False": False}  # fmt: skip
# ASCII only: int() and float() would also take "٣" or " 5", which no server reads as numbers.
_INTEGER = re.compile(r"[-+]?[0-9]+")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


# --------------------------------------------------------------------------- engines


@dataclass(slots=True)
class RawError:
    """An engine's error, before it becomes a :class:`Violation`."""

    keyword: str
    instance_path: list[str | int]
    schema_path: list[str | int]
    expected: Any
    actual: Any
    message: str


class CompiledSchema(Protocol):
    def is_valid(self, instance: Any) -> bool: ...

    def errors(self, instance: Any) -> Iterator[RawError]: ...


class _RsCompiled:
    __slots__ = ("_validator", "is_valid")

    def __init__(self, schema: Any) -> None:
        import jsonschema_rs

        self._validator = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True, ignore_unknown_formats=True
        )
        self.is_valid = self._validator.is_valid

    def errors(self, instance: Any) -> Iterator[RawError]:
        for error in self._validator.iter_errors(instance):
            kind = error.kind
            name = kind.name
            if name in ("anyOf", "oneOf", "not"):
                expected: Any = None  # filled in from the schema by the validator
            elif name == "additionalProperties":
                expected = list(getattr(kind, "unexpected", []))
            elif name == "type":
                types = list(kind.value)
                expected = types[0] if len(types) == 1 else types
            else:
                expected = kind.value
            yield RawError(
                name,
                list(error.instance_path),
                list(error.schema_path),
                expected,
                error.instance,
                error.message,
            )


@functools.lru_cache(maxsize=1024)
def _python_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


@functools.cache
def _ecma_validator_class() -> Any:
    r"""jsonschema's Draft 2020-12 validator, with ``pattern`` read as ECMA-262 (as JSON Schema
    says and jsonschema-rs does): Python's ``\s`` also matches U+0085, its ``\d`` any digit."""
    import jsonschema

    def pattern(validator: Any, expected: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not _python_regex(expected).search(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {expected!r}")

    base = jsonschema.Draft202012Validator
    return jsonschema.validators.extend(base, {"pattern": pattern})  # type: ignore[no-untyped-call]


class _PyCompiled:
    __slots__ = ("_paths", "_schema", "_validator")

    def __init__(self, schema: Any) -> None:
        cls = _ecma_validator_class()
        self._schema = schema
        self._validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self._paths: dict[int, list[str | int]] | None = None

    def is_valid(self, instance: Any) -> bool:
        return bool(self._validator.is_valid(instance))

    def _path_of(self, node: Any) -> list[str | int] | None:
        """Where a subschema sits in the bundled schema.

        jsonschema reports schema paths relative to the last ``$ref`` target, so the failing
        subschema is located by identity instead (built once, on the first error).
        """
        if self._paths is None:
            paths: dict[int, list[str | int]] = {}
            stack: list[tuple[Any, list[str | int]]] = [(self._schema, [])]
            while stack:
                current, path = stack.pop()
                if isinstance(current, dict):
                    paths.setdefault(id(current), path)
                    stack.extend((v, [*path, k]) for k, v in current.items())
                elif isinstance(current, list):
                    stack.extend((v, [*path, i]) for i, v in enumerate(current))
            self._paths = paths
        return self._paths.get(id(node))

    def errors(self, instance: Any) -> Iterator[RawError]:
        for error in self._validator.iter_errors(instance):
            keyword = str(error.validator)
            expected: Any = error.validator_value
            if keyword == "required":
                name = error.message.rsplit(" is a required property", 1)[0]
                try:
                    expected = ast.literal_eval(name)
                except (ValueError, SyntaxError):
                    expected = name
            elif keyword == "additionalProperties":
                expected = sorted(set(error.instance) - set((error.schema or {}).get("properties", {})))
            elif keyword in ("anyOf", "oneOf", "not"):
                expected = None
            elif keyword == "false":
                keyword = "falseSchema"
            parent = self._path_of(error.schema)
            schema_path = (
                [*parent, error.relative_schema_path[-1]]
                if parent is not None and error.relative_schema_path
                else list(error.absolute_schema_path)
            )
            yield RawError(
                keyword, list(error.absolute_path), schema_path, expected, error.instance, error.message
            )


def _rs_available() -> bool:
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the platform
        return False
    return True


ENGINES: dict[str, type] = {"rs": _RsCompiled, "python": _PyCompiled}


# --------------------------------------------------------------------------- messages


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


# --------------------------------------------------------------------------- plans


@dataclass(slots=True)
class _Compiled:
    bundled: BundledSchema
    engine: CompiledSchema


@dataclass(slots=True)
class _ParamPlan:
    param: Parameter
    kind: str  # JSON type the raw string is coerced to
    item_kind: str
    compiled: _Compiled


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


# --------------------------------------------------------------------------- validator


class Validator:
    """Validates requests and responses against one contract. Thread-safe; share it."""

    def __init__(
        self,
        contract: Contract,
        *,
        engine: str = "auto",
        max_errors: int = 50,
        report_unknown_query: bool = False,
    ) -> None:
        if engine == "auto":
            engine = "rs" if _rs_available() else "python"
        if engine not in ENGINES:
            raise ValueError(f"unknown validation engine {engine!r}; valid: auto, {', '.join(ENGINES)}")
        self.contract = contract
        self.engine = engine
        self.max_errors = max_errors
        self.report_unknown_query = report_unknown_query
        self._engine_cls = ENGINES[engine]
        self._cache: dict[tuple[str, str, str, str], _Compiled] = {}
        self._params: dict[str, list[_ParamPlan]] = {}
        self._lock = threading.Lock()

    # -- compilation

    def compiled(self, schema: Any, origin: str, direction: str, key: tuple[str, str, str, str]) -> _Compiled:
        found = self._cache.get(key)
        if found is None:
            with self._lock:
                found = self._cache.get(key)
                if found is None:
                    bundled = self.contract.compiler.bundle(schema, origin, direction)
                    try:
                        engine = self._engine_cls(bundled.schema)
                    except Exception as exc:  # a schema the engine refuses: report it, never crash
                        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                        issue = LoadIssue(
                            self.contract.source,
                            origin,
                            f"schema cannot be compiled ({message}); not checked",
                        )
                        self.contract.issues.append(issue)
                        warnings.warn(ContractWarning(issue), stacklevel=2)
                        bundled = BundledSchema(True, origin, {})
                        engine = self._engine_cls(True)
                    found = _Compiled(bundled, engine)
                    self._cache[key] = found
        return found

    def compile_all(self) -> int:
        """Compile every schema of every operation now (instead of on first use); returns how many.

        Schemas the engine refuses become issues of the contract, as quirks found when loading do.
        """
        for op in self.contract:
            self._param_plans(op)
            if op.request_body is not None:
                for media in op.request_body.content.values():
                    if media.schema is not None:
                        key = (op.operation_id, "request", media.media_type, REQUEST)
                        self.compiled(media.schema, media.schema_pointer, REQUEST, key)
            for response in op.responses.values():
                for media in response.content.values():
                    if media.schema is not None:
                        key = (op.operation_id, response.key, media.media_type, RESPONSE)
                        self.compiled(media.schema, media.schema_pointer, RESPONSE, key)
        return len(self._cache)

    def _param_plans(self, op: Operation) -> list[_ParamPlan]:
        plans = self._params.get(op.operation_id)
        if plans is None:
            plans = []
            for param in op.parameters:
                kind = json_kind(param.resolved)
                items = param.resolved.get("items")
                item_kind = (
                    json_kind(self.contract.schema_top(items)) if isinstance(items, dict) else "string"
                )
                compiled = self.compiled(
                    param.schema,
                    param.schema_pointer,
                    REQUEST,
                    (op.operation_id, "param", param.location, param.name),
                )
                plans.append(_ParamPlan(param, kind, item_kind, compiled))
            self._params[op.operation_id] = plans
        return plans

    # -- schema checks

    def _schema_violations(
        self,
        compiled: _Compiled,
        instance: Any,
        *,
        operation_id: str | None,
        phase: str,
        status: int | None,
        location: str,
        base: str,
    ) -> list[Violation]:
        if compiled.engine.is_valid(instance):
            return []
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
            if len(found) >= self.max_errors:
                break
        return found

    def validate_body(
        self,
        operation: str | Operation,
        instance: Any,
        *,
        status: int | None = None,
        media: str = "application/json",
    ) -> list[Violation]:
        """Check an already-parsed body: a request body when ``status`` is None, else a response's."""
        op = self.contract.operation(operation)
        if status is None:
            if op.request_body is None:
                raise UnknownOperation(
                    f"{op.operation_id} takes no request body", operation_id=op.operation_id
                )
            spec = _pick_media(op.request_body.content, media)
            phase, key, direction = "request", "request", REQUEST
        else:
            response = op.response_for(status)
            if response is None:
                raise UnknownOperation(
                    f"{op.operation_id} documents no response {status} (documented: {', '.join(op.statuses)})",
                    operation_id=op.operation_id,
                )
            spec = _pick_media(response.content, media)
            phase, key, direction = "response", response.key, RESPONSE
        if spec is None or spec.schema is None:
            return []
        compiled = self.compiled(
            spec.schema, spec.schema_pointer, direction, (op.operation_id, key, spec.media_type, direction)
        )
        return self._schema_violations(
            compiled,
            instance,
            operation_id=op.operation_id,
            phase=phase,
            status=status,
            location="body",
            base="",
        )

    # -- requests

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
                violation = Violation(
                    operation_id=None,
                    phase="request",
                    location="operation",
                    pointer="",
                    keyword="operation",
                    expected=list(exc.suggestions),
                    actual=f"{request.method.upper()} {request.path}",
                    message=str(exc),
                )
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
        if self.report_unknown_query:
            for name in query:
                if name not in known:
                    parsed.violations.append(
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
                    )
        parsed.violations += self._check_security(op, headers, query)
        parsed.body, body_violations = self._check_request_body(op, headers, request.body)
        parsed.violations += body_violations
        return parsed

    def validate_request(
        self, request: HttpRequest, operation: str | Operation | None = None
    ) -> list[Violation]:
        """Check a request: operation found, path/query/header parameters, auth, body."""
        return self.parse_request(request, operation).violations

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
        self, op: Operation, plan: _ParamPlan, raw: list[str] | None
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
                    values.append(_coerce(piece, plan.item_kind))
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
                value = _coerce(raw[0], plan.kind)
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

        def violation(keyword: str, location: str, expected: Any, actual: Any, message: str) -> Violation:
            return Violation(operation_id=op.operation_id, phase="request", location=location, pointer="",
                             keyword=keyword, expected=expected, actual=actual, message=message)  # fmt: skip

        if spec is None:
            if present:
                return None, [
                    violation(
                        "requestBody", "body", None, short_json(body), "the operation takes no request body"
                    )
                ]
            return None, []
        if not present:
            if spec.required:
                return None, [
                    violation("required", "body", sorted(spec.content), None, "the request body is required")
                ]
            return None, []
        declared = headers.get("content-type")
        media = media_type(declared)
        chosen = _pick_media(spec.content, media) if media else None
        found: list[Violation] = []
        if chosen is None:
            documented = ", ".join(sorted(spec.content))
            found.append(
                violation(
                    "mediaType",
                    "content-type",
                    sorted(spec.content),
                    declared,
                    f"Content-Type {declared!r} is not documented; expected one of {documented}"
                    if declared
                    else f"Content-Type is missing; expected one of {documented}",
                )
            )
            chosen = _json_fallback(spec.content, media)
        if chosen is None or not is_json_media(chosen.media_type):
            return None, found
        try:
            instance = parse_json(body)  # type: ignore[arg-type]
        except ValueError as exc:
            return None, [
                *found,
                violation("json", "body", "JSON", short_json(body), f"the body is not valid JSON ({exc})"),
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

    # -- responses

    def validate_response(
        self, response: HttpResponse, operation: str | Operation, *, parsed: Any = _UNPARSED
    ) -> list[Violation]:
        """Check a response: documented status, content type, body, documented headers.

        ``parsed`` may carry the already-decoded JSON body, to avoid parsing it twice.
        """
        op = self.contract.operation(operation)
        status = response.status
        spec = op.response_for(status)

        def violation(
            keyword: str, location: str, expected: Any, actual: Any, message: str, pointer: str = ""
        ) -> Violation:
            return Violation(operation_id=op.operation_id, phase="response", status=status, location=location,
                             pointer=pointer, keyword=keyword, expected=expected, actual=actual, message=message)  # fmt: skip

        if spec is None:
            return [violation("status", "status", list(op.statuses), status,
                              f"status {status} is not documented (documented: {', '.join(op.statuses)})")]  # fmt: skip
        headers = normalize_headers(response.headers)
        found: list[Violation] = []
        for header in spec.headers:
            value = headers.get(header.name.lower())
            if value is None:
                if header.required:
                    found.append(violation("required", "header", header.name, None,
                                           f"documented header {header.name!r} is missing", "/" + header.name))  # fmt: skip
                continue
            compiled = self.compiled(header.schema, header.schema_pointer, RESPONSE,
                                     (op.operation_id, spec.key, "header", header.name))  # fmt: skip
            try:
                value_obj: Any = _coerce(value, json_kind(header.resolved))
            except ValueError:
                value_obj = value
            found += self._schema_violations(compiled, value_obj, operation_id=op.operation_id, phase="response",
                                             status=status, location="header", base="/" + header.name)  # fmt: skip
        body = response.body
        present = parsed is not _UNPARSED or has_content(body)
        if not spec.content:
            if present:
                found.append(violation("content", "body", None, short_json(body if parsed is _UNPARSED else parsed),
                                       f"status {status} documents no body, but one was sent"))  # fmt: skip
            return found
        declared = headers.get("content-type")
        media = media_type(declared)
        if not present:
            if status not in (204, 304):
                found.append(violation("content", "body", sorted(spec.content), None,
                                       f"the body is empty; status {status} documents {', '.join(sorted(spec.content))}"))  # fmt: skip
            return found
        chosen = _pick_media(spec.content, media) if media else None
        if chosen is None:
            found.append(violation("mediaType", "content-type", sorted(spec.content), declared,
                                   f"Content-Type {declared!r} is not documented for {status}; expected "
                                   f"{', '.join(sorted(spec.content))}" if declared
                                   else f"Content-Type is missing; expected {', '.join(sorted(spec.content))}"))  # fmt: skip
            chosen = _json_fallback(spec.content, media)
        if chosen is None or not is_json_media(chosen.media_type) or chosen.schema is None:
            return found
        if parsed is _UNPARSED:
            try:
                parsed = parse_json(body)  # type: ignore[arg-type]
            except ValueError as exc:
                found.append(
                    violation("json", "body", "JSON", short_json(body), f"the body is not valid JSON ({exc})")
                )
                return found
        compiled = self.compiled(
            chosen.schema,
            chosen.schema_pointer,
            RESPONSE,
            (op.operation_id, spec.key, chosen.media_type, RESPONSE),
        )
        return found + self._schema_violations(
            compiled,
            parsed,
            operation_id=op.operation_id,
            phase="response",
            status=status,
            location="body",
            base="",
        )

    def validate_exchange(self, request: HttpRequest, response: HttpResponse) -> list[Violation]:
        """Check a request and its response (the operation is found from the request)."""
        match = self.contract.find(request.method, request.url)
        violations = self.validate_request(request, match.operation if match else None)
        if match is not None:
            violations += self.validate_response(response, match.operation)
        return violations

    # -- raising variants

    def check_request(self, request: HttpRequest, operation: str | Operation | None = None) -> None:
        violations = self.validate_request(request, operation)
        if violations:
            raise ContractViolationError(violations, request=request)

    def check_response(self, response: HttpResponse, operation: str | Operation) -> None:
        violations = self.validate_response(response, operation)
        if violations:
            raise ContractViolationError(violations, response=response)


def _coerce(raw: str, kind: str) -> Any:
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


def _json_fallback(content: Mapping[str, MediaType], media: str) -> MediaType | None:
    """After a Content-Type mismatch: still check the body as JSON, unless it says it is something else."""
    if media and not is_json_media(media):
        return None
    return next((m for m in content.values() if is_json_media(m.media_type)), None)


def _pick_media(content: Mapping[str, MediaType], media: str) -> MediaType | None:
    """The documented media type for ``media``: exact, then ``type/*``, then ``*/*``."""
    if not media:
        return None
    found = content.get(media)
    if found is not None:
        return found
    major = media.split("/", 1)[0]
    return content.get(f"{major}/*") or content.get("*/*")
