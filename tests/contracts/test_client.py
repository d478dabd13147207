from __future__ import annotations

import datetime as dt
import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contracts import ArgumentError, Contract, ContractViolationError, ContractViolationWarning
from contracts.client import ApiError, ApiResponse, IntegrationClient, RetryPolicy
from tests.contracts.test_spec import REFERENCE_OPERATIONS
from tests.httpserver import ScriptedServer
from tests.samples import success

KEY = "test-key-0001"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh(server: ScriptedServer) -> ScriptedServer:
    server.requests.clear()
    server._queue.clear()
    return server


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def client(fresh: ScriptedServer, sleep: FakeSleep, contract: Contract) -> Iterator[IntegrationClient]:
    with IntegrationClient(
        fresh.url, KEY, contract=contract, retries=RetryPolicy(retries=3, sleep=sleep), timeout=5
    ) as c:
        yield c


SESSION_BODY = {
    "customerSession": {"profileId": "cust-1", "cartItems": [{"sku": "A", "quantity": 1, "price": 5}]}
}
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

# One call per operation: (python name, args, kwargs, expected request target, expected JSON body).
CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], str, Any]] = [
    ("update_customer_session_v2", ("s/1", SESSION_BODY), {"dry": True, "now": NOW},
     "/v2/customer_sessions/s%2F1?dry=true&now=2030-01-01T00:00:00Z", SESSION_BODY),
    ("get_customer_session", ("s1",), {}, "/v2/customer_sessions/s1", None),
    ("reopen_customer_session", ("s1",), {}, "/v2/customer_sessions/s1/reopen", None),
    ("return_cart_items", ("s1",), {"body": {"return": {"returnedCartItems": [{"position": 0}]}}, "dry": False},
     "/v2/customer_sessions/s1/returns?dry=false", {"return": {"returnedCartItems": [{"position": 0}]}}),
    ("track_event_v2", ({"type": "pageViewed", "profileId": "c1"},), {"silent": "no", "dry": True},
     "/v2/events?silent=no&dry=true", {"type": "pageViewed", "profileId": "c1"}),
    ("update_customer_profile_v2", ("c1", {"attributes": {"Language": "de"}}), {"run_rule_engine": True},
     "/v2/customer_profiles/c1?runRuleEngine=true", {"attributes": {"Language": "de"}}),
    ("update_customer_profiles_v2", ({"customerProfiles": [{"integrationId": "c1"}]},), {"silent": "yes"},
     "/v2/customer_profiles?silent=yes", {"customerProfiles": [{"integrationId": "c1"}]}),
    ("create_audience_v2", ({"name": "VIP"},), {}, "/v2/audiences", {"name": "VIP"}),
    ("update_audience_v2", (5, {"name": "VIP2"}), {}, "/v2/audiences/5", {"name": "VIP2"}),
    ("delete_audience_v2", (5,), {}, "/v2/audiences/5", None),
    ("delete_audience_memberships_v2", (5,), {}, "/v2/audiences/5/memberships", None),
    ("update_customer_profile_audiences", ({"data": [{"action": "add", "profileIntegrationId": "c1", "audienceId": 5}]},),
     {}, "/v2/customer_audiences", {"data": [{"action": "add", "profileIntegrationId": "c1", "audienceId": 5}]}),
    ("update_audience_customers_attributes", (5, {"ShippingCountry": "DE"}), {},
     "/v2/audience_customers/5/attributes", {"ShippingCountry": "DE"}),
    ("create_coupon_reservation", ("WELCOME10", {"integrationIDs": ["c1"]}), {},
     "/v1/coupon_reservations/WELCOME10", {"integrationIDs": ["c1"]}),
    ("delete_coupon_reservation", ("WELCOME10", {"integrationIDs": ["c1"]}), {},
     "/v1/coupon_reservations/WELCOME10", {"integrationIDs": ["c1"]}),
    ("get_reserved_customers", ("WELCOME10",), {}, "/v1/coupon_reservations/customerprofiles/WELCOME10", None),
    ("create_referral", ({"campaignId": 3, "advocateProfileIntegrationId": "c1"},), {}, "/v1/referrals",
     {"campaignId": 3, "advocateProfileIntegrationId": "c1"}),
    ("create_referrals_for_multiple_advocates",
     ({"campaignId": 3, "advocateProfileIntegrationIds": ["c1", "c2"], "usageLimit": 1},), {"silent": "no"},
     "/v1/referrals_for_multiple_advocates?silent=no",
     {"campaignId": 3, "advocateProfileIntegrationIds": ["c1", "c2"], "usageLimit": 1}),
    ("delete_customer_data", ("c1",), {}, "/v1/customer_data/c1", None),
    ("get_customer_inventory", ("c1",), {"profile": True, "loyalty": True, "coupons": False},
     "/v1/customer_profiles/c1/inventory?profile=true&coupons=false&loyalty=true", None),
    ("get_loyalty_card_balances", (2, "CARD-0001"), {"end_date": NOW, "subledger_id": ["a", "b"]},
     "/v1/loyalty_programs/2/cards/CARD-0001/balances?endDate=2030-01-01T00:00:00Z&subledgerId=a,b", None),
    ("get_loyalty_balances", (1, "c1"), {"subledger_id": "beans"},
     "/v1/loyalty_programs/1/profile/c1/balances?subledgerId=beans", None),
    ("get_loyalty_card_transactions", (2, "CARD-0001"), {"loyalty_transaction_type": "session", "page_size": 1000, "skip": 0},
     "/v1/loyalty_programs/2/cards/CARD-0001/transactions?loyaltyTransactionType=session&pageSize=1000&skip=0", None),
    ("get_loyalty_program_profile_transactions", (1, "c1"),
     {"start_date": "2026-01-01T00:00:00Z", "page_size": 50},
     "/v1/loyalty_programs/1/profile/c1/transactions?startDate=2026-01-01T00:00:00Z&pageSize=50", None),
    ("get_loyalty_card_points", (2, "CARD-0001"), {"status": "pending"},
     "/v1/loyalty_programs/2/cards/CARD-0001/points?status=pending", None),
    ("get_loyalty_program_profile_points", (1, "c1"), {"status": "expired", "skip": 50},
     "/v1/loyalty_programs/1/profile/c1/points?status=expired&skip=50", None),
    ("link_loyalty_card_to_profile", (2, "CARD-0001", {"integrationId": "c1"}), {},
     "/v2/loyalty_programs/2/cards/CARD-0001/link_profile", {"integrationId": "c1"}),
    ("sync_catalog", (1, {"actions": [{"type": "ADD", "payload": {"sku": "A", "price": 1}}]}), {},
     "/v1/catalogs/1/sync", {"actions": [{"type": "ADD", "payload": {"sku": "A", "price": 1}}]}),
]  # fmt: skip


