from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts.client import IntegrationClient
from contracts.sandbox import Sandbox
from tests.contracts.sandbox.conftest import BEANS, CUPS, FROTHER, effect_types, fails, session


def snapshot(sandbox: Sandbox) -> dict[str, list[tuple[Any, ...]]]:
    db = sandbox.store.conn
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: [tuple(r) for r in db.execute(f"SELECT * FROM {t}")] for t in tables}


def test_upsert_creates_then_updates(api: IntegrationClient) -> None:
    first = session(api, "s1", items=[BEANS], wanted=("customerSession", "customerProfile", "event"))
    created = first["customerSession"]
    assert created["integrationId"] == "s1" and created["state"] == "open"
    assert created["cartItems"][0]["price"] == 24.9  # from the catalog
    assert created["cartItems"][0]["position"] == 0 and created["cartItems"][0]["remainingQuantity"] == 2
    assert created["total"] == created["cartItemTotal"] == 49.8
    assert created["firstSession"] is True
    assert first["customerProfile"]["integrationId"] == "cust-1"  # the profile sprang into existence
    assert first["event"]["type"] == "talon_session_created"
    second = session(api, "s1", items=[BEANS, CUPS], wanted=("customerSession", "event"))
    assert second["customerSession"]["id"] == created["id"]
    assert second["customerSession"]["cartItemTotal"] == 79.8
    assert second["event"]["type"] == "talon_session_updated"


def test_omitted_fields_keep_their_values_and_empty_arrays_clear(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"], referralCode="NOPE-0000",
            attributes={"PaymentMethod": "card"}, additionalCosts={"shipping": {"price": 4.95}})  # fmt: skip
    body = {"customerSession": {"attributes": {"Channel": "app"}}, "responseContent": ["customerSession"]}
    kept = api.update_customer_session_v2("s1", body).data["customerSession"]
    assert kept["couponCodes"] == ["WELCOME10"] and kept["referralCode"] == "NOPE-0000"
    assert kept["attributes"] == {"PaymentMethod": "card", "Channel": "app"}
    assert kept["total"] == 49.8 + 4.95 and kept["additionalCostTotal"] == 4.95
    body = {
        "customerSession": {"couponCodes": [], "referralCode": ""},
        "responseContent": ["customerSession"],
    }
    cleared = api.update_customer_session_v2("s1", body).data["customerSession"]
    assert cleared["couponCodes"] == [] and "referralCode" not in cleared


