from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest

from contracts import Contract, ContractViolationError, HttpRequest, HttpResponse, Validator, Violation
from contracts.errors import UnknownOperation
from tests.samples import BALANCE, CATALOG, COUPON, LEDGER, POINTS, PROFILE, REFERRAL, TS, success

AUTH = {"Authorization": "ApiKey-v1 0123456789abcdef", "Content-Type": "application/json"}


def _request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> HttpRequest:
    raw = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    return HttpRequest(method, url, AUTH if headers is None else headers, raw)


def _where(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.where, v.keyword) for v in violations]


@pytest.fixture(scope="module", params=["rs", "python"])
def validator(request: pytest.FixtureRequest, contract: Contract) -> Validator:
    return Validator(contract, engine=request.param)


# --------------------------------------------------------------------------- requests


def test_valid_session_update_request(validator: Validator) -> None:
    body = {
        "customerSession": {
            "profileId": "cust-1",
            "couponCodes": ["WELCOME10"],
            "cartItems": [{"sku": "SKU-1", "quantity": 2, "price": 9.5}],
            "state": "open",
        },
        "responseContent": ["customerSession", "customerProfile"],
    }
    request = _request("PUT", "/v2/customer_sessions/s-1?dry=true&now=2030-01-01T00:00:00Z", body)
    assert validator.validate_request(request) == []


def test_request_parameters_are_typed(validator: Validator) -> None:
    url = (
        "/v1/loyalty_programs/two/cards/CARD-1/transactions"
        "?loyaltyTransactionType=refund&pageSize=5000&skip=x&startDate=yesterday&subledgerId=a,b"
    )
    violations = validator.validate_request(_request("GET", url))
    assert _where(violations) == [
        ("path/loyaltyProgramId", "type"),
        ("query/loyaltyTransactionType", "enum"),
        ("query/startDate", "anyOf"),  # a date-time or a date (overlay)
        ("query/pageSize", "maximum"),
        ("query/skip", "type"),
    ]
    first = violations[0]
    assert first.operation_id == "getLoyaltyCardTransactions"
    assert first.phase == "request" and first.status is None
    assert (first.expected, first.actual) == ("integer", "two")
    assert first.message == "expected integer, got 'two'"
    maximum = violations[3]
    assert (maximum.expected, maximum.actual) == (1000, 5000)
    assert maximum.schema_path is not None and maximum.schema_path.endswith("/parameters/6/schema/maximum")


def test_query_booleans_arrays_and_repeats(validator: Validator) -> None:
    ok = _request("GET", "/v1/customer_profiles/c1/inventory?profile=true&coupons=False&loyalty=1")
    assert validator.validate_request(ok) == []
    bad = _request("GET", "/v1/customer_profiles/c1/inventory?profile=yes&coupons=true&coupons=false")
    assert _where(validator.validate_request(bad)) == [
        ("query/profile", "type"),
        ("query/coupons", "multiple"),
    ]
    silent = _request("POST", "/v2/events?silent=maybe", {"type": "pageViewed", "profileId": "c1"})
    assert _where(validator.validate_request(silent)) == [("query/silent", "enum")]


def test_unknown_query_parameters_are_reported_on_request(contract: Contract) -> None:
    request = _request("GET", "/v2/customer_sessions/s1?dryrun=true")
    assert Validator(contract).validate_request(request) == []
    strict = Validator(contract, report_unknown_query=True)
    assert _where(strict.validate_request(request)) == [("query/dryrun", "additionalParameters")]


