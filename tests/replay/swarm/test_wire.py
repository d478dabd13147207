"""Outcomes between a worker and the master: the same outcomes back, and nothing else built."""

from __future__ import annotations

import pickle
import zlib

import pytest

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse
from replay.engine.changes import NO_DIFFERENCE, Change, ExchangeDiff
from replay.engine.outcomes import Outcome
from replay.rules.noise import NoiseRule
from replay.swarm.wire import WireError, dumps_outcomes, loads_outcomes


def _outcomes() -> list[Outcome]:
    request = HttpRequest(
        "PUT", "http://t/v2/customer_sessions/s-1", {"Content-Type": "application/json"}, b"{}"
    )
    violation = Violation(operation_id="updateCustomerSessionV2", phase="response", status=200, location="body",
                          pointer="/createdCoupons", keyword="required", expected=["createdCoupons"], actual={},
                          message="createdCoupons is required")  # fmt: skip
    noise = NoiseRule("$.created", "a timestamp")
    diff = ExchangeDiff((200, 400), (("etag", "a", "b"),), (Change(("effects", 0), "changed", 1, 2),
                                                             Change(("created",), "changed", "x", "y", noise)))  # fmt: skip
    return [
        Outcome("a.jsonl", 0, 1, "updateCustomerSessionV2", "PUT", request.url, "same", diff=NO_DIFFERENCE,
                request=request, elapsed=0.002, attempts=1, story=1),
        Outcome("a.jsonl", 1, 2, "updateCustomerSessionV2", "PUT", request.url, "changed", diff=diff,
                violations=(violation,), request=request, expected=HttpResponse(200, {}, b"{}"),
                live=HttpResponse(400, {}, b"{}"), story=1),
    ]  # fmt: skip


def test_outcomes_come_back_as_they_went() -> None:
    sent = _outcomes()
    back = loads_outcomes(dumps_outcomes(sent))
    assert [o.kind for o in back] == ["same", "changed"]
    assert back[0].request == sent[0].request and back[0].diff == NO_DIFFERENCE
    assert back[1].diff == sent[1].diff and back[1].live == sent[1].live
    assert [v.to_dict() for v in back[1].violations] == [v.to_dict() for v in sent[1].violations]


class _Shell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("echo owned",))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (zlib.compress(pickle.dumps([_Shell()])), "holds posix.system, which is not an outcome's"),
        (zlib.compress(pickle.dumps({"not": "a list"})), "not a batch of outcomes: a dict"),
        (zlib.compress(pickle.dumps([("too", "short")])), "not a batch of outcomes"),
        (b"GET / HTTP/1.1\r\n\r\n", "not a batch of outcomes: error"),
        (zlib.compress(b"\0" * (300 * 1024 * 1024)), "inflates past"),
    ],
    ids=["code", "not-a-list", "bad-tuple", "not-zlib", "bomb"],
)
def test_anything_else_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        loads_outcomes(data)
