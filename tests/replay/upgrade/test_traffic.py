"""Where a spec diff hits recorded traffic: touches per change, and what the new contract rejects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse
from contracts.spec import DEFAULT_OVERLAY
from contracts.specdiff.model import Change, Touch
from contracts.specdiff.operations import diff_contracts
from contracts.specdiff.rules import Level
from contracts.specdiff.sources import load_side
from replay.cassettes.model import Interaction
from replay.upgrade.traffic import _Exchange, _explain, rejection_level, touches, traffic_impact

from .conftest import CASSETTES


def _exchange(body: Any = None, url: str = "/v2/x?pageSize=50&tags=a", status: int = 200,
              answer: bytes = b'{"effects": [{"props": {"value": 3}}, {"props": {}}]}') -> _Exchange:  # fmt: skip
    import json

    request = HttpRequest("PUT", url, {"Content-Type": "application/json", "X-Trace": "t"},
                          json.dumps(body).encode() if body is not None else None)  # fmt: skip
    response = HttpResponse(status, {"Content-Type": "application/json"}, answer)
    return _Exchange(Interaction("c.yaml", 0, request, response), {"id": "s-1"})


BODY = {
    "customerSession": {
        "state": "cancelled",
        "cartItems": [{"sku": "A", "quantity": 4}, {"sku": "B", "quantity": 1}],
    }
}


@pytest.mark.parametrize(
    ("touch", "expected"),
    [
        (Touch("operation"), True),
        (Touch("status", "response", "200"), True),
        (Touch("status", "response", "404"), False),
        (Touch("present", "request", None, "body", ("customerSession", "cartItems", "*", "sku")), True),
        (Touch("present", "request", None, "body", ("customerSession", "profileId")), False),
        (Touch("missing", "request", None, "body", ("customerSession", "profileId")), True),
        (Touch("missing", "request", None, "body", ("customerSession", "state")), False),
        (Touch("missing", "request", None, "body", ("customerSession", "cartItems", "*", "price")), True),
        (Touch("values", "request", None, "body", ("customerSession", "state"), ("cancelled",)), True),
        (Touch("values", "request", None, "body", ("customerSession", "state"), ("open",)), False),
        (Touch("outside", "request", None, "body", ("customerSession", "cartItems", "*", "quantity"), (), ("maximum", 1)), True),
        (Touch("outside", "request", None, "body", ("customerSession", "cartItems", "*", "quantity"), (), ("maximum", 4)), False),
        (Touch("outside", "request", None, "body", ("customerSession", "cartItems", "*", "quantity"), (), ("exclusiveMaximum", 4)), True),
        (Touch("outside", "request", None, "body", ("customerSession", "state"), (), ("enum", ["open"])), True),
        (Touch("outside", "request", None, "body", ("customerSession", "state"), (), ("maxLength", 5)), True),
        (Touch("outside", "request", None, "body", ("customerSession", "state"), (), ("pattern", "^c")), False),
        (Touch("outside", "request", None, "body", ("customerSession", "state"), (), ("type", ["integer"])), True),
        (Touch("outside", "request", None, "body", ("customerSession", "cartItems", "*"), (), ("additionalProperties", ["sku"])), True),
        (Touch("outside", "request", None, "query", ("pageSize",), (), ("maximum", 40)), True),
        (Touch("present", "request", None, "query", ("tags",)), True),
        (Touch("missing", "request", None, "query", ("skip",)), True),
        (Touch("present", "request", None, "header", ("X-Trace",)), True),
        (Touch("present", "request", None, "path", ("id",)), True),
        (Touch("present", "response", "200", "body", ("effects", "*", "props", "value")), True),
        (Touch("missing", "response", "200", "body", ("effects", "*", "props", "value")), True),
        (Touch("media-type", "response", None, "body", (), (), None, "application/json"), True),
        (Touch("media-type", "request", None, "body", (), (), None, "text/csv"), False),
    ],
)  # fmt: skip
def test_what_a_touch_concerns(touch: Touch, expected: bool) -> None:
    assert touches(touch, _exchange(BODY), "200") is expected


def test_a_request_without_a_body_lacks_whatever_a_new_required_property_names() -> None:
    assert touches(
        Touch("missing", "request", None, "body", ("customerSession", "currency")), _exchange(None), "200"
    )
    assert not touches(
        Touch("present", "request", None, "body", ("customerSession",)), _exchange(None), "200"
    )


def test_a_violation_is_explained_by_the_deepest_change_at_its_place() -> None:
    def change(rule_id: str, touch: Touch) -> Change:
        return Change(rule_id, Level.ERR, "op", "PUT", "/x", "loc", "m", touch=touch)

    changes = [
        change("operation-deprecated", Touch("operation")),
        change("request-property-removed", Touch("present", "request", None, "body", ("customerSession",))),
        change("request-max-tightened", Touch("outside", "request", None, "body", ("customerSession", "cartItems", "*", "quantity"))),
        change("response-required-property-removed", Touch("present", "response", "200", "body", ("createdCoupons",))),
        change("response-header-removed", Touch("present", "response", "200", "header", ("x-rate",))),
    ]  # fmt: skip

    def violation(phase: str, location: str, pointer: str, status: int | None = None) -> Violation:
        return Violation(operation_id="op", phase=phase, location=location, pointer=pointer, keyword="k",
                         expected=None, actual=None, message="m", status=status)  # fmt: skip

    def explained(found: Violation, among: list[Change] = changes) -> str | None:
        change = _explain(found, among)
        return change.rule_id if change is not None else None

    assert (
        explained(violation("request", "body", "/customerSession/cartItems/3/quantity"))
        == "request-max-tightened"
    )
    assert explained(violation("request", "body", "/customerSession/state")) == "request-property-removed"
    assert (
        explained(violation("response", "body", "/createdCoupons", 200))
        == "response-required-property-removed"
    )
    assert explained(violation("response", "header", "/X-Rate", 200)) == "response-header-removed"  # any case
    # a deprecation explains nothing; an operation-wide change that breaks calls explains what is left
    assert explained(violation("response", "body", "/createdCoupons", 404)) is None
    removed = [*changes, change("operation-removed", Touch("operation"))]
    assert explained(violation("response", "body", "/createdCoupons", 404), removed) == "operation-removed"
    assert explained(violation("request", "query", "/pageSize"), changes[1:]) is None


def test_a_rejection_counts_as_the_worst_change_that_explains_it() -> None:
    def change(level: Level, ignored: str | None = None) -> Change:
        return Change("r", level, "op", "PUT", "/x", "loc", "m", ignored=ignored)

    assert rejection_level((change(Level.INFO), change(Level.WARN))) is Level.WARN
    assert rejection_level((change(Level.INFO), None)) is Level.ERR  # nothing explains the second one
    assert rejection_level((change(Level.ERR, ignored="known"),)) is None
    assert rejection_level((change(Level.ERR, ignored="known"), change(Level.INFO))) is Level.INFO


def test_parameters_are_compared_as_the_text_they_arrive_as() -> None:
    exchange = _exchange(BODY, url="/v2/x?n=3&flag=false&s=007")
    assert touches(Touch("values", "request", None, "query", ("n",), (3,)), exchange, "200")
    assert touches(Touch("values", "request", None, "query", ("flag",), (False,)), exchange, "200")
    assert not touches(Touch("values", "request", None, "query", ("flag",), (0,)), exchange, "200")
    assert not touches(
        Touch("outside", "request", None, "query", ("n",), (), ("enum", [1, 2, 3])), exchange, "200"
    )
    assert touches(Touch("outside", "request", None, "query", ("n",), (), ("enum", [1, 2])), exchange, "200")
    assert not touches(
        Touch("outside", "request", None, "query", ("n",), (), ("type", ["integer"])), exchange, "200"
    )
    assert not touches(
        Touch("outside", "request", None, "query", ("s",), (), ("type", ["string"])), exchange, "200"
    )
    # in a body, 1 and true are different values
    assert not touches(Touch("values", "request", None, "body", ("customerSession", "cartItems", "*", "quantity"),
                             (True,)), _exchange({"customerSession": {"cartItems": [{"quantity": 1}]}}), "200")  # fmt: skip


@pytest.fixture(scope="module")
def impact(next_release: Path) -> Any:
    old = load_side(str(Path(__file__).parents[3] / "contracts" / "openapi" / "talon-integration-v7.0.0.yaml"),
                    DEFAULT_OVERLAY)  # fmt: skip
    new = load_side(str(next_release), DEFAULT_OVERLAY)
    diff = diff_contracts(old, new)
    return diff, traffic_impact([CASSETTES], diff, old, new)


def test_the_corpus_against_a_breaking_release(impact: Any) -> None:
    diff, found = impact
    assert found.interactions == 149 and found.files == 13 and not found.problems and not found.unreadable
    by_key = {(c.rule_id, c.operation_id): found.hits(i) for i, c in enumerate(diff.changes)}
    # every recorded session update lacks the new required currency
    assert by_key[("request-required-property-added", "updateCustomerSessionV2")].count == 22
    assert found.per_operation["updateCustomerSessionV2"] == 22
    # the cancelled-order story sends the state that is no longer accepted, twice
    cancelled = by_key[("request-enum-value-removed", "updateCustomerSessionV2")]
    assert cancelled.count == 2 and all("cancelled-order.yaml" in e for e in cancelled.examples)
    assert by_key[("response-required-property-removed", "updateCustomerSessionV2")].count == 18
    assert by_key[("request-max-tightened", "updateCustomerSessionV2")].count == 15
    assert len(by_key[("request-max-tightened", "updateCustomerSessionV2")].examples) == 3


def test_re_verification_lists_what_the_new_contract_rejects_with_the_rule(impact: Any) -> None:
    _, found = impact
    assert found.rejected_count == len(found.rejected) == 22
    first = found.rejected[0]
    assert first.interaction.endswith("cancelled-order.yaml#0 (line 2)")
    assert [
        (v.pointer, rule_id) for v, rule_id in zip(first.violations, first.explained_by, strict=True)
    ] == [
        ("/customerSession/currency", "request-required-property-added"),
        ("/customerSession/cartItems/1/quantity", "request-max-tightened"),
    ]
    assert all(rule_id is not None for r in found.rejected for rule_id in r.explained_by)


def test_unreadable_traffic_is_reported_not_raised(tmp_path: Path, impact: Any) -> None:
    diff, _ = impact
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"request": {"method": "GET", "uri": "/v1/x"}}\nnot json\n')
    old = load_side(
        str(Path(__file__).parents[3] / "contracts" / "openapi" / "talon-integration-v7.0.0.yaml")
    )
    found = traffic_impact([bad, tmp_path / "missing"], diff, old, old)
    assert found.interactions == 1 and found.unmatched == 1
    assert len(found.problems) == 1 and str(found.problems[0]).startswith(f"{bad}:2")
    assert found.unreadable and "missing" in found.unreadable[0]


def test_a_change_of_every_operation_touches_every_interaction(tmp_path: Path) -> None:
    from contracts.spec import load_spec

    def doc(base: str) -> Any:
        return load_spec({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                          "servers": [{"url": f"https://x.example{base}"}],
                          "paths": {"/t": {"get": {"operationId": "getThing", "responses": {"200": {"description": "OK"}}}}}},
                         warn=False)  # fmt: skip

    old, new = doc("/v1"), doc("/v2")
    capture = tmp_path / "c.jsonl"
    capture.write_text(
        '{"request": {"method": "GET", "uri": "https://x.example/v1/t"}, "response": {"status": 200}}\n'
    )
    diff = diff_contracts(old, new)
    assert [c.rule_id for c in diff.changes] == ["api-base-path-changed"]
    found = traffic_impact([capture], diff, old, new)
    assert found.hits(0).count == 1
    assert found.rejected_count == 1 and found.rejected[0].explained_by == ("api-base-path-changed",)