def test_authentication_is_checked_without_echoing_the_key(validator: Validator) -> None:
    missing = validator.validate_request(_request("GET", "/v2/customer_sessions/s1", headers={}))
    assert _where(missing) == [("header/Authorization", "security")]
    assert missing[0].expected == "ApiKey-v1 <key>"
    wrong = validator.validate_request(
        _request("GET", "/v2/customer_sessions/s1", headers={"authorization": "Bearer s3cr3t-token"})
    )
    assert _where(wrong) == [("header/Authorization", "security")]
    assert "s3cr3t" not in str(wrong[0]) and "s3cr3t" not in json.dumps(wrong[0].to_dict())
    assert wrong[0].actual == "Bearer …"


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (None, AUTH, [("body", "required")]),
        (b"{not json", AUTH, [("body", "json")]),
        ({"name": "x"}, {"Authorization": AUTH["Authorization"], "Content-Type": "text/plain"},
         [("content-type", "mediaType")]),
        ({"name": ""}, AUTH, [("body/name", "minLength")]),
        ({"description": "no name"}, AUTH, [("body/name", "required")]),
        ({"name": "ok", "integrationId": 7}, AUTH, [("body/integrationId", "type")]),
    ],
)  # fmt: skip
def test_request_bodies(
    validator: Validator, body: Any, headers: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert _where(validator.validate_request(_request("POST", "/v2/audiences", body, headers))) == expected


def test_body_on_an_operation_that_takes_none(validator: Validator) -> None:
    request = _request("PUT", "/v2/customer_sessions/s1/reopen", {"x": 1})
    assert _where(validator.validate_request(request)) == [("body", "requestBody")]
    assert validator.validate_request(_request("PUT", "/v2/customer_sessions/s1/reopen", b"")) == []


def test_delete_with_a_body(validator: Validator) -> None:
    url = "/v1/coupon_reservations/WELCOME10"
    assert validator.validate_request(_request("DELETE", url, {"integrationIDs": ["c1", "c2"]})) == []
    assert _where(validator.validate_request(_request("DELETE", url, {"integrationIds": ["c1"]}))) == [
        ("body/integrationIDs", "required")
    ]


def test_overlay_corrections_reach_request_validation(validator: Validator) -> None:
    no_profile = _request("POST", "/v2/events", {"type": "pageViewed"})
    assert _where(validator.validate_request(no_profile)) == [("body/profileId", "required")]
    too_many = {"customerProfiles": [{"integrationId": f"c{i}"} for i in range(1001)]}
    assert _where(validator.validate_request(_request("PUT", "/v2/customer_profiles", too_many))) == [
        ("body/customerProfiles", "maxItems")
    ]


def test_unknown_operation_is_a_violation_not_a_crash(validator: Validator) -> None:
    [violation] = validator.validate_request(_request("GET", "/v2/customer_session/abc"))
    assert violation.operation_id is None
    assert violation.location == "operation"
    assert "GET /v2/customer_sessions/{customerSessionId}" in violation.expected
    with pytest.raises(UnknownOperation):
        validator.validate_request(_request("GET", "/v2/customer_sessions/abc"), operation="noSuchOperation")


def test_explicit_operation_with_a_foreign_url(validator: Validator) -> None:
    # the caller insists on the operation: path parameters cannot be read from this URL
    violations = validator.validate_request(_request("GET", "/elsewhere"), operation="getCustomerSession")
    assert _where(violations) == [("path/customerSessionId", "required")]


# --------------------------------------------------------------------------- responses


def _json_response(status: int, body: Any, content_type: str = "application/json") -> HttpResponse:
    return HttpResponse(status, {"Content-Type": content_type}, json.dumps(body).encode())


def test_undocumented_status(validator: Validator) -> None:
    [violation] = validator.validate_response(_json_response(418, {}), "getCustomerSession")
    assert (violation.where, violation.keyword, violation.status) == ("status", "status", 418)
    assert violation.expected == ["200", "400", "401", "404"]
    assert "418 is not documented" in violation.message


def test_silent_204_and_bodies_where_none_are_documented(validator: Validator) -> None:
    assert validator.validate_response(HttpResponse(204, {}, b""), "trackEventV2") == []
    with_body = validator.validate_response(_json_response(204, {"x": 1}), "trackEventV2")
    assert _where(with_body) == [("body", "content")]


def test_content_type_and_json_problems(validator: Validator, integration_state: dict[str, Any]) -> None:
    op = "updateCustomerSessionV2"
    text = _json_response(200, integration_state, "text/html")
    assert _where(validator.validate_response(text, op)) == [("content-type", "mediaType")]
    missing = HttpResponse(200, {}, json.dumps(integration_state).encode())
    assert _where(validator.validate_response(missing, op)) == [("content-type", "mediaType")]
    garbage = HttpResponse(200, {"content-type": "application/json; charset=utf-8"}, b"<html>oops</html>")
    assert _where(validator.validate_response(garbage, op)) == [("body", "json")]
    empty = HttpResponse(200, {"content-type": "application/json"}, b"")
    assert _where(validator.validate_response(empty, op)) == [("body", "content")]


def test_parsed_body_can_be_passed_to_avoid_reparsing(
    validator: Validator, integration_state: dict[str, Any]
) -> None:
    response = HttpResponse(200, {"content-type": "application/json"}, b"ignored when parsed is given")
    assert validator.validate_response(response, "updateCustomerSessionV2", parsed=integration_state) == []


def _state_with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(state: dict[str, Any]) -> dict[str, Any]:
        state.update(changes)
        return state

    return build


def _set(path: str, value: Any) -> Callable[[Any], Any]:
    """A mutation setting (or deleting, with value=...) the item at a /-separated path."""

    def mutate(body: Any) -> Any:
        *parents, last = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
        node = body
        for part in parents:
            node = node[part]
        if value is ...:
            del node[last]
        else:
            node[last] = value
        return body

    return mutate


FAMILIES: list[tuple[str, str, int, Any, Callable[[Any], Any], tuple[str, str]]] = [
    # (family, operation, status, valid body, mutation that breaks it, (where, keyword) expected)
    ("sessions", "updateCustomerSessionV2", 200, "STATE", _set("/customerSession/state", "bogus"),
     ("body/customerSession/state", "enum")),
    ("sessions", "getCustomerSession", 200, {"customerSession": "STATE_SESSION", "effects": []},
     _set("/effects", {}), ("body/effects", "type")),
    ("sessions", "reopenCustomerSession", 200, {"effects": []}, _set("/effects", ...), ("body/effects", "required")),
    ("sessions", "returnCartItems", 200, "STATE", _set("/createdReferrals", None), ("body/createdReferrals", "type")),
    ("profiles", "updateCustomerProfileV2", 200,
     {"effects": [], "createdCoupons": [], "createdReferrals": [], "customerProfile": PROFILE},
     _set("/customerProfile/lastActivity", "last tuesday"), ("body/customerProfile/lastActivity", "format")),
    ("profiles", "updateCustomerProfilesV2", 200, {"integrationStates": [{"customerProfile": PROFILE}]},
     _set("/integrationStates/0/customerProfile/accountId", ...),
     ("body/integrationStates/0/customerProfile/accountId", "required")),
    ("profiles", "trackEventV2", 200, {"effects": [], "createdCoupons": [], "createdReferrals": []},
     _set("/createdCoupons", [{k: v for k, v in COUPON.items() if k != "campaignId"}]),
     ("body/createdCoupons/0/campaignId", "required")),
    ("audiences", "createAudienceV2", 201, {"accountId": 1, "id": 5, "created": TS, "name": "VIP"},
     _set("/name", ""), ("body/name", "minLength")),
    ("audiences", "updateAudienceV2", 200, {"accountId": 1, "id": 5, "created": TS, "name": "VIP"},
     _set("/id", "5"), ("body/id", "type")),
    ("coupons", "createCouponReservation", 201, COUPON, _set("/usageLimit", 1_000_000), ("body/usageLimit", "maximum")),
    ("coupons", "getReservedCustomers", 200, {"totalResultSize": 1, "data": [PROFILE]},
     _set("/data/0/totalSales", "12.5"), ("body/data/0/totalSales", "type")),
    ("referrals", "createReferral", 201, REFERRAL, _set("/code", "AB"), ("body/code", "minLength")),
    ("referrals", "createReferralsForMultipleAdvocates", 201, {"totalResultSize": 1, "data": [REFERRAL]},
     _set("/totalResultSize", ...), ("body/totalResultSize", "required")),
    ("loyalty", "getLoyaltyBalances", 200, {"balance": BALANCE, "subledgerBalances": {"beans": dict(BALANCE)}},
     _set("/subledgerBalances/beans/activePoints", "many"), ("body/subledgerBalances/beans/activePoints", "type")),
    ("loyalty", "getLoyaltyCardBalances", 200,
     {"balance": BALANCE, "profiles": [{"integrationId": "cust-1", "timestamp": TS}]},
     _set("/profiles/0/timestamp", ...), ("body/profiles/0/timestamp", "required")),
    ("loyalty", "getLoyaltyProgramProfilePoints", 200, {"hasMore": False, "data": [POINTS]},
     _set("/hasMore", "no"), ("body/hasMore", "type")),
    ("loyalty", "getLoyaltyCardTransactions", 200,
     {"hasMore": False, "data": [{**POINTS, "cardIdentifier": "CARD-0001", "type": "addition"}]},
     _set("/data/0/type", "refund"), ("body/data/0/type", "enum")),
    ("loyalty", "linkLoyaltyCardToProfile", 200,
     {"id": 1, "created": TS, "programID": 2, "status": "active", "identifier": "CARD-0001", "usersPerCardLimit": 1,
      "ledger": LEDGER},
     _set("/ledger/currentBalance", ...), ("body/ledger/currentBalance", "required")),
    ("loyalty", "getCustomerInventory", 200,
     {"profile": PROFILE, "coupons": [{**COUPON, "profileRedemptionCount": 0, "state": "active"}]},
     _set("/coupons/0/state", ...), ("body/coupons/0/state", "required")),
    ("catalogs", "syncCatalog", 200,
     CATALOG,
     _set("/version", 4.5), ("body/version", "type")),
    ("errors", "updateCustomerSessionV2", 400,
     {"message": "Invalid request", "errors": [{"title": "unknown attribute", "source": {"pointer": "/attributes/Foo"}}]},
     _set("/message", ...), ("body/message", "required")),
    ("errors", "getCustomerSession", 401, {"message": "Unauthorized", "StatusCode": 401},
     _set("/StatusCode", "401"), ("body/StatusCode", "type")),
    ("errors", "syncCatalog", 400, {"message": "bad", "errors": [{"title": "duplicate SKU", "source": {"pointer": "/actions/1"}}]},
     _set("/errors/0/source", ...), ("body/errors/0/source", "required")),
]  # fmt: skip


def _materialize(body: Any, state: dict[str, Any]) -> Any:
    if body == "STATE":
        return copy.deepcopy(state)
    body = copy.deepcopy(body)
    if isinstance(body, dict) and body.get("customerSession") == "STATE_SESSION":
        body["customerSession"] = copy.deepcopy(state["customerSession"])
    return body


@pytest.mark.parametrize(
    ("family", "operation", "status", "body", "mutate", "expected"),
    FAMILIES,
    ids=[f"{f[0]}-{f[1]}-{f[2]}" for f in FAMILIES],
)
def test_response_families_pass_and_fail(
    validator: Validator,
    integration_state: dict[str, Any],
    family: str,
    operation: str,
    status: int,
    body: Any,
    mutate: Callable[[Any], Any],
    expected: tuple[str, str],
) -> None:
    valid = _materialize(body, integration_state)
    assert validator.validate_response(_json_response(status, valid), operation) == []
    broken = mutate(_materialize(body, integration_state))
    violations = validator.validate_response(_json_response(status, broken), operation)
    assert [(v.where, v.keyword) for v in violations] == [expected]
    [violation] = violations
    assert violation.operation_id == operation
    assert violation.phase == "response"
    assert violation.status == status
    assert violation.schema_path and violation.schema_path.startswith("#/")
    assert violation.message


def test_families_cover_every_response_schema_family() -> None:
    assert {f[0] for f in FAMILIES} == {"sessions", "profiles", "audiences", "coupons", "referrals", "loyalty",
                                        "catalogs", "errors"}  # fmt: skip


def test_engines_agree_on_a_broken_session_state(
    contract: Contract, integration_state: dict[str, Any]
) -> None:
    state = integration_state
    state["customerSession"]["state"] = "bogus"
    state["customerSession"]["created"] = "yesterday"
    state["effects"][0]["campaignId"] = "x"
    del state["createdCoupons"]
    results = []
    for engine in ("rs", "python"):
        found = Validator(contract, engine=engine).validate_body("updateCustomerSessionV2", state, status=200)
        results.append(
            sorted((v.where, v.keyword, json.dumps(v.expected), v.schema_path or "") for v in found)
        )
    assert results[0] == results[1]
    assert [r[:2] for r in results[0]] == [
        ("body/createdCoupons", "required"),
        ("body/customerSession/created", "format"),
        ("body/customerSession/state", "enum"),
        ("body/effects/0/campaignId", "type"),
    ]
    schema_paths = {r[0]: r[3] for r in results[0]}
    assert (
        schema_paths["body/customerSession/state"]
        == "#/components/schemas/CustomerSessionV2/properties/state/enum"
    )


def test_error_count_is_capped(contract: Contract) -> None:
    page = {"hasMore": False, "data": [{"id": "x"} for _ in range(100)]}
    violations = Validator(contract, max_errors=7).validate_body(
        "getLoyaltyCardTransactions", page, status=200
    )
    assert len(violations) == 7


def test_validate_body_errors_for_undocumented_combinations(validator: Validator) -> None:
    with pytest.raises(UnknownOperation, match="documents no response 500"):
        validator.validate_body("trackEventV2", {}, status=500)
    with pytest.raises(UnknownOperation, match="takes no request body"):
        validator.validate_body("getCustomerSession", {})


def test_validate_exchange_and_check_variants(
    validator: Validator, integration_state: dict[str, Any]
) -> None:
    request = _request("PUT", "/v2/customer_sessions/s1", {"customerSession": {"state": "closed"}})
    response = _json_response(200, integration_state)
    assert validator.validate_exchange(request, response) == []
    del integration_state["effects"]
    broken = _json_response(200, integration_state)
    with pytest.raises(ContractViolationError) as info:
        validator.check_response(broken, "updateCustomerSessionV2")
    assert isinstance(info.value, AssertionError)
    assert [v.where for v in info.value.violations] == ["body/effects"]
    assert "body/effects: required property 'effects' is missing" in str(info.value)
    with pytest.raises(ContractViolationError):
        validator.check_request(_request("PUT", "/v2/customer_sessions/s1", {}))


def test_violation_is_a_structured_assertion_error() -> None:
    violation = Violation(
        operation_id="getCustomerSession",
        phase="response",
        status=200,
        location="body",
        pointer="/customerSession/state",
        keyword="enum",
        expected=["open", "closed"],
        actual="bogus",
        message='"bogus" is not one of ["open","closed"]',
        schema_path="#/components/schemas/CustomerSessionV2/properties/state/enum",
    )
    assert isinstance(violation, AssertionError)
    assert (
        str(violation)
        == 'getCustomerSession response 200: body/customerSession/state: "bogus" is not one of ["open","closed"]'
    )
    assert pickle.loads(pickle.dumps(violation)) == violation
    assert json.loads(json.dumps(violation.to_dict()))["pointer"] == "/customerSession/state"
    assert len({violation, pickle.loads(pickle.dumps(violation))}) == 1


def test_unknown_engine_is_rejected(contract: Contract) -> None:
    with pytest.raises(ValueError, match="valid: auto, rs, python"):
        Validator(contract, engine="fast")


def test_parse_request_types_parameters_and_applies_defaults(validator: Validator) -> None:
    url = "/v1/loyalty_programs/2/cards/CARD-1/transactions?subledgerId=a,b&skip=10&startDate=2026-01-01T00:00:00Z"
    parsed = validator.parse_request(_request("GET", url))
    assert parsed.ok
    assert parsed.operation is not None and parsed.operation.operation_id == "getLoyaltyCardTransactions"
    assert parsed.path == {"loyaltyProgramId": 2, "loyaltyCardId": "CARD-1"}
    assert parsed.query == {
        "subledgerId": ["a", "b"],
        "skip": 10,
        "startDate": "2026-01-01T00:00:00Z",
        "pageSize": 1000,  # the contract's default
    }
    event = validator.parse_request(
        _request("POST", "/v2/events?dry=true", {"type": "pageViewed", "profileId": "c1"})
    )
    assert event.query == {"dry": True, "silent": "yes"}  # silent defaults to yes
    assert event.body == {"type": "pageViewed", "profileId": "c1"}


def test_parse_request_leaves_out_unreadable_values(validator: Validator) -> None:
    parsed = validator.parse_request(
        _request("GET", "/v1/loyalty_programs/1/profile/c1/points?pageSize=500&status=gone")
    )
    assert _where(parsed.violations) == [("query/status", "enum"), ("query/pageSize", "maximum")]
    assert parsed.query == {}  # neither the bad values nor the defaults they would have hidden
    unknown = validator.parse_request(_request("GET", "/v9/nothing"))
    assert unknown.operation is None and _where(unknown.violations) == [("operation", "operation")]


def test_every_sample_success_answer_conforms(validator: Validator) -> None:
    for op in validator.contract:
        status, body = success(op.operation_id)
        response = HttpResponse(
            status, {"content-type": "application/json"}, json.dumps(body).encode() if body else b""
        )
        assert validator.validate_response(response, op) == [], op.operation_id


@pytest.mark.parametrize(
    "header", ["0123456789abcdef0123", "ApiKey-v10123456789abcdef0123", "apikey-v1 0123456789abcdef0123"]
)
def test_malformed_credentials_are_never_echoed(validator: Validator, header: str) -> None:
    [violation] = validator.validate_request(
        _request("GET", "/v2/customer_sessions/s1", headers={"Authorization": header})
    )
    assert violation.keyword == "security"
    assert "0123456789abcdef0123" not in str(violation)
    assert "0123456789abcdef0123" not in json.dumps(violation.to_dict())


@pytest.mark.parametrize("value", ["٣", " 5", "5 ", "1_000", "0x10"])
def test_numbers_in_parameters_are_ascii_digits_only(validator: Validator, value: str) -> None:
    from urllib.parse import quote

    url = "/v1/loyalty_programs/1/profile/c1/points?pageSize=" + quote(value)
    assert _where(validator.validate_request(_request("GET", url))) == [("query/pageSize", "type")]


def test_compiled_validators_are_cached(contract: Contract, monkeypatch: pytest.MonkeyPatch) -> None:
    from contracts import validation

    built: list[Any] = []
    original = validation.ENGINES["rs"]

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, schema: Any) -> None:
            built.append(schema)
            super().__init__(schema)

    monkeypatch.setitem(validation.ENGINES, "rs", Counting)
    fresh = Validator(contract, engine="rs")
    status, body = success("updateCustomerSessionV2")
    response = HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())
    for _ in range(3):
        assert fresh.validate_response(response, "updateCustomerSessionV2") == []
    assert len(built) == 1
    fresh.validate_body("updateCustomerSessionV2", body, status=200)  # same (operation, status, media type)
    assert len(built) == 1
    total = fresh.compile_all()
    assert total == len(built) > 28  # every parameter, request and response schema, once each


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("x", True),
        ("\u0085", True),
        ("\u001c", True),
        (" \u00a0\t", False),
        ("\ufeff\u3000", False),
        ("", False),
    ],
)
def test_patterns_are_ecma_262_in_both_engines(validator: Validator, value: str, valid: bool) -> None:
    """`\\S` as JSON Schema means it: U+0085 and U+001C are not white space there, U+FEFF is
    (Python's `re` reads all three the other way; the python engine translates the pattern)."""
    body = json.dumps({"integrationIDs": [value]}).encode()
    request = _request("POST", "/v1/coupon_reservations/C", body)
    found = [v for v in validator.validate_request(request) if v.keyword in ("pattern", "minLength")]
    assert (found == []) is valid, found


def test_ecma_pattern_translates_only_what_python_reads_differently() -> None:
    from contracts.schema import ecma_pattern

    assert ecma_pattern(r"^\d{3}-\w+$") == "^[0-9]{3}-[A-Za-z0-9_]+$"
    assert ecma_pattern(r"[\d,]") == "[0-9,]"
    assert ecma_pattern(r"a\\s\.b") == r"a\\s\.b"  # an escaped backslash, then a literal s
    assert ecma_pattern(r"[^\S]") == r"[^\S]"  # a negated escape inside a class is kept
    assert re.fullmatch(ecma_pattern(r"\S+"), "a\u0085b") and not re.fullmatch(ecma_pattern(r"\S"), "\ufeff")
