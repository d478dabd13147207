"""Outcomes between a worker and the master: the same outcomes back, every field, and nothing but
outcomes built from what a peer sends."""

from __future__ import annotations

import dataclasses
import pickle
import zlib

import msgpack
import pytest

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse, NormalizedHeaders
from replay.engine.changes import NO_DIFFERENCE, Change, ExchangeDiff
from replay.engine.outcomes import Outcome
from replay.rules.noise import NoiseRule
from replay.swarm.wire import WireError, dumps_outcomes, loads_outcomes, noise_of, plain_noise


def _outcomes() -> list[Outcome]:
    request = HttpRequest(
        "PUT",
        "http://t/v2/customer_sessions/s-1",
        NormalizedHeaders({"content-type": "application/json"}),
        b"{}",
    )
    violation = Violation(operation_id="updateCustomerSessionV2", phase="response", status=200, location="body",
                          pointer="/createdCoupons", keyword="required", expected=["createdCoupons"], actual={},
                          message="createdCoupons is required", schema_path="/paths/x")  # fmt: skip
    noise = NoiseRule(
        "$.created", "a timestamp", frozenset({"updateCustomerSessionV2"}), "noise.yaml", "timestamp"
    )
    diff = ExchangeDiff((200, 400), (("etag", "a", None),), (
        Change(("effects", 0), "changed", 1, 2.5),
        Change(("created",), "changed", "x", "y", noise),
        Change(("items", 3), "added", None, {"sku": "a", "n": [1, None, True]}, additive=True, live_location=("items", 0)),
    ))  # fmt: skip
    return [
        Outcome("a.jsonl", 0, 1, "updateCustomerSessionV2", "PUT", request.url, "same", diff=NO_DIFFERENCE,
                request=request, elapsed=0.002, attempts=1, story=1),
        Outcome("a.jsonl", 1, 2, "updateCustomerSessionV2", "PUT", request.url, "changed", "why", diff=diff,
                violations=(violation,), request=request,
                expected=HttpResponse(200, {"Content-Type": ["application/json"]}, b"{}"),
                live=HttpResponse(400, [("content-type", "text/plain")], "oops"), elapsed=1.5, attempts=2,
                story=7, compared=True),
        Outcome("b.yaml", 2, None, None, "GET", "/x", "error", "no answer", silent="timeout", story=3),
    ]  # fmt: skip


def test_outcomes_come_back_as_they_went_every_field() -> None:
    sent = _outcomes()
    back = loads_outcomes(dumps_outcomes(sent))
    for before, after in zip(sent, back, strict=True):
        for field in dataclasses.fields(Outcome):  # a new field the wire forgets fails here
            assert getattr(after, field.name) == getattr(before, field.name), field.name
    assert type(back[0].request.headers) is NormalizedHeaders  # the shapes of headers kept
    assert back[1].live.headers == [("content-type", "text/plain")]
    assert back[1].diff.body[1].noise.operations == frozenset({"updateCustomerSessionV2"})


def test_noise_rules_travel_as_plain_data() -> None:
    rule = NoiseRule("$..created", "timestamps", None, "command line", None)
    assert noise_of(plain_noise(rule)) == rule
    with pytest.raises(WireError, match=r"invalid|pattern"):
        noise_of(["$[", "x", None, "s", None])


class _Shell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo owned",))


def _batch(value: object) -> bytes:
    return zlib.compress(msgpack.packb(value))


_GOOD = msgpack.unpackb(zlib.decompress(dumps_outcomes(_outcomes()[:1])))[0]


def _with(position: int, value: object) -> bytes:
    return _batch([[*_GOOD[:position], value, *_GOOD[position + 1 :]]])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (zlib.compress(pickle.dumps([_Shell()])), "not a batch of outcomes"),
        (_batch({"not": "a list"}), "a batch is a dict"),
        (_batch([["too", "short"]]), "18 fields, not 2"),
        (_with(6, "owned"), "unknown outcome 'owned'"),
        (_with(1, True), "index is a bool"),
        (_with(8, [None, [], [[["a"], "exploded", 1, 2, None, False, None]]]), "unknown change 'exploded'"),
        (_with(9, [{"message": "x"}]), "a violation has the fields"),
        (_with(10, ["GET", "/", ["x", []], None]), "unknown headers shape"),
        (_with(10, ["GET", "/", ["d", [["a", 1]]], None]), "a header value is a int"),
        (b"GET / HTTP/1.1\r\n\r\n", "not a batch of outcomes: error"),
        (zlib.compress(b"\0" * (300 * 1024 * 1024)), "inflates past"),
        (zlib.compress(b"\xdd" + (2**31).to_bytes(4, "big") + b"\x90" * 1_000_000), "exceeds max_array_len"),
    ],
    ids=[
        "pickle",
        "not-a-list",
        "short",
        "kind",
        "bool-index",
        "change",
        "violation",
        "shape",
        "header",
        "not-zlib",
        "bomb",
        "object-bomb",
    ],
)
def test_anything_else_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        loads_outcomes(data)


def test_findings_too_large_to_send_go_without_their_answers_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    from replay.swarm import wire

    monkeypatch.setattr(wire, "MAX_BATCH", 2_000)
    changed = _outcomes()[1]
    changed.live = HttpResponse(400, {}, b"x" * 5_000)
    [back] = loads_outcomes(dumps_outcomes([changed]))
    assert back.kind == "changed" and back.diff == changed.diff and back.live.status == 400
    assert back.live.body is None and "too large to send" in back.reason
