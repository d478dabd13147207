"""Outcomes as bytes between a worker and the master, and back into the same outcomes.

A batch is plain data: lists, strings, numbers, bytes and JSON values, packed with msgpack (what
Locust's own messages are) and compressed. Whoever reaches the master's port can send one, so the
master builds every outcome field by field with the toolkit's own constructors and checks each
field's type on the way (:class:`WireError` otherwise): a batch can at worst make wrong outcomes,
never run code. An earlier form was a pickle read by an unpickler restricted to the outcome
types; it still let a peer set any attribute of an allowed class (``BUILD``), so it went.

The form of each outcome type is written here, once, next to its inverse: :func:`_outcome` and
:func:`outcome_of`. A new field of :class:`~replay.engine.outcomes.Outcome` is a new position in
both (the round-trip test of every field fails until it is).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import msgpack

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse, NormalizedHeaders
from replay.engine.changes import CHANGE_KINDS, NO_DIFFERENCE, Change, ExchangeDiff
from replay.engine.outcomes import OUTCOMES, Outcome
from replay.rules.noise import NoiseRule

__all__ = [
    "MAX_BATCH",
    "WireError",
    "dumps_outcomes",
    "loads_outcomes",
    "noise_of",
    "outcome_of",
    "plain_noise",
]

#: A batch inflated is at most this, and holds arrays and maps of at most MAX_ITEMS members: what
#: a batch becomes in memory is bounded (every member costs a byte at least: 64 Mi objects, about
#: 0.5 GB of references at worst), not ~8 bytes per byte of a bomb of empty arrays. Outcomes of
#: findings keep their answers' bodies, as bytes (one msgpack bin each, not counted as members).
MAX_BATCH = 64 * 1024 * 1024
MAX_ITEMS = 1_000_000
_SILENCES = (None, "refused", "timeout")
_VIOLATION_FIELDS = ("operation_id", "phase", "status", "location", "pointer", "keyword", "expected", "actual",
                     "message", "schema_path")  # fmt: skip


class WireError(ValueError):
    """Bytes that are not a batch of outcomes (another program on the port, a broken worker)."""


def dumps_outcomes(outcomes: Sequence[Outcome]) -> bytes:
    """A batch of outcomes, compressed (most of a batch is the same URLs and reasons over again).
    Past :data:`MAX_BATCH` (answers of tens of MB kept with their findings), the findings go
    without the answers' bodies, which the reason says: a batch the master refuses would lose
    the findings themselves."""
    raw = msgpack.packb([_outcome(o) for o in outcomes], default=repr)
    if len(raw) > MAX_BATCH:
        raw = msgpack.packb([_outcome(_without_answers(o)) for o in outcomes], default=repr)
    return zlib.compress(raw, 1)


def _without_answers(outcome: Outcome) -> Outcome:
    if outcome.expected is None and outcome.live is None:
        return outcome
    note = "the answers' bodies were too large to send to the master"
    return dataclasses.replace(
        outcome, reason=f"{outcome.reason}; {note}" if outcome.reason else note,
        expected=None if outcome.expected is None else HttpResponse(outcome.expected.status, outcome.expected.headers),
        live=None if outcome.live is None else HttpResponse(outcome.live.status, outcome.live.headers),
    )  # fmt: skip


def loads_outcomes(data: bytes) -> list[Outcome]:
    """The outcomes of :func:`dumps_outcomes`; anything else is a :class:`WireError`."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_BATCH)
        if inflater.unconsumed_tail:
            raise WireError(f"a batch of outcomes inflates past {MAX_BATCH:,} bytes; refused")
        items = msgpack.unpackb(raw, max_array_len=MAX_ITEMS, max_map_len=MAX_ITEMS)
    except WireError:
        raise
    except Exception as exc:  # zlib.error, msgpack's ExtraData/FormatError/StackError ...
        raise WireError(f"not a batch of outcomes: {type(exc).__name__}: {exc}") from None
    return [outcome_of(item) for item in _is(items, list, "a batch")]


