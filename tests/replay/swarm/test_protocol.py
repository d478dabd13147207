"""The settings a master decides once and its workers replay with: every one survives the trip."""

from __future__ import annotations

import msgpack

from replay.engine.options import ReplayOptions
from replay.rules.noise import NoiseRule, NoiseRules
from replay.swarm.protocol import options_of, settings_of
from replay.talon.noise import builtin_noise


def test_the_settings_a_worker_gets_are_the_masters_options() -> None:
    noise = builtin_noise() + NoiseRules([NoiseRule("$..etag", "--ignore", source="command line")])
    sent = ReplayOptions(target="https://staging.example.talon.one", api_key="key", writes="dry",
                         namespace="rpabc123-", noise=noise, operations=frozenset({"getLoyaltyBalances"}),
                         keep_ids=frozenset({"ana"}), timeout=7.5, speed=2.0, rate=40.0)  # fmt: skip
    settings = msgpack.unpackb(msgpack.packb(settings_of(sent, "load", 5)))  # as Locust carries them
    got = options_of(settings)
    for name in (
        "target",
        "api_key",
        "writes",
        "namespace",
        "operations",
        "keep_ids",
        "timeout",
        "speed",
        "rate",
    ):
        assert getattr(got, name) == getattr(sent, name), name
    assert list(got.noise) == list(sent.noise)
    assert settings["mode"] == "load" and settings["sample"] == 5


def test_a_finding_is_named_in_locusts_table_by_where_it_differs_never_by_its_values() -> None:
    from contracts.errors import Violation
    from replay.engine.changes import Change, ExchangeDiff
    from replay.engine.outcomes import Outcome
    from replay.swarm.protocol import failure

    def outcome(kind: str, **fields: object) -> Outcome:
        return Outcome(
            "a.yaml", 0, 1, "updateCustomerSessionV2", "PUT", "/v2/customer_sessions/s-1", kind, **fields
        )  # type: ignore[arg-type]

    body = ExchangeDiff(None, (), (Change(("effects", 0, "props", "value"), "changed", 10, 12),))
    assert failure(outcome("changed", diff=body)) == "changed: changed /effects/0/props/value"
    assert failure(outcome("changed", diff=ExchangeDiff((200, 404), (), ()))) == "changed: status 200 -> 404"
    violation = Violation(operation_id="x", phase="response", location="body", pointer="/createdCoupons",
                          keyword="required", expected=[], actual={}, message="m", status=200)  # fmt: skip
    assert (
        failure(outcome("violation", violations=(violation,)))
        == "violation: response body/createdCoupons (required)"
    )
    assert failure(outcome("error", reason="timeout after 30 s")) == "error: timeout after 30 s"


def test_a_peers_counts_and_read_problems_are_checked() -> None:
    import pytest

    from replay.swarm.protocol import checked_count, checked_problem

    known = {"getLoyaltyBalances"}
    assert checked_count(["getLoyaltyBalances", "same", 3], known) == ("getLoyaltyBalances", "same", 3)
    assert checked_count(["made-up-op", "same", 3], known) == (None, "same", 3)  # no new rows in the table
    for bad in (["getLoyaltyBalances", "owned", 1], ["getLoyaltyBalances", "same", -1], [None, "same", True]):
        with pytest.raises(ValueError):
            checked_count(bad, known)
    assert checked_problem([2, "bad line", 4, 7, 0]) == (2, "bad line", 4, 7, False)
    with pytest.raises(ValueError):
        checked_problem([2, "bad line", [1], 7, False])  # an unhashable position