def test_calls_cover_all_28_operations(contract: Contract) -> None:
    assert sorted(c[0] for c in CALLS) == sorted(
        contract.operation(op).python_name for op in REFERENCE_OPERATIONS
    )


@pytest.mark.parametrize(("name", "args", "kwargs", "target", "body"), CALLS, ids=[c[0] for c in CALLS])
def test_every_operation_sends_the_right_request(
    client: IntegrationClient, fresh: ScriptedServer, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
    target: str, body: Any,
) -> None:  # fmt: skip
    op = client.contract.operation(name)
    success = int(next(s for s in op.statuses if s.startswith("2")))
    fresh.push(success, {"ok": True} if success != 204 else None)
    result = getattr(client, name)(*args, **kwargs)
    assert isinstance(result, ApiResponse)
    assert (result.status, result.operation_id, result.attempts) == (success, op.operation_id, 1)
    assert result.elapsed > 0
    [sent] = fresh.requests
    assert (sent.method, sent.path) == (op.method, target)
    assert sent.headers["authorization"] == f"ApiKey-v1 {KEY}"
    assert sent.headers["accept"] == "application/json"
    if body is None:
        assert sent.body == b""
        assert "content-type" not in sent.headers
    else:
        assert sent.headers["content-type"] == "application/json"
        assert sent.json() == body
    assert result.data == ({"ok": True} if success != 204 else None)