# --------------------------------------------------------------------------- the forms


def _outcome(o: Outcome) -> list[Any]:
    return [o.source, o.index, o.line, o.operation_id, o.method, o.url, o.kind, o.reason, _diff(o.diff),
            [v.to_dict() for v in o.violations], _request(o.request), _response(o.expected),
            _response(o.live), o.elapsed, o.attempts, o.story, o.compared, o.silent]  # fmt: skip


def outcome_of(item: Any) -> Outcome:
    """An outcome from its plain form; :class:`WireError` when ``item`` is not one."""
    fields = _is(item, list, "an outcome")
    if len(fields) != 18:
        raise WireError(f"not a batch of outcomes: an outcome has 18 fields, not {len(fields)}")
    (source, index, line, operation, method, url, kind, reason, diff, violations, request, expected, live,
     elapsed, attempts, story, compared, silent) = fields  # fmt: skip
    if kind not in OUTCOMES:
        raise WireError(f"not a batch of outcomes: unknown outcome {kind!r}")
    if silent not in _SILENCES:
        raise WireError(f"not a batch of outcomes: unknown silence {silent!r}")
    return Outcome(
        _is(source, str, "source"), _is(index, int, "index"), _maybe(line, int, "line"),
        _maybe(operation, str, "operation"), _is(method, str, "method"), _is(url, str, "url"), kind,
        _maybe(reason, str, "reason"), _diff_of(diff),
        tuple(_violation_of(v) for v in _is(violations, list, "violations")), _request_of(request),
        _response_of(expected), _response_of(live), float(_is(elapsed, (int, float), "elapsed")),
        _is(attempts, int, "attempts"), _is(story, int, "story"), _is(compared, bool, "compared"), silent,
    )  # fmt: skip


def _diff(diff: ExchangeDiff | None) -> Any:
    if diff is None:
        return None
    if diff == NO_DIFFERENCE:
        return 0  # the bulk of a run: one byte
    return [list(diff.status) if diff.status else None, [list(h) for h in diff.headers],
            [[list(c.location), c.kind, c.before, c.after, plain_noise(c.noise), c.additive,
              None if c.live_location is None else list(c.live_location)] for c in diff.body]]  # fmt: skip


def _diff_of(item: Any) -> ExchangeDiff | None:
    if item is None:
        return None
    if item == 0 and type(item) is int:
        return NO_DIFFERENCE
    status, headers, body = _sized(item, 3, "a diff")
    if status is not None:
        recorded, live = _sized(status, 2, "a diff's status")
        status = (_is(recorded, int, "status"), _is(live, int, "status"))
    named = tuple(
        (_is(n, str, "header"), _maybe(r, str, "header"), _maybe(v, str, "header"))
        for n, r, v in (_sized(h, 3, "a header difference") for h in _is(headers, list, "headers"))
    )
    changes = []
    for change in _is(body, list, "changes"):
        location, kind, before, after, noise, additive, live_location = _sized(change, 7, "a change")
        if kind not in CHANGE_KINDS:
            raise WireError(f"not a batch of outcomes: unknown change {kind!r}")
        changes.append(Change(_location(location), kind, before, after, None if noise is None else noise_of(noise),
                              _is(additive, bool, "additive"),
                              None if live_location is None else _location(live_location)))  # fmt: skip
    return ExchangeDiff(status, named, tuple(changes))


def _location(item: Any) -> tuple[str | int, ...]:
    return tuple(_is(step, (str, int), "a location's step") for step in _is(item, list, "a location"))


def plain_noise(rule: NoiseRule | None) -> list[Any] | None:
    """A noise rule as plain data (in a change; the master's rules sent to its workers)."""
    if rule is None:
        return None
    operations = None if rule.operations is None else sorted(rule.operations)
    return [rule.pattern, rule.reason, operations, rule.source, rule.values]