def test_state_machine(api: IntegrationClient, raw: IntegrationClient) -> None:
    session(api, "a", items=[BEANS])
    assert (
        session(api, "a", items=[BEANS], state="closed", wanted=("event",))["event"]["type"]
        == "talon_session_closed"
    )
    fails(lambda: session(api, "a", items=[BEANS], state="open"), 400)  # closed -> open only by reopening
    reopened = api.reopen_customer_session("a").data
    assert "rollbackCoupon" not in effect_types(reopened["effects"])
    session(api, "a", items=[BEANS], state="closed")
    assert (
        session(api, "a", items=[BEANS], state="cancelled", wanted=("event",))["event"]["type"]
        == "talon_session_revoked"
    )
    for state in ("open", "closed", "cancelled", "partially_returned"):
        fails(lambda state=state: session(api, "a", items=[BEANS], state=state), 400)  # cancelled is terminal
    session(api, "b", items=[BEANS])
    assert session(api, "b", state="cancelled", items=[BEANS])["effects"] == []  # nothing had been committed
    fails(lambda: session(api, "c", state="cancelled"), 400)  # a new session is open or closed
    session(api, "d", items=[BEANS])
    fails(lambda: session(api, "d", items=[BEANS], state="partially_returned"), 400)
    fails(lambda: api.reopen_customer_session("d"), 400)  # only closed sessions reopen
    fails(lambda: api.return_cart_items("d", {"return": {"returnedCartItems": [{"position": 0}]}}), 400)
    error = fails(lambda: session(raw, "d", items=[BEANS], state="bogus"), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/state"


def test_a_session_can_be_born_closed(api: IntegrationClient) -> None:
    state = session(api, "legacy", items=[BEANS], state="closed", wanted=("customerProfile",))
    assert state["customerProfile"]["closedSessions"] == 1
    assert state["customerProfile"]["totalSales"] == 49.8


def test_closing_counts_and_cancelling_uncounts(api: IntegrationClient) -> None:
    session(
        api,
        "s1",
        items=[BEANS, {"sku": "SKU-CUP-BLACK", "quantity": 1}],
        additionalCosts={"shipping": {"price": 5}},
    )
    closed = session(api, "s1", items=[BEANS, {"sku": "SKU-CUP-BLACK", "quantity": 1}],
                     additionalCosts={"shipping": {"price": 5}}, state="closed", wanted=("customerProfile",))  # fmt: skip
    assert closed["customerProfile"]["closedSessions"] == 1
    assert closed["customerProfile"]["totalSales"] == 49.8 + 7.5 + 5  # before discounts
    cancelled = api.update_customer_session_v2(
        "s1", {"customerSession": {"state": "cancelled"}, "responseContent": ["customerProfile"]}
    ).data
    assert cancelled["customerProfile"]["closedSessions"] == 0
    assert cancelled["customerProfile"]["totalSales"] == 0


def test_retried_close_is_a_no_op(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"])
    first = session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"], state="closed")
    again = session(
        api, "s1", items=[BEANS], couponCodes=["WELCOME10"], state="closed", wanted=("customerProfile",)
    )
    assert again["effects"] == first["effects"]
    assert again["customerProfile"]["closedSessions"] == 1
    fails(lambda: session(api, "s1", items=[CUPS], state="closed"), 400)  # a closed cart is read-only


def test_dry_changes_nothing(api: IntegrationClient, sandbox: Sandbox) -> None:
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"])
    before = snapshot(sandbox)
    body = {"customerSession": {"profileId": "new-person", "cartItems": [BEANS], "couponCodes": ["WELCOME10"],
                                "state": "closed"}, "responseContent": ["customerSession", "customerProfile"]}  # fmt: skip
    dry = api.update_customer_session_v2("s1", body, dry=True).data
    assert dry["customerSession"]["state"] == "closed"
    assert "acceptCoupon" in effect_types(dry["effects"])
    new = api.update_customer_session_v2("dry-only", body, dry=True).data
    assert new["customerProfile"]["integrationId"] == "new-person"
    api.track_event_v2({"type": "pageViewed", "profileId": "cust-1"}, dry=True)
    assert snapshot(sandbox) == before
    fails(lambda: api.get_customer_session("dry-only"), 404)


def test_dry_close_evaluates_only_the_payload(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"])
    body = {"customerSession": {"profileId": "cust-1", "cartItems": [CUPS], "state": "closed"},
            "responseContent": ["customerSession"]}  # fmt: skip
    dry = api.update_customer_session_v2("s1", body, dry=True).data
    assert dry["customerSession"]["couponCodes"] == []  # the stored coupon is not part of the payload
    assert "acceptCoupon" not in effect_types(dry["effects"])


def test_now_needs_dry_and_the_future(api: IntegrationClient) -> None:
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    body = {"customerSession": {"profileId": "cust-1", "cartItems": [BEANS]}}
    error = fails(
        lambda: api.update_customer_session_v2("s1", body, now=future), 400
    )  # a valid request, a 400
    assert error.errors[0]["source"] == {"parameter": "now"}
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    fails(lambda: api.update_customer_session_v2("s1", body, dry=True, now=past), 400)
    # evaluated as if it were 3 years from now: the welcome coupon's campaign still runs, points start later
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3 * 365)
    ok = api.update_customer_session_v2("s1", {"customerSession": {**body["customerSession"], "couponCodes": ["WELCOME10"]}},
                                        dry=True, now=later).data  # fmt: skip
    assert "acceptCoupon" in effect_types(ok["effects"])


def test_anonymous_sessions(api: IntegrationClient) -> None:
    state = session(
        api, "anon", profile="", items=[BEANS], couponCodes=["FIVE-ONCE"], wanted=("customerSession",)
    )
    assert state["customerSession"]["profileId"] == "" and state["customerSession"]["firstSession"] is True
    assert "addLoyaltyPoints" not in effect_types(state["effects"])  # nobody to give points to
    reject = next(e for e in state["effects"] if e["effectType"] == "rejectCoupon")
    assert reject["props"]["rejectionReason"] == "ProfileRequired"


def test_first_session_flag(api: IntegrationClient) -> None:
    assert session(api, "s1", wanted=("customerSession",))["customerSession"]["firstSession"] is True
    assert session(api, "s2", wanted=("customerSession",))["customerSession"]["firstSession"] is False


def test_cart_items_limits_and_prices(api: IntegrationClient, raw: IntegrationClient) -> None:
    too_many = [{"sku": "SKU-CUP-WHITE", "quantity": 5000}, {"sku": "SKU-CUP-BLACK", "quantity": 5001}]
    error = fails(lambda: session(api, "s1", items=too_many), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/cartItems"
    error = fails(lambda: session(api, "s1", items=[{"sku": "NOT-IN-CATALOG", "quantity": 1}]), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/cartItems/0/price"
    priced = session(api, "s1", items=[{"sku": "NOT-IN-CATALOG", "quantity": 1, "price": 3}, {**BEANS, "price": 20}],
                     wanted=("customerSession",))  # fmt: skip
    assert priced["customerSession"]["cartItemTotal"] == 43  # a session price overrides the catalog's
    error = fails(lambda: session(raw, "s1", items=[{"sku": "X", "quantity": 0, "price": 1}]), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/cartItems/0/quantity"


def test_attributes_must_be_defined(api: IntegrationClient) -> None:
    error = fails(lambda: session(api, "s1", attributes={"Shoesize": 42, "PaymentMethod": 7}), 400)
    assert {e["source"]["pointer"] for e in error.errors} == {
        "/customerSession/attributes/Shoesize",
        "/customerSession/attributes/PaymentMethod",
    }
    assert "unknown session attribute 'Shoesize'" in error.errors[0]["title"]
    error = fails(lambda: session(api, "s1", items=[{**CUPS, "attributes": {"size": "XL"}}]), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/cartItems/0/attributes/size"
    error = fails(lambda: session(api, "s1", additionalCosts={"insurance": {"price": 2}}), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/additionalCosts/insurance"
    error = fails(lambda: session(api, "s1", loyaltyCards=["CARD-9999"]), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerSession/loyaltyCards/0"


@pytest.mark.parametrize(
    ("part", "key"),
    [("customerSession", "customerSession"), ("customerProfile", "customerProfile"), ("coupons", "coupons"),
     ("triggeredCampaigns", "triggeredCampaigns"), ("referral", "referral"), ("loyalty", "loyalty"), ("event", "event"),
     ("awardedGiveaways", "awardedGiveaways"), ("ruleFailureReasons", "ruleFailureReasons"),
     ("previousReturns", "previousReturns")],
)  # fmt: skip
def test_response_content_returns_complete_objects(api: IntegrationClient, part: str, key: str) -> None:
    code = api.create_referral({"campaignId": 3, "advocateProfileIntegrationId": "seed-alice"}).data["code"]
    state = session(api, "s1", items=[BEANS, FROTHER], couponCodes=["WELCOME10"], referralCode=code,
                    loyaltyCards=["CARD-0002"], wanted=(part,))  # fmt: skip
    assert key in state  # and the strict client checked it against the vendor schema
    assert set(state) == {"effects", "createdCoupons", "createdReferrals", key}


def test_get_session(api: IntegrationClient) -> None:
    fails(lambda: api.get_customer_session("nope"), 404)
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"])
    got = api.get_customer_session("s1").data
    assert got["customerSession"]["integrationId"] == "s1"
    assert "acceptCoupon" in effect_types(got["effects"])
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"], state="closed")
    session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"], state="cancelled")
    assert api.get_customer_session("s1").data["effects"] == []  # net view: cancelled away


def test_returns_and_reopen(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS, CUPS], state="closed")
    fails(lambda: api.return_cart_items("nope", {"return": {"returnedCartItems": [{"position": 0}]}}), 404)
    error = fails(
        lambda: api.return_cart_items("s1", {"return": {"returnedCartItems": [{"position": 7}]}}), 400
    )
    assert error.errors[0]["source"]["pointer"] == "/return/returnedCartItems/0/position"
    error = fails(
        lambda: api.return_cart_items(
            "s1", {"return": {"returnedCartItems": [{"position": 1, "quantity": 5}]}}
        ),
        400,
    )
    assert error.errors[0]["source"]["pointer"] == "/return/returnedCartItems/0/quantity"
    first = api.return_cart_items(
        "s1", {"return": {"returnedCartItems": [{"position": 1, "quantity": 1}]},
               "responseContent": ["customerSession", "previousReturns", "customerProfile"]},
    ).data  # fmt: skip
    assert first["customerSession"]["state"] == "partially_returned"
    assert first["customerSession"]["cartItems"][1]["returnedQuantity"] == 1
    assert first["return"]["returnedCartItems"] == [{"position": 1, "quantity": 1}]
    assert [r["id"] for r in first["previousReturns"]] == [first["return"]["id"]]
    rollback = next(e for e in first["effects"] if e["effectType"] == "rollbackDiscount")
    assert rollback["props"] == {
        "name": "20% off cups",
        "value": 1.5,
        "cartItemPosition": 1,
        "scope": "price",
    }
    assert first["customerProfile"]["totalSales"] == 79.8 - 7.5
    second = api.return_cart_items(
        "s1", {"return": {"returnedCartItems": [{"position": 0}]}}
    ).data  # all that is left
    points = next(e for e in second["effects"] if e["effectType"] == "rollbackAddedLoyaltyPoints")
    assert points["props"]["value"] == 20 and points["props"]["cartItemPosition"] == 0
    reopened = api.reopen_customer_session("s1").data  # a partially returned session reopens too
    assert "rollbackDiscount" in effect_types(reopened["effects"])
    assert api.get_customer_session("s1").data["customerSession"]["state"] == "open"


def _points(api: IntegrationClient, profile: str = "cust-1") -> tuple[float, float]:
    balances = api.get_loyalty_balances(1, profile).data
    return balances["balance"]["activePoints"], balances["subledgerBalances"].get("beans", {}).get(
        "pendingPoints", 0
    )


def test_reopen_close_again_then_cancel_counts_points_once(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS], state="closed")
    assert _points(api) == (49, 20)
    api.reopen_customer_session("s1")
    assert _points(api) == (49, 0)  # active points stay, pending ones go
    session(api, "s1", items=[BEANS], state="closed")
    assert _points(api) == (49, 20)  # the 49 that stayed are not booked twice
    cancelled = session(api, "s1", items=[BEANS], state="cancelled", wanted=("customerProfile",))
    assert _points(api) == (0, 0)
    assert (cancelled["customerProfile"]["closedSessions"], cancelled["customerProfile"]["totalSales"]) == (
        0,
        0,
    )


def test_closing_again_after_a_return_sees_what_was_kept(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS, CUPS], state="closed")
    api.return_cart_items(
        "s1",
        {"return": {"returnedCartItems": [{"position": 0, "quantity": 1}, {"position": 1, "quantity": 3}]}},
    )
    api.reopen_customer_session("s1")
    again = api.update_customer_session_v2(
        "s1",
        {"customerSession": {"state": "closed"}, "responseContent": ["customerProfile", "customerSession"]},
    ).data
    assert again["customerProfile"]["totalSales"] == 24.9 + 7.5  # one bag and one cup are kept
    cups = next(e for e in again["effects"] if e["effectType"] == "setDiscountPerItem")
    assert cups["props"]["value"] == 1.5  # 20% of the one cup left
    assert again["customerSession"]["cartItems"][1]["remainingQuantity"] == 1
    assert _points(api) == (79, 10)  # the 79 of the first close stayed (more than now due); beans for one bag


def test_a_cancel_ignores_content_sent_with_it(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS], state="closed")
    cancelled = session(api, "s1", items=[{**BEANS, "quantity": 10}], couponCodes=["WELCOME10"], state="cancelled",
                        wanted=("customerSession", "customerProfile"))  # fmt: skip
    assert cancelled["customerSession"]["cartItems"][0]["quantity"] == 2
    assert cancelled["customerSession"]["couponCodes"] == []
    assert cancelled["customerProfile"]["totalSales"] == 0


def test_server_computed_cart_fields_are_not_taken_from_the_client(
    api: IntegrationClient, raw: IntegrationClient
) -> None:
    state = session(
        raw, "s1", items=[{**BEANS, "returnedQuantity": 5, "position": 9}], wanted=("customerSession",)
    )
    item = state["customerSession"]["cartItems"][0]
    assert (item["position"], item["returnedQuantity"], item["remainingQuantity"]) == (0, 0, 2)


def test_get_session_shows_the_net_effects_after_a_return(api: IntegrationClient) -> None:
    session(api, "s1", items=[BEANS, CUPS], couponCodes=["WELCOME10"], state="closed")
    before = {e["effectType"]: e["props"] for e in api.get_customer_session("s1").data["effects"]}
    assert before["setDiscountPerItem"]["value"] == 6.0
    api.return_cart_items("s1", {"return": {"returnedCartItems": [{"position": 1, "quantity": 1}]}})
    after = {e["effectType"]: e["props"] for e in api.get_customer_session("s1").data["effects"]}
    assert after["setDiscountPerItem"]["value"] == 4.5  # a quarter of the cups' discount went back
    assert after["acceptCoupon"] == before["acceptCoupon"] and after["setDiscount"] == before["setDiscount"]
    assert not any(kind.startswith("rollback") for kind in after)


def test_dry_returns_and_dry_profile_rules_change_nothing(api: IntegrationClient, sandbox: Sandbox) -> None:
    session(api, "s1", items=[BEANS, CUPS], state="closed")
    before = snapshot(sandbox)
    dry_return = api.return_cart_items(
        "s1", {"return": {"returnedCartItems": [{"position": 1}]}}, dry=True
    ).data
    assert dry_return["return"]["returnedCartItems"] == [{"position": 1, "quantity": 4}]
    api.update_customer_profile_v2(
        "cust-1", {"attributes": {"Language": "de"}}, run_rule_engine=True, dry=True
    )
    assert snapshot(sandbox) == before