def test_camel_case_keywords_and_positional_body(client: IntegrationClient, fresh: ScriptedServer) -> None:
    client.update_customer_session_v2(customerSessionId="s9", body=SESSION_BODY, dry=True)
    client.call("updateCustomerSessionV2", "s9", SESSION_BODY)
    assert [r.path for r in fresh.requests] == [
        "/v2/customer_sessions/s9?dry=true",
        "/v2/customer_sessions/s9",
    ]


def test_extra_headers_and_per_call_timeout(client: IntegrationClient, fresh: ScriptedServer) -> None:
    client.get_customer_session("s1", _headers={"X-Request-Id": "r-1"}, _timeout=2)
    assert fresh.requests[0].headers["x-request-id"] == "r-1"
    fresh.push(200, {}, delay=0.3)
    with pytest.raises(requests.ReadTimeout):  # the client's own timeout is 5 s
        client.create_audience_v2({"name": "x"}, _timeout=0.05)


def test_methods_are_discoverable(client: IntegrationClient) -> None:
    assert "get_loyalty_card_transactions" in dir(client)
    assert len(client.operations) == 28
    method = client.get_loyalty_card_transactions
    params = inspect.signature(method).parameters
    assert list(params)[:2] == ["loyalty_program_id", "loyalty_card_id"]
    assert params["page_size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "GET /v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/transactions" in (
        method.__doc__ or ""
    )
    assert "default 1000" in (method.__doc__ or "")
    with pytest.raises(AttributeError, match="did you mean get_customer_session"):
        client.get_customer_sesion  # noqa: B018


# --------------------------------------------------------------------------- errors


def test_non_2xx_raises_api_error_with_the_parsed_body(
    client: IntegrationClient, fresh: ScriptedServer
) -> None:
    fresh.push(
        400,
        {
            "message": "Invalid request",
            "errors": [{"title": "unknown attribute", "source": {"pointer": "/attributes/Foo"}}],
        },
    )
    with pytest.raises(ApiError) as info:
        client.update_customer_session_v2("s1", {"customerSession": {"attributes": {"Foo": 1}}})
    error = info.value
    assert isinstance(error, requests.HTTPError)
    assert (error.status, error.operation_id, error.message) == (
        400,
        "updateCustomerSessionV2",
        "Invalid request",
    )
    assert error.errors[0]["source"]["pointer"] == "/attributes/Foo"
    assert error.response is not None and error.response.status_code == 400
    assert (
        str(error)
        == "updateCustomerSessionV2: 400 Bad Request: Invalid request (/attributes/Foo: unknown attribute)"
    )
    assert error.api_response.attempts == 1  # 400 is never retried


def test_non_json_error_body(client: IntegrationClient, fresh: ScriptedServer) -> None:
    fresh.push(502, b"<html>bad gateway</html>", content_type="text/html")
    with pytest.raises(ApiError) as info:
        client.create_audience_v2({"name": "x"})  # POST: a 502 is not retried
    assert info.value.body == "<html>bad gateway</html>"
    assert "bad gateway" in str(info.value)
    assert len(fresh.requests) == 1


# --------------------------------------------------------------------------- retries


def test_idempotent_calls_are_retried_with_backoff(
    client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep
) -> None:
    fresh.push(503, {"message": "busy"})
    fresh.push(409, {})
    fresh.push(200, {"effects": []})
    result = client.reopen_customer_session("s1")
    assert (result.status, result.attempts) == (200, 3)
    assert len(fresh.requests) == 3
    assert len(sleep.calls) == 2
    assert 0.45 <= sleep.calls[0] <= 0.55 and 0.9 <= sleep.calls[1] <= 1.1


def test_retry_after_is_honoured_even_for_post_on_429(
    client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep
) -> None:
    fresh.push(429, {"message": "slow down"}, headers={"Retry-After": "7"})
    fresh.push(201, {"ok": 1})
    assert client.create_audience_v2({"name": "VIP"}).status == 201
    assert sleep.calls == [7.0]


def test_retry_after_as_http_date(client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep) -> None:
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    fresh.push(503, {}, headers={"Retry-After": when})
    fresh.push(200, {})
    client.get_customer_session("s1")
    assert 25 <= sleep.calls[0] <= 31


