"""The sandbox as an application: routing, authentication, request checks, dispatch, error bodies.

:class:`SandboxApp` is a WSGI application (so schemathesis and any WSGI server can drive it in
process) with a faster direct entry, :meth:`SandboxApp.handle`, used by the sandbox's own HTTP
server. Requests are routed and read with the contract (the same validator the rest of the
project uses): what the contract rejects is a 400 with one ``APIError`` per problem, pointing
into the body (``source.pointer``) or naming the parameter (``source.parameter``), in the error
shape the contract documents for that operation and status.

Leniency, as the real server: booleans as ``true/True/1`` (and their negatives), date-times with
``Z`` or an offset, a ``Content-Type`` or an ignored body on bodiless requests.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from ..errors import Violation
from ..http import HttpRequest
from ..model import Match, Operation
from ..schema import follow_refs
from ..spec import Contract, load_contract
from ..validation import ParsedRequest
from . import audiences, catalogs, codes, customers, loyalty, returns, sessions  # noqa: F401 - they register handlers
from .model import ApiProblem, Ctx, api_error
from .registry import HANDLERS
from .store import Store
from .times import parse_instant

__all__ = ["Reply", "SandboxApp"]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
log = logging.getLogger("contracts.sandbox")

Reply = tuple[int, list[tuple[str, str]], bytes]
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip
CONFLICT_MODES = ("serialize", "reject")
_LENIENT = {"requestBody"}  # bodies sent to operations that take none are ignored, as the real API does


def reason(status: int) -> str:
    return _REASONS.get(status, "Status")


class SandboxApp:
    """The sandbox's request handling, over a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        contract: Contract | None = None,
        *,
        api_key: str | None = None,
        conflicts: str = "serialize",
    ) -> None:
        if conflicts not in CONFLICT_MODES:
            raise ValueError(f"conflicts must be one of {', '.join(CONFLICT_MODES)}, got {conflicts!r}")
        self.store = store
        self.conflicts = conflicts
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        self.contract = contract or load_contract()
        self.validator = self.contract.validator()
        self._body_schemas: dict[str, Any] = {}
        self.api_key = api_key or store.seed.api_key
        self._expected_auth = f"ApiKey-v1 {self.api_key}"
        missing = [op.operation_id for op in self.contract if op.operation_id not in HANDLERS]
        if missing:
            raise RuntimeError(f"the sandbox has no handler for {', '.join(missing)}")

    # -- concurrent writes to one entity

    def admit(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str | None, Reply | None]:
        """Before a request is queued: (claim, None), or (None, a 409) when ``conflicts="reject"`` and
        another request for the same session or profile is in flight (the real API's 409 on
        concurrent writes). Release the claim with :meth:`release` when the request is answered."""
        if self.conflicts != "reject" or headers.get("authorization", "").strip() != self._expected_auth:
            return None, None  # (an unauthenticated request gets its 401 from handle())
        key = self._entity(method, target, body)
        if key is None:
            return None, None
        with self._in_flight_lock:
            if key not in self._in_flight:
                self._in_flight.add(key)
                return key, None
        payload = orjson.dumps(
            {"message": f"another request for the same {key.split(':')[0]} is in progress; retry"}
        )
        log.info("%s %s 409 concurrent", method, target)
        return None, (
            409,
            [("Content-Length", str(len(payload))), ("Content-Type", "application/json")],
            payload,
        )

    def release(self, claim: str | None) -> None:
        if claim is not None:
            with self._in_flight_lock:
                self._in_flight.discard(claim)

    def _entity(self, method: str, target: str, body: bytes) -> str | None:
        match = self.contract.find(method, target)
        if match is None:
            return None
        op = match.operation.operation_id
        # only the writes whose 409 the contract documents
        if op == "updateCustomerSessionV2":
            return "session:" + match.path_params["customerSessionId"]
        if op == "updateCustomerProfileV2":
            return "profile:" + match.path_params["integrationId"]
        if op == "trackEventV2":
            try:
                profile = orjson.loads(body).get("profileId")
            except (orjson.JSONDecodeError, AttributeError):
                return None
            return f"profile:{profile}" if isinstance(profile, str) else None
        return None

    # -- WSGI

    def __call__(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        # PEP 3333 hands the path over decoded (as latin-1 text): quoted again, so that an id holding
        # "?", "#", "/" or a line break stays one path segment (routing unquotes parameters itself)
        raw_path = (environ.get("PATH_INFO", "/") or "/").encode("latin-1").decode("utf-8", "replace")
        target = quote(raw_path, safe="/:@!$&'()*+,;=~")
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        method = environ.get("REQUEST_METHOD", "GET")
        claim, refusal = self.admit(method, target, headers, body)
        try:
            status, reply_headers, payload = refusal or self.handle(method, target, headers, body)
        finally:
            self.release(claim)
        start_response(f"{status} {reason(status)}", reply_headers)
        return [payload]

    # -- direct entry

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request (header names lower-cased); never raises."""
        started = time.perf_counter()
        op_id = "-"
        try:
            match = self.contract.find(method, target)
            if match is None:
                status, payload = self._no_route(method, target)
            else:
                op_id = match.operation.operation_id
                status, payload = self._operation(match, method, target, headers, body)
        except Exception:  # a bug: answer without leaking internals, keep the traceback in the log
            log.error("unhandled error for %s %s\n%s", method, target, traceback.format_exc())
            status, payload = 500, {"message": "internal sandbox error", "StatusCode": 500}
        data = b"" if payload is None else orjson.dumps(payload)
        reply_headers = [("Content-Length", str(len(data)))]
        if data:
            reply_headers.append(("Content-Type", "application/json"))
        if status == 405:  # RFC 9110: a 405 says which methods the resource has
            allowed = [m for m in _METHODS if self.contract.find(m, target) is not None]
            reply_headers.append(("Allow", ", ".join(allowed)))
        log.info("%s %s %d %.1fms %s", method, target, status, (time.perf_counter() - started) * 1000, op_id)
        return status, reply_headers, data

    def _no_route(self, method: str, target: str) -> tuple[int, Any]:
        """404 for an unknown path; 405 for a method the path does not have (with Allow, see handle)."""
        try:
            self.contract.match(method, target)
        except LookupError as exc:
            message = str(exc)
            status = 405 if "documents only" in message else 404
            return status, {"message": message, "StatusCode": status}
        return 404, {"message": "not found", "StatusCode": 404}  # pragma: no cover - find() and match() agree

    def _operation(
        self, match: Match, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any]:
        op = match.operation
        auth = headers.get("authorization", "")
        if auth.strip() != self._expected_auth:
            message = "missing API key" if not auth else "invalid API key"
            return 401, {
                "message": f"Unauthorized: {message} (expected 'Authorization: ApiKey-v1 <key>')",
                "StatusCode": 401,
            }
        parsed = self.validator.parse_request(
            HttpRequest(method, target, headers, body), op, match.path_params
        )
        problems = [v for v in parsed.violations if v.keyword not in _LENIENT and v.keyword != "security"]
        if parsed.body is not None:
            problems = [
                v for v in problems if v.keyword != "mediaType"
            ]  # JSON arrived, whatever the label said
        errors = [_violation_error(v) for v in problems]
        errors += _out_of_range(parsed, body, lambda: self._body_schema(op))
        if not errors and parsed.body is not None:
            errors = _unreadable(parsed.body, body)
        if errors:
            return self._error(op, ApiProblem(400, "Invalid request", errors))
        handler = HANDLERS[op.operation_id]
        query = parsed.query
        dry = bool(query.get("dry")) and (
            op.operation_id != "updateCustomerProfileV2" or bool(query.get("runRuleEngine"))
        )
        try:
            with self.store.transaction(rollback=dry) as db:
                clock_now = self.store.clock()  # read inside the transaction: time order = commit order
                now = parse_instant(query["now"]) if dry and "now" in query else clock_now
                ctx = Ctx(
                    self.store.seed, self.store, db, now, clock_now, parsed.path, query, _body(parsed), dry
                )
                status, payload = handler(ctx)
        except ApiProblem as problem:
            return self._error(op, problem)
        return status, payload

    def _body_schema(self, op: Operation) -> Any:
        """The operation's JSON request body schema, bundled ($defs), or None."""
        if op.operation_id not in self._body_schemas:
            media = op.request_body.content.get("application/json") if op.request_body else None
            self._body_schemas[op.operation_id] = (
                self.contract.compiler.bundle(media.schema, media.schema_pointer, "request").schema
                if media is not None and media.schema is not None
                else None
            )
        return self._body_schemas[op.operation_id]

    def _error(self, op: Operation, problem: ApiProblem) -> tuple[int, Any]:
        """The error body in the shape the contract documents for this operation and status."""
        status = problem.status
        if str(status) not in op.responses:
            # e.g. a malformed path id on an operation that documents 404 but no 400
            status = next((s for s in (400, 404) if str(s) in op.responses), status)
        body: dict[str, Any] = {"message": problem.message}
        if problem.errors:
            body["errors"] = problem.errors
        spec = op.response_for(status)
        media = spec.content.get("application/json") if spec is not None else None
        schema = media.schema if media is not None else None
        if isinstance(schema, dict) and str(schema.get("$ref", "")).endswith("/ErrorResponseWithStatus"):
            body["StatusCode"] = status
        return status, body


_INT64 = (-(2**63), 2**63 - 1)
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _too_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]


