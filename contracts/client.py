"""A small client for the Integration API, driven by the contract.

There is no hand-written method per operation: ``client.update_customer_session_v2(...)``
is looked up in the contract (by the Python spelling of its operationId, as in Talon.One's
own SDK), its arguments are checked against the operation's parameters and body, and one
generic :meth:`IntegrationClient.call` sends it. The same client therefore speaks any
version of the contract it is given.

Arguments: path parameters may be positional (in template order), followed by the body;
everything may be a keyword, in snake_case (``customer_session_id``) or as spelled in the
contract (``customerSessionId``). ``_headers`` and ``_timeout`` tune a single call.

Retries: 409, 429 and 5xx answers and connection failures are retried with exponential
backoff for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS); 429 ("not processed,
come back later") and connect timeouts are retried for every method. ``Retry-After`` is
honoured; a ``Retry-After`` beyond ``max_retry_after`` ends the retries.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import email.utils
import inspect
import json
import logging
import random
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import requests
import urllib3

from .errors import (
    ArgumentError,
    ContractViolationError,
    ContractViolationWarning,
    UnknownOperation,
    Violation,
    short_json,
)
from .http import HttpRequest, HttpResponse, has_content, is_json_media, media_type, parse_json
from .model import MISSING, Operation, Parameter
from .schema import schema_type
from .spec import Contract, load_contract
from .validation import Validator

__all__ = ["ApiError", "ApiResponse", "IntegrationClient", "RetryPolicy"]

log: logging.Logger = logging.getLogger("contracts.client")

VALIDATE_MODES = ("off", "warn", "strict")
_RESERVED = ("_headers", "_timeout")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed calls are retried. ``retries`` is the number of extra attempts."""

    retries: int = 3
    backoff: float = 0.5  # first delay in seconds; doubles on every retry
    max_backoff: float = 30.0
    jitter: float = 0.1  # +/- fraction of the delay, so that parallel clients do not retry in step
    statuses: frozenset[int] = frozenset({409, 429, 500, 502, 503, 504})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); None means give up."""
        if retry_after:
            wait = _parse_retry_after(retry_after)
            if wait is not None:
                return None if wait > self.max_retry_after else max(wait, 0.0)
        base = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return float((when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())


@dataclass(slots=True)
class ApiResponse:
    """What one call returned."""

    operation_id: str
    status: int
    headers: Mapping[str, str]
    data: Any  # the parsed JSON body; the text of a non-JSON body; None when there is none
    content: bytes
    elapsed: float  # seconds, for the last attempt
    attempts: int
    request: HttpRequest
    is_json: bool = False  # data was parsed from a JSON body

    def __repr__(self) -> str:  # no headers: the request's carry the API key
        return (
            f"ApiResponse({self.operation_id} -> {self.status}, attempts={self.attempts}, "
            f"elapsed={self.elapsed * 1000:.1f}ms, data={short_json(self.data, 200)})"
        )

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def as_http(self) -> HttpResponse:
        return HttpResponse(self.status, dict(self.headers), self.content)


class ApiError(requests.HTTPError):
    """The API answered with a non-2xx status. Carries the parsed error body.

    ``response`` and ``request`` are the ``requests`` objects (as for any ``HTTPError``);
    ``api_response`` is this client's :class:`ApiResponse`.
    """

    def __init__(
        self,
        api_response: ApiResponse,
        response: requests.Response | None = None,
        violations: Sequence[Violation] = (),
    ) -> None:
        self.api_response: ApiResponse = api_response
        #: contract violations of this answer (when the client validates): an undocumented
        #: status, an error body of the wrong shape ...
        self.violations: list[Violation] = list(violations)
        self.status: int = api_response.status
        self.operation_id: str = api_response.operation_id
        self.body: Any = api_response.data
        body = self.body if isinstance(self.body, dict) else {}
        self.message: str = str(body.get("message") or "")
        self.errors: list[dict[str, Any]] = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        reason = getattr(response, "reason", "") or ""
        text = f"{self.operation_id}: {self.status} {reason}".rstrip()
        if self.message:
            text += f": {self.message}"
        details = []
        for error in self.errors[:5]:
            source = error.get("source")
            where = next((str(v) for v in source.values() if v), "") if isinstance(source, dict) else ""
            details.append(f"{where}: {error.get('title', '')}".strip(": "))
        if details:
            text += " (" + "; ".join(details) + ")"
        if not self.message and not details and isinstance(self.body, str) and self.body:
            text += f": {self.body[:200]}"
        if self.violations:
            text += (
                f" [{len(self.violations)} contract violation(s): "
                + "; ".join(map(str, self.violations[:3]))
                + "]"
            )
        super().__init__(text, response=response, request=getattr(response, "request", None))


class IntegrationClient:
    """One method per operation of the contract, e.g. ``client.get_customer_session("s1")``.

    ``validate``: ``"off"`` (default), ``"warn"`` (emit :class:`ContractViolationWarning`) or
    ``"strict"`` (raise :class:`ContractViolationError`; an invalid request is not sent).
    ``timeout``: seconds, or (connect, read) — explicit, never unbounded.
    ``observers``: callables given every :class:`ApiResponse` (including errors) as it arrives.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int | RetryPolicy | None = 3,
        validate: str = "off",
        contract: Contract | None = None,
        observers: Iterable[Callable[[ApiResponse], None]] = (),
        user_agent: str = "talon-contracts",
    ) -> None:
        if validate not in VALIDATE_MODES:
            raise ValueError(f"validate must be one of {', '.join(VALIDATE_MODES)}, got {validate!r}")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url: str = base_url.rstrip("/")
        api_key = api_key.strip()
        if not api_key or any(ch.isspace() or not ch.isprintable() for ch in api_key):
            # said without the key: error messages end up in CI logs
            raise ValueError("api_key must be a non-empty string without spaces or control characters")
        self.api_key: str = api_key
        self._own_session = session is None
        self.session: requests.Session = session or requests.Session()
        self.timeout: float | tuple[float, float] = timeout
        if isinstance(retries, RetryPolicy):
            self.retry: RetryPolicy = retries
        else:
            self.retry = RetryPolicy(retries=max(0, retries or 0))
        self.validate: str = validate
        self.contract: Contract = contract or load_contract()
        self.validator: Validator = self.contract.validator()
        self.observers: list[Callable[[ApiResponse], None]] = list(observers)
        self.user_agent: str = user_agent

    def __repr__(self) -> str:
        return f"<IntegrationClient {self.base_url} validate={self.validate}>"

    def __enter__(self) -> IntegrationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    # -- one method per operation

    def __getattr__(self, name: str) -> Callable[..., ApiResponse]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            op = self.contract.operation(name)
        except UnknownOperation as exc:
            raise AttributeError(
                f"{type(self).__name__} has no operation {name!r}"
                + (f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else "")
            ) from None
        method = _operation_method(self, op)
        self.__dict__[name] = method  # cache: __getattr__ is only consulted when lookup fails
        return method

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *(op.python_name for op in self.contract)})

    @property
    def operations(self) -> list[str]:
        """The Python names of the operations this client can call."""
        return [op.python_name for op in self.contract]

    # -- calling

    def call(self, operation: str | Operation, /, *args: Any, **kwargs: Any) -> ApiResponse:
        """Call an operation by id (``updateCustomerSessionV2``) or Python name."""
        op = self.contract.operation(operation)
        extra_headers = kwargs.pop("_headers", None) or {}
        timeout = kwargs.pop("_timeout", None) or self.timeout
        path, query, body = _bind(self.contract, op, args, kwargs)
        url = self.base_url + path + ("?" + urlencode(query, safe=",:") if query else "")
        headers = {
            "Authorization": f"ApiKey-v1 {self.api_key}",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(extra_headers)
        request = HttpRequest(op.method, url, headers, body)
        if self.validate != "off":
            self._report(self.validator.validate_request(request, op), request=request)
        result, raw = self._send(op, request, timeout)
        for observer in self.observers:
            observer(result)
        violations: list[Violation] = []
        if self.validate != "off":
            # a body parsed as JSON is handed over, so that it is not parsed twice
            parsed = {"parsed": result.data} if result.is_json else {}
            violations = self.validator.validate_response(result.as_http(), op, **parsed)
        if not result.ok:
            # Non-2xx answers always raise ApiError, so that callers can rely on one exception for
            # them; in warn/strict mode the violations of the answer travel with it.
            if violations and self.validate == "warn":
                self._report(violations)
            raise ApiError(result, raw, violations)
        self._report(violations, request=request, response=result)
        return result

    def _report(self, violations: list[Violation], *, request: Any = None, response: Any = None) -> None:
        if not violations:
            return
        if self.validate == "strict":
            raise ContractViolationError(violations, request=request, response=response)
        for violation in violations:
            log.warning("contract violation: %s", violation)
            warnings.warn(ContractViolationWarning(violation), stacklevel=4)

    def _send(
        self, op: Operation, request: HttpRequest, timeout: float | tuple[float, float]
    ) -> tuple[ApiResponse, requests.Response]:
        policy = self.retry
        idempotent = op.method in policy.idempotent_methods
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                raw = self.session.request(
                    op.method,
                    request.url,
                    headers=dict(request.headers),  # type: ignore[arg-type]
                    data=request.body,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                # Connect failures never reached the server: safe to retry for any method.
                safe = idempotent or _never_sent(exc)
                delay = policy.delay(attempt) if safe and attempt <= policy.retries else None
                if delay is None:
                    raise
                log.info("%s: %s; retry %d in %.2fs", op.operation_id, type(exc).__name__, attempt, delay)
                policy.sleep(delay)
                continue
            elapsed = time.perf_counter() - started
            status = raw.status_code
            retryable = status in policy.statuses and (idempotent or status == 429)
            if retryable and attempt <= policy.retries:
                delay = policy.delay(attempt, raw.headers.get("Retry-After"))
                if delay is not None:
                    log.info("%s: %d; retry %d in %.2fs", op.operation_id, status, attempt, delay)
                    raw.close()
                    policy.sleep(delay)
                    continue
            break
        content = raw.content
        data: Any = None
        is_json = False
        if has_content(content) and is_json_media(media_type(raw.headers.get("Content-Type"))):
            try:
                data, is_json = parse_json(content), True
            except ValueError:
                data = content.decode("utf-8", "replace")
        elif has_content(content):
            data = content.decode("utf-8", "replace")
        log.debug("%s %s -> %d in %.1f ms", op.method, request.url, status, elapsed * 1000)
        result = ApiResponse(
            op.operation_id, status, raw.headers, data, content, elapsed, attempt, request, is_json
        )
        return result, raw


def _never_sent(exc: Exception) -> bool:
    """True when the connection was never established, so the server cannot have acted on it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


# --------------------------------------------------------------------------- argument binding


def _kind(schema: Mapping[str, Any]) -> str:
    return schema_type(schema, default="any")


def _scalar(op: Operation, param: Parameter, value: Any, kind: str) -> str:
    def wrong(expected: str) -> ArgumentError:
        return ArgumentError(
            f"{param.python_name} must be {expected}, got {type(value).__name__} {value!r}",
            operation_id=op.operation_id,
            argument=param.python_name,
        )

    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return str(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return repr(value) if isinstance(value, float) else str(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong("a boolean")
        return "true" if value else "false"
    if kind == "string":
        # dates and times are strings on the wire: take the objects and write RFC 3339
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                raise wrong("a timezone-aware datetime (RFC 3339 needs an offset)")
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, _dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    return value if isinstance(value, str) else json.dumps(value)


def _serialize(contract: Contract, op: Operation, param: Parameter, value: Any) -> list[str]:
    kind = _kind(param.resolved)
    if kind == "array":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            raise ArgumentError(
                f"{param.python_name} must be a list, got {type(value).__name__} {value!r}",
                operation_id=op.operation_id,
                argument=param.python_name,
            )
        items = contract.schema_top(param.resolved.get("items"))
        texts = [_scalar(op, param, v, _kind(items)) for v in value]
        return texts if param.explode and param.location == "query" else [",".join(texts)]
    return [_scalar(op, param, value, kind)]


def _body_bytes(contract: Contract, op: Operation, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value  # sent as-is: lets tests send deliberately malformed bodies
    if isinstance(value, str):
        return value.encode("utf-8")
    assert op.request_body is not None
    media = next(iter(op.request_body.content.values()), None)
    top = media.schema if media is not None else None
    expected = _kind(contract.schema_top(top)) if top is not None else "any"
    if expected == "object" and not isinstance(value, Mapping):
        raise ArgumentError(
            f"body must be a JSON object (a dict), got {type(value).__name__}",
            operation_id=op.operation_id,
            argument="body",
        )
    if expected == "array" and not isinstance(value, (list, tuple)):
        raise ArgumentError(f"body must be a JSON array (a list), got {type(value).__name__}",
                            operation_id=op.operation_id, argument="body")  # fmt: skip
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode(
            "utf-8"
        )
    except (TypeError, ValueError) as exc:
        raise ArgumentError(
            f"body is not JSON-serialisable: {exc}", operation_id=op.operation_id, argument="body"
        ) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime: RFC 3339 timestamps need a timezone")
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _bind(
    contract: Contract, op: Operation, args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes | None]:
    """Check and place the caller's arguments: (path, query pairs, body bytes). Raises ArgumentError."""
    values = _arguments(op, args, kwargs)
    path, query = _place_parameters(contract, op, values)
    body: bytes | None = None
    if op.request_body is not None:
        if "body" in values and values["body"] is not None:
            body = _body_bytes(contract, op, values["body"])
        elif op.request_body.required:
            raise ArgumentError("missing required body", operation_id=op.operation_id, argument="body")
    return path, query, body


def _arguments(op: Operation, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The caller's arguments by Python name (``body`` for the body), positional ones placed."""
    by_name: dict[str, Parameter] = {}
    for param in op.parameters:
        by_name[param.python_name] = param
        by_name.setdefault(param.name, param)
    positional: list[str] = [p.python_name for p in op.path_parameters]
    if op.request_body is not None:
        positional.append("body")
    if len(args) > len(positional):
        raise ArgumentError(
            f"takes {len(positional)} positional argument(s) ({', '.join(positional) or 'none'}), got {len(args)}",
            operation_id=op.operation_id,
        )
    values: dict[str, Any] = {}
    for name, value in zip(positional, args, strict=False):
        values[name] = value
    for name, value in kwargs.items():
        if name == "body" and op.request_body is not None:
            key = "body"
        elif name in by_name:
            key = by_name[name].python_name
        else:
            valid = sorted({p.python_name for p in op.parameters} | ({"body"} if op.request_body else set()))
            close = difflib.get_close_matches(name, valid + [p.name for p in op.parameters], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ArgumentError(
                f"unexpected argument {name!r}{hint} (valid: {', '.join(valid) or 'none'})",
                operation_id=op.operation_id,
                argument=name,
            )
        if key in values:
            raise ArgumentError(f"argument {key!r} given twice", operation_id=op.operation_id, argument=key)
        values[key] = value
    return values


def _place_parameters(
    contract: Contract, op: Operation, values: dict[str, Any]
) -> tuple[str, list[tuple[str, str]]]:
    """The path with its parameters filled in, and the query pairs."""
    path = op.path
    query: list[tuple[str, str]] = []
    for param in op.parameters:
        value = values.get(param.python_name)
        if value is None:
            if param.required:
                raise ArgumentError(
                    f"missing required {param.location} parameter {param.python_name!r}",
                    operation_id=op.operation_id,
                    argument=param.python_name,
                )
            continue
        texts = _serialize(contract, op, param, value)
        if param.location == "path":
            if texts[0] == "":
                raise ArgumentError(f"{param.python_name} must not be empty", operation_id=op.operation_id,
                                    argument=param.python_name)  # fmt: skip
            path = path.replace("{" + param.name + "}", quote(texts[0], safe=""))
        elif param.location == "query":
            query += [(param.name, t) for t in texts]
        else:
            raise ArgumentError(
                f"{param.location} parameter {param.python_name!r} is not supported by this client",
                operation_id=op.operation_id,
                argument=param.python_name,
            )
    return path, query


def _operation_method(client: IntegrationClient, op: Operation) -> Callable[..., ApiResponse]:
    def method(*args: Any, **kwargs: Any) -> ApiResponse:
        return client.call(op, *args, **kwargs)

    parameters = []
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    for param in op.path_parameters:
        parameters.append(inspect.Parameter(param.python_name, kind))
    if op.request_body is not None:
        parameters.append(
            inspect.Parameter("body", kind, **({} if op.request_body.required else {"default": None}))
        )
    for param in op.parameters:
        if param.location != "path":
            parameters.append(
                inspect.Parameter(param.python_name, inspect.Parameter.KEYWORD_ONLY, default=None)
            )
    for name in _RESERVED:
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None))
    method.__signature__ = inspect.Signature(parameters, return_annotation=ApiResponse)  # type: ignore[attr-defined]
    method.__name__ = op.python_name
    method.__qualname__ = f"IntegrationClient.{op.python_name}"
    lines = [f"{op.summary or op.operation_id} — {op.method} {op.path} ({op.operation_id})."]
    for param in op.parameters:
        lines.append(
            f"    {param.python_name}: {param.location}, {_kind(param.resolved)}"
            + (", required" if param.required else "")
            + (f", default {param.default!r}" if param.default is not MISSING else "")
        )
    if op.request_body is not None:
        lines.append(f"    body: JSON{' (required)' if op.request_body.required else ''}")
    lines.append(f"    responses: {', '.join(op.statuses)}")
    method.__doc__ = "\n".join(lines)
    return method