def test_retry_after_beyond_the_cap_gives_up(
    client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep
) -> None:
    fresh.push(429, {"message": "come back tomorrow"}, headers={"Retry-After": "86400"})
    with pytest.raises(ApiError) as info:
        client.get_customer_session("s1")
    assert info.value.status == 429
    assert sleep.calls == []


def test_non_idempotent_calls_are_not_retried_on_5xx(
    client: IntegrationClient, fresh: ScriptedServer
) -> None:
    fresh.push(503, {})
    with pytest.raises(ApiError):
        client.track_event_v2({"type": "pageViewed", "profileId": "c1"})
    assert len(fresh.requests) == 1


def test_retries_run_out(client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep) -> None:
    fresh.default = fresh.default.__class__(503, {"message": "down"})
    try:
        with pytest.raises(ApiError) as info:
            client.get_customer_session("s1")
    finally:
        fresh.default = fresh.default.__class__(200, {})
    assert info.value.api_response.attempts == 4
    assert len(sleep.calls) == 3


def test_timeouts_are_explicit_and_retried(
    fresh: ScriptedServer, sleep: FakeSleep, contract: Contract
) -> None:
    fresh.push(200, {}, delay=0.5)
    fresh.push(200, {}, delay=0.5)
    client = IntegrationClient(
        fresh.url, KEY, contract=contract, timeout=0.1, retries=RetryPolicy(retries=1, sleep=sleep)
    )
    with pytest.raises(requests.Timeout):
        client.get_customer_session("s1")
    assert len(fresh.requests) == 2 and len(sleep.calls) == 1


def test_refused_connection(sleep: FakeSleep, contract: Contract) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    client = IntegrationClient(
        f"http://127.0.0.1:{port}", KEY, contract=contract, retries=RetryPolicy(retries=2, sleep=sleep)
    )
    with pytest.raises(requests.ConnectionError):
        client.get_customer_session("s1")
    assert len(sleep.calls) == 2


def test_retries_disabled(fresh: ScriptedServer, contract: Contract) -> None:
    fresh.push(503, {})
    client = IntegrationClient(fresh.url, KEY, contract=contract, retries=0)
    with pytest.raises(ApiError):
        client.get_customer_session("s1")
    assert len(fresh.requests) == 1


# --------------------------------------------------------------------------- validation modes


def test_strict_mode_refuses_to_send_an_invalid_request(fresh: ScriptedServer, contract: Contract) -> None:
    client = IntegrationClient(fresh.url, KEY, contract=contract, validate="strict")
    with pytest.raises(ContractViolationError) as info:
        client.track_event_v2({"type": "pageViewed"}, silent="maybe")
    assert sorted(v.where for v in info.value.violations) == ["body/profileId", "query/silent"]
    assert fresh.requests == []


def test_strict_mode_checks_responses(fresh: ScriptedServer, contract: Contract) -> None:
    client = IntegrationClient(fresh.url, KEY, contract=contract, validate="strict", retries=0)
    fresh.push(200, {"effects": [], "createdCoupons": []})
    with pytest.raises(ContractViolationError) as info:
        client.update_customer_session_v2("s1", SESSION_BODY)
    [violation] = info.value.violations
    assert (violation.where, violation.keyword, violation.status) == (
        "body/createdReferrals",
        "required",
        200,
    )
    assert isinstance(info.value.response, ApiResponse)
    fresh.push(500, {"message": "boom"})
    with pytest.raises(ApiError) as error:  # non-2xx answers are ApiErrors in every mode ...
        client.get_customer_session("s1")
    # ... carrying what the answer breaks
    assert [(v.keyword, v.actual) for v in error.value.violations] == [("status", 500)]
    assert "1 contract violation(s)" in str(error.value)
    fresh.push(204)
    assert client.track_event_v2({"type": "pageViewed", "profileId": "c1"}).data is None


def test_warn_mode_warns_and_returns(fresh: ScriptedServer, contract: Contract) -> None:
    client = IntegrationClient(fresh.url, KEY, contract=contract, validate="warn")
    fresh.push(200, {"customerSession": {"id": "not-an-int"}})
    with pytest.warns(ContractViolationWarning) as record:
        result = client.get_customer_session("s1")
    assert result.status == 200
    assert any("body/customerSession/id" in str(w.message) for w in record)