def _out_of_range(
    parsed: ParsedRequest, raw_body: bytes, body_schema: Callable[[], Any]
) -> list[dict[str, Any]]:
    """Integers beyond 64 bits in parameters: the real server cannot read them (a 400).

    In the body, integer fields are the contract's business (every integer is ``int64`` there,
    so the validator has already answered). A field typed ``number`` takes any JSON number, as
    a float: a whole number beyond 64 bits there is turned into the float the real server reads
    (orjson already does so from 2**64 on), so the store never sees an integer it cannot hold.
    Undeclared and free-form fields are left alone, as the real server ignores them.
    """
    errors = [
        api_error(f"{name} is out of range for a 64-bit integer", parameter=name)
        for values in (parsed.path, parsed.query)
        for name, value in values.items()
        if _too_big(value)
    ]
    # only a number of 19 digits or more can be out of range: most bodies are not walked at all
    if parsed.body is None or not _LONG_NUMBER.search(raw_body):
        return errors
    root = body_schema()
    if not isinstance(root, dict):
        return errors
    stack: list[tuple[Any, Any, Any]] = [(None, None, root)]  # (container, key, schema) of a value
    values: list[Any] = [parsed.body]
    while stack:
        container, key, schema = stack.pop()
        value = values.pop()
        schema = follow_refs(root, schema)[0]
        if not isinstance(schema, dict):
            continue
        for branch in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(branch, ()):
                stack.append((container, key, sub))
                values.append(value)
        if isinstance(value, dict):
            declared = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for name, item in value.items():
                sub = declared.get(name, extra if isinstance(extra, dict) else None)
                if sub is not None:
                    stack.append((value, name, sub))
                    values.append(item)
        elif isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    stack.append((value, i, items))
                    values.append(item)
        elif _too_big(value) and container is not None:
            types = schema.get("type")
            if "number" in (types if isinstance(types, list) else [types]) and value < _FLOAT_MAX:
                container[key] = float(value)  # (beyond a float's range: refused by _unreadable)
    return errors