def noise_of(item: Any) -> NoiseRule:
    """A noise rule from :func:`plain_noise`; its own checks apply (a bad pattern is refused)."""
    pattern, reason, operations, source, values = _sized(item, 5, "a noise rule")
    if operations is not None:
        operations = frozenset(_is(o, str, "an operation") for o in _is(operations, list, "operations"))
    try:
        return NoiseRule(_is(pattern, str, "a pattern"), _is(reason, str, "a reason"), operations,
                         _is(source, str, "a source"), _maybe(values, str, "values"))  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise WireError(f"not a batch of outcomes: {exc}") from None


def _violation_of(item: Any) -> Violation:
    fields = _is(item, dict, "a violation")
    if tuple(sorted(fields)) != tuple(sorted(_VIOLATION_FIELDS)):
        raise WireError(f"not a batch of outcomes: a violation has the fields {', '.join(_VIOLATION_FIELDS)}")
    for name in ("phase", "location", "pointer", "keyword", "message"):
        _is(fields[name], str, name)
    _maybe(fields["operation_id"], str, "operation_id")
    _maybe(fields["status"], int, "status")
    _maybe(fields["schema_path"], str, "schema_path")
    return Violation(**fields)


# headers keep their shape: a mapping (normalized or as recorded) or pairs
_SHAPES: dict[str, Callable[[list[tuple[str, Any]]], Any]] = {
    "n": NormalizedHeaders, "d": dict, "p": list,
}  # fmt: skip


def _headers(headers: Any) -> list[Any]:
    if isinstance(headers, NormalizedHeaders):
        return ["n", [[k, v] for k, v in headers.items()]]
    if isinstance(headers, dict):
        return ["d", [[k, v] for k, v in headers.items()]]
    return ["p", [[k, v] for k, v in headers]]


def _headers_of(item: Any) -> Any:
    shape, pairs = _sized(item, 2, "headers")
    if shape not in _SHAPES:
        raise WireError(f"not a batch of outcomes: unknown headers shape {shape!r}")
    built = []
    for name, value in (_sized(pair, 2, "a header") for pair in _is(pairs, list, "headers")):
        if type(value) is list:
            value = [_is(v, str, "a header value") for v in value]
        else:
            _is(value, str, "a header value")
        built.append((_is(name, str, "a header name"), value))
    return _SHAPES[shape](built)


def _request(request: HttpRequest | None) -> list[Any] | None:
    if request is None:
        return None
    return [request.method, request.url, _headers(request.headers), request.body]


def _request_of(item: Any) -> HttpRequest | None:
    if item is None:
        return None
    method, url, headers, body = _sized(item, 4, "a request")
    return HttpRequest(
        _is(method, str, "a method"), _is(url, str, "a URL"), _headers_of(headers), _body(body)
    )


def _response(response: HttpResponse | None) -> list[Any] | None:
    if response is None:
        return None
    return [response.status, _headers(response.headers), response.body]


def _response_of(item: Any) -> HttpResponse | None:
    if item is None:
        return None
    status, headers, body = _sized(item, 3, "a response")
    return HttpResponse(_is(status, int, "a status"), _headers_of(headers), _body(body))


def _body(item: Any) -> bytes | str | None:
    body: bytes | str | None = _maybe(item, (bytes, str), "a body")
    return body


# --------------------------------------------------------------------------- checks


def _is(value: Any, types: type | tuple[type, ...], what: str) -> Any:
    # bool is an int to isinstance: a count or a status that is True is not one
    if isinstance(value, types) and (type(value) is not bool or types is bool):
        return value
    raise WireError(f"not a batch of outcomes: {what} is a {type(value).__name__}")


def _maybe(value: Any, types: type | tuple[type, ...], what: str) -> Any:
    return None if value is None else _is(value, types, what)


def _sized(value: Any, size: int, what: str) -> list[Any]:
    items: list[Any] = _is(value, list, what)
    if len(items) != size:
        raise WireError(f"not a batch of outcomes: {what} has {size} parts, not {len(items)}")
    return items