def test_observers_see_every_response(fresh: ScriptedServer, contract: Contract) -> None:
    seen: list[tuple[str, int]] = []
    client = IntegrationClient(
        fresh.url, KEY, contract=contract, observers=[lambda r: seen.append((r.operation_id, r.status))]
    )
    fresh.push(404, {"message": "no such session"})
    with pytest.raises(ApiError):
        client.get_customer_session("s1")
    client.get_customer_session("s2")
    assert seen == [("getCustomerSession", 404), ("getCustomerSession", 200)]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.get_customer_session("s1", dryy=True), "unexpected argument 'dryy'"),
        (lambda c: c.update_customer_session_v2("s1", SESSION_BODY, dri=True), "did you mean 'dry'?"),
        (lambda c: c.get_loyalty_balances("1", "c1"), "loyalty_program_id must be an integer, got str '1'"),
        (lambda c: c.get_loyalty_balances(True, "c1"), "loyalty_program_id must be an integer, got bool"),
        (lambda c: c.update_customer_session_v2("s1"), "missing required body"),
        (
            lambda c: c.update_customer_session_v2(body=SESSION_BODY),
            "missing required path parameter 'customer_session_id'",
        ),
        (
            lambda c: c.get_customer_session("s1", "extra"),
            "takes 1 positional argument(s) (customer_session_id), got 2",
        ),
        (lambda c: c.get_customer_session("s1", customer_session_id="s2"), "given twice"),
        (lambda c: c.update_customer_session_v2("s1", [1, 2]), "body must be a JSON object"),
        (lambda c: c.update_customer_session_v2("s1", {"x": object()}), "not JSON-serialisable"),
        (lambda c: c.update_customer_session_v2("s1", SESSION_BODY, dry="yes"), "dry must be a boolean"),
        (
            lambda c: c.update_customer_session_v2("s1", SESSION_BODY, now=dt.datetime(2030, 1, 1)),
            "timezone-aware",
        ),
        (lambda c: c.get_loyalty_card_balances(2, "C", subledger_id="a,b"), "subledger_id must be a list"),
        (lambda c: c.get_customer_session(""), "must not be empty"),
    ],
)
def test_bad_arguments_fail_before_sending(
    client: IntegrationClient, fresh: ScriptedServer, call: Any, message: str
) -> None:
    with pytest.raises(ArgumentError) as info:
        call(client)
    assert message in str(info.value)
    assert isinstance(info.value, TypeError)
    assert fresh.requests == []


def test_raw_bytes_body_is_sent_as_is(client: IntegrationClient, fresh: ScriptedServer) -> None:
    client.create_audience_v2(b'{"name": ')  # deliberately malformed, for negative tests
    assert fresh.requests[0].body == b'{"name": '


def test_constructor_validates_its_options(contract: Contract) -> None:
    with pytest.raises(ValueError, match="validate must be one of"):
        IntegrationClient("http://x", KEY, contract=contract, validate="loud")
    with pytest.raises(ValueError, match="http"):
        IntegrationClient("localhost:9000", KEY, contract=contract)


def test_json_default_serialises_dates(client: IntegrationClient, fresh: ScriptedServer) -> None:
    body = {"name": "x", "lastUpdate": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)}
    client.create_audience_v2(body)
    assert json.loads(fresh.requests[0].body)["lastUpdate"] == "2026-01-02T03:04:05Z"


def test_strict_mode_flags_a_non_json_body_on_a_json_operation(
    fresh: ScriptedServer, contract: Contract
) -> None:
    client = IntegrationClient(fresh.url, KEY, contract=contract, validate="strict", retries=0)
    fresh.push(200, b"<html>maintenance</html>", content_type="text/html")
    with pytest.raises(ContractViolationError) as info:
        client.get_customer_session("s1")
    assert [(v.where, v.keyword) for v in info.value.violations] == [("content-type", "mediaType")]