#: The deepest a request body may nest (objects and arrays): the store keeps bodies with orjson,
#: which writes no more than 254 levels (a 300-deep attribute was a 500), and no request of the
#: API needs more than a handful. 64 leaves room for free-form attributes.
MAX_JSON_DEPTH = 64
_FLOAT_MAX = 2**1024
#: what may be out of range in a body: a long number, a large exponent, the stdlib's extensions
_ODD_NUMBER = re.compile(rb"[0-9]{19}|[eE][+-]?[0-9]{3}|Infinity|NaN")


def _unreadable(document: Any, raw_body: bytes) -> list[dict[str, Any]]:
    """What no store could keep: a body nested deeper than :data:`MAX_JSON_DEPTH`, a number
    beyond a float's range (the standard library's parser, the fallback for what orjson refuses,
    reads ``1e400`` as infinity and accepts ``NaN``); a 400 each, never a 500 when it is written.

    An integer beyond 64 bits left where the contract types none (free-form attributes) becomes
    the float orjson itself reads it as. Bodies of fewer than MAX_JSON_DEPTH brackets and no odd
    number (nearly all) are not walked.
    """
    deep = raw_body.count(b"[") + raw_body.count(b"{") > MAX_JSON_DEPTH
    numbers = _ODD_NUMBER.search(raw_body) is not None
    if not (deep or numbers) or not isinstance(document, (dict, list)):
        return []
    # (value, depth, parent entry, key in the parent): the pointer is rebuilt only for an error
    stack: list[tuple[Any, int, Any, Any]] = [(document, 1, None, None)]
    while stack:
        entry = stack.pop()
        value, depth = entry[0], entry[1]
        items = value.items() if type(value) is dict else enumerate(value)  # only containers are stacked
        if depth > MAX_JSON_DEPTH:
            return [api_error(f"the body nests deeper than {MAX_JSON_DEPTH} levels, the most the sandbox reads",
                              pointer=_pointer(entry))]  # fmt: skip
        for key, item in items:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1, entry, key))
            elif numbers and (kind is int or kind is float):
                if (item - item != 0) if kind is float else abs(item) >= _FLOAT_MAX:  # inf, nan, 1e400
                    where = _pointer((item, depth + 1, entry, key))
                    return [api_error("the number is beyond the range of a 64-bit float", pointer=where)]
                if kind is int and not -(2**63) <= item < 2**64:
                    value[key] = float(item)
    return []


def _pointer(entry: tuple[Any, int, Any, Any]) -> str:
    keys: list[str] = []
    while entry[2] is not None:
        keys.append(str(entry[3]).replace("~", "~0").replace("/", "~1"))
        entry = entry[2]
    return "/" + "/".join(reversed(keys))


def _body(parsed: ParsedRequest) -> Any:
    return parsed.body if parsed.body is not None else {}


def _violation_error(violation: Violation) -> dict[str, Any]:
    name = violation.pointer.lstrip("/").split("/", 1)[0]
    if violation.location == "body":
        return api_error(violation.message, pointer=violation.pointer or "/")
    if violation.location in ("query", "path", "header"):
        return api_error(violation.message, parameter=name)
    return api_error(violation.message, pointer="/")