@pytest.mark.parametrize(("name", "args", "kwargs", "target", "body"), CALLS, ids=[c[0] for c in CALLS])
def test_every_operation_in_strict_mode(
    fresh: ScriptedServer, contract: Contract, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
    target: str, body: Any,
) -> None:  # fmt: skip
    """What the client sends, its own strict validator accepts; valid answers pass."""
    op = contract.operation(name)
    status, answer = success(op.operation_id)
    fresh.push(status, answer)
    # behind a gateway that adds a path prefix
    client = IntegrationClient(
        fresh.url + "/gateway/talon", KEY, contract=contract, validate="strict", retries=0
    )
    result = getattr(client, name)(*args, **kwargs)
    assert (result.status, result.data) == (status, answer)
    assert fresh.requests[0].path == "/gateway/talon" + target


def test_dates_for_date_filters(fresh: ScriptedServer, contract: Contract) -> None:
    status, answer = success("getLoyaltyProgramProfileTransactions")
    fresh.push(status, answer)
    client = IntegrationClient(fresh.url, KEY, contract=contract, validate="strict")
    client.get_loyalty_program_profile_transactions(1, "c1", start_date=dt.date(2026, 1, 1), end_date=NOW)
    assert fresh.requests[0].path.endswith("?startDate=2026-01-01&endDate=2030-01-01T00:00:00Z")


def test_the_api_key_never_shows(fresh: ScriptedServer, contract: Contract) -> None:
    secret = "0123456789abcdef0123456789abcdef01234567"
    client = IntegrationClient(fresh.url, secret + "\n", contract=contract, retries=0)  # read from a file
    fresh.push(404, {"message": "no such session"})
    with pytest.raises(ApiError) as info:
        client.get_customer_session("s1")
    assert fresh.requests[0].headers["authorization"] == f"ApiKey-v1 {secret}"
    shown = [repr(info.value.api_response), repr(info.value.api_response.request), str(info.value)]
    assert all(secret not in text for text in shown)
    assert "authorization: <redacted>" in shown[1]
    with pytest.raises(ValueError) as bad:
        IntegrationClient(fresh.url, "abc def", contract=contract)
    assert "abc" not in str(bad.value)


def test_post_read_timeout_is_not_retried(
    fresh: ScriptedServer, sleep: FakeSleep, contract: Contract
) -> None:
    fresh.push(201, {}, delay=0.3)
    client = IntegrationClient(
        fresh.url, KEY, contract=contract, timeout=0.05, retries=RetryPolicy(retries=2, sleep=sleep)
    )
    with pytest.raises(requests.ReadTimeout):
        client.create_audience_v2({"name": "x"})  # the server may have created it: do not send twice
    assert len(fresh.requests) == 1 and sleep.calls == []


def test_post_refused_connection_is_retried(sleep: FakeSleep, contract: Contract) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = IntegrationClient(
        f"http://127.0.0.1:{port}", KEY, contract=contract, retries=RetryPolicy(retries=2, sleep=sleep)
    )
    with pytest.raises(requests.ConnectionError):
        client.create_audience_v2({"name": "x"})  # never reached a server: safe to retry
    assert len(sleep.calls) == 2


@pytest.mark.parametrize(("name", "args", "kwargs", "target", "body"), CALLS, ids=[c[0] for c in CALLS])
def test_every_operation_maps_errors_and_retries_by_method(
    client: IntegrationClient, fresh: ScriptedServer, sleep: FakeSleep, name: str, args: tuple[Any, ...],
    kwargs: dict[str, Any], target: str, body: Any,
) -> None:  # fmt: skip
    op = client.contract.operation(name)
    error_status = int(next(s for s in op.statuses if s.startswith("4") and s != "401"))
    fresh.push(error_status, {"message": "nope", "errors": [{"title": "bad", "source": {"parameter": "x"}}]})
    with pytest.raises(ApiError) as info:
        getattr(client, name)(*args, **kwargs)
    assert (info.value.status, info.value.operation_id, info.value.message) == (
        error_status,
        op.operation_id,
        "nope",
    )
    assert info.value.errors == [{"title": "bad", "source": {"parameter": "x"}}]

    status, answer = success(op.operation_id)
    fresh.push(503, {"message": "busy"})
    fresh.push(status, answer)
    if op.method == "POST":  # not idempotent: a 503 is final
        with pytest.raises(ApiError):
            getattr(client, name)(*args, **kwargs)
        fresh._queue.clear()
        assert sleep.calls == []
    else:
        assert getattr(client, name)(*args, **kwargs).attempts == 2
        assert len(sleep.calls) == 1
