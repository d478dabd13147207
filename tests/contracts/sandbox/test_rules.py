"""The seed's campaign rules (contracts.sandbox.rules) through UpdateCustomerSessionV2 and TrackEventV2."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.client import IntegrationClient
from tests.contracts.sandbox.conftest import BEANS, CUPS, FROTHER, effect_types, fails, session


def _rejection(effects: list[dict[str, Any]], kind: str = "rejectCoupon") -> str:
    [effect] = [e for e in effects if e["effectType"] == kind]
    return str(effect["props"]["rejectionReason"])


def test_welcome_coupon_gives_ten_percent_of_the_session_total(api: IntegrationClient) -> None:
    state = session(
        api, "s1", items=[BEANS], couponCodes=["WELCOME10"], additionalCosts={"shipping": {"price": 5.2}}
    )
    accept, discount = state["effects"][:2]
    assert accept["effectType"] == "acceptCoupon" and accept["props"] == {"value": "WELCOME10"}
    assert discount["effectType"] == "setDiscount"
    assert discount["props"] == {"name": "10% off with coupon", "value": 5.5, "scope": "sessionTotal"}
    assert accept["triggeredByCoupon"] == discount["triggeredByCoupon"]
    assert (discount["campaignId"], discount["rulesetId"], discount["ruleIndex"]) == (1, 1001, 0)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("NO-SUCH-CODE", "CouponNotFound"),
        ("EXPIRED2020", "CouponExpired"),
        ("VIP-RESERVED", "CouponReservationRequired"),
        ("SUMMER2019", "CouponPartOfNotRunningCampaign"),
    ],
)
def test_coupon_rejections(api: IntegrationClient, code: str, reason: str) -> None:
    state = session(api, "s1", items=[BEANS], couponCodes=[code], wanted=("event",))
    assert _rejection(state["effects"]) == reason
    assert "setDiscount" not in [e["effectType"] for e in state["effects"] if e["campaignId"] in (1, 9)]
    meta = state["event"]["meta"]["couponRejectionReason"]
    assert meta["reason"] == reason


def test_reservation_makes_the_reserved_coupon_usable(api: IntegrationClient) -> None:
    api.create_coupon_reservation("VIP-RESERVED", {"integrationIDs": ["cust-1"]})
    state = session(api, "s1", items=[BEANS], couponCodes=["VIP-RESERVED"])
    assert "acceptCoupon" in effect_types(state["effects"])
    other = session(api, "s2", profile="cust-2", items=[BEANS], couponCodes=["VIP-RESERVED"])
    assert _rejection(other["effects"]) == "CouponReservationRequired"


def test_once_per_customer(api: IntegrationClient) -> None:
    first = session(api, "s1", items=[BEANS], couponCodes=["FIVE-ONCE"], state="closed")
    assert {"acceptCoupon", "setDiscount"} <= set(effect_types(first["effects"]))
    second = session(api, "s2", items=[BEANS], couponCodes=["FIVE-ONCE"])
    assert _rejection(second["effects"]) == "ProfileLimitReached"
    other = session(api, "s3", profile="cust-2", items=[BEANS], couponCodes=["FIVE-ONCE"])
    assert "acceptCoupon" in effect_types(other["effects"])
    # cancelling the first order gives the use back
    session(api, "s1", items=[BEANS], couponCodes=["FIVE-ONCE"], state="cancelled")
    again = session(api, "s2", items=[BEANS], couponCodes=["FIVE-ONCE"])
    assert "acceptCoupon" in effect_types(again["effects"])


def test_coupon_usage_limit(api: IntegrationClient) -> None:
    for i in range(2):
        session(api, f"s{i}", profile=f"p{i}", items=[BEANS], couponCodes=["WELCOME-LIMITED"], state="closed")
    third = session(api, "s3", profile="p3", items=[BEANS], couponCodes=["WELCOME-LIMITED"])
    assert _rejection(third["effects"]) == "CampaignLimitReached"


def test_coupon_rejected_by_condition(api: IntegrationClient) -> None:
    small = session(api, "s1", items=[{"sku": "SKU-CUP-BLACK", "quantity": 1}], couponCodes=["FIVE-ONCE"],
                    wanted=("ruleFailureReasons",))  # fmt: skip
    [reject] = [e for e in small["effects"] if e["effectType"] == "rejectCoupon"]
    assert reject["props"]["rejectionReason"] == "CouponRejectedByCondition"
    assert reject["props"]["conditionIndex"] == 1  # totalAtLeast 20
    failure = next(f for f in small["ruleFailureReasons"] if f["campaignID"] == 2)
    assert (failure["conditionIndex"], failure["couponValue"]) == (1, "FIVE-ONCE")


def test_referrals(api: IntegrationClient) -> None:
    code = api.create_referral(
        {"campaignId": 3, "advocateProfileIntegrationId": "seed-alice", "usageLimit": 1}
    ).data["code"]
    assert _rejection(session(api, "x", profile="seed-alice", items=[BEANS], referralCode=code)["effects"],
                      "rejectReferral") == "ReferralRecipientIdSameAsAdvocate"  # fmt: skip
    assert _rejection(
        session(api, "y", items=[BEANS], referralCode="REF-NONE-0000")["effects"], "rejectReferral"
    ) == ("ReferralNotFound")
    friend = session(
        api, "s1", profile="friend-1", items=[BEANS], referralCode=code, state="closed", wanted=("referral",)
    )
    types = effect_types(friend["effects"])
    assert "acceptReferral" in types
    advocate_points = [e for e in friend["effects"] if e["effectType"] == "addLoyaltyPoints"
                       and e["props"]["recipientIntegrationId"] == "seed-alice"]  # fmt: skip
    assert advocate_points[0]["props"]["value"] == 100
    assert friend["referral"]["usageCounter"] == 1 and friend["referral"]["referredCustomers"] == ["friend-1"]
    second = session(api, "s2", profile="friend-2", items=[BEANS], referralCode=code)
    assert _rejection(second["effects"], "rejectReferral") == "ReferralLimitReached"


def test_item_effects_and_free_items(api: IntegrationClient) -> None:
    state = session(api, "s1", items=[CUPS, FROTHER])
    per_item = next(e for e in state["effects"] if e["effectType"] == "setDiscountPerItem")
    assert per_item["props"] == {"name": "20% off cups", "value": 6.0, "position": 0, "scope": "price"}
    free = next(e for e in state["effects"] if e["effectType"] == "addFreeItem")
    assert free["props"] == {"sku": "SKU-SAMPLE-DECAF", "name": "Free decaf sample"}


def test_profile_attribute_condition(api: IntegrationClient) -> None:
    api.update_customer_profile_v2("de-1", {"attributes": {"Language": "de"}})
    german = session(api, "s1", profile="de-1", items=[BEANS])
    assert any(e["campaignId"] == 6 for e in german["effects"])
    other = session(api, "s2", profile="en-1", items=[BEANS])
    assert not any(e["campaignId"] == 6 for e in other["effects"])


def test_points_are_redeemed_for_a_discount(api: IntegrationClient) -> None:
    # seed-alice holds 500 imported points
    state = session(api, "s1", profile="seed-alice", items=[BEANS], attributes={"redeemPoints": True},
                    state="closed", wanted=("loyalty",))  # fmt: skip
    deduct = next(e for e in state["effects"] if e["effectType"] == "deductLoyaltyPoints")
    assert deduct["props"]["value"] == 100 and deduct["props"]["ruleTitle"] == "Redeem 100 points for 5 EUR"
    assert state["loyalty"]["programs"]["1"]["ledger"]["currentBalance"] == 500 - 100 + 49  # 1 point per euro
    poor = session(api, "s2", profile="nobody", items=[BEANS], attributes={"redeemPoints": True})
    assert "deductLoyaltyPoints" not in effect_types(poor["effects"])


def test_card_points(api: IntegrationClient) -> None:
    state = session(api, "s1", items=[BEANS], loyaltyCards=["CARD-0002"], state="closed", wanted=("loyalty",))
    points = next(
        e for e in state["effects"] if e["effectType"] == "addLoyaltyPoints" and e["props"]["programId"] == 2
    )
    assert points["props"]["cardIdentifier"] == "CARD-0002" and points["props"]["value"] == 98
    assert state["loyalty"]["cards"][0]["ledger"]["currentBalance"] == 98


def test_events_run_event_campaigns(api: IntegrationClient, raw: IntegrationClient) -> None:
    assert (
        api.track_event_v2({"type": "pageViewed", "profileId": "cust-1"}).status == 204
    )  # silent by default
    loud = api.track_event_v2(
        {"type": "pageViewed", "profileId": "cust-1", "attributes": {"url": "/beans"},
         "responseContent": ["customerProfile", "event", "loyalty", "triggeredCampaigns", "ruleFailureReasons",
                             "awardedGiveaways"]},
        silent="no",
    ).data  # fmt: skip
    assert effect_types(loud["effects"]) == ["addLoyaltyPoints"]
    assert loud["event"]["type"] == "pageViewed" and loud["event"]["attributes"] == {"url": "/beans"}
    assert loud["loyalty"]["programs"]["1"]["ledger"]["currentBalance"] == 2  # booked at once, twice
    assert [c["id"] for c in loud["triggeredCampaigns"]] == [8]
    other = api.track_event_v2({"type": "newsletterSignup", "profileId": "cust-1"}, silent="no").data
    assert other["effects"] == []
    for event, pointer in ((({"type": "madeUp", "profileId": "c"}), "/type"),
                           ({"type": "talon_session_created", "profileId": "c"}, "/type"),
                           ({"type": "pageViewed", "profileId": "c", "attributes": {"Foo": 1}}, "/attributes/Foo")):  # fmt: skip
        error = fails(lambda event=event: raw.track_event_v2(event, silent="no"), 400)
        assert error.errors[0]["source"]["pointer"] == pointer
    error = fails(lambda: raw.track_event_v2({"type": "pageViewed"}), 400)  # profileId is needed in practice
    assert error.errors[0]["source"]["pointer"] == "/profileId"


def test_discounts_never_exceed_the_total(api: IntegrationClient) -> None:
    code = api.create_referral({"campaignId": 3, "advocateProfileIntegrationId": "seed-alice"}).data["code"]
    small = [{"sku": "SKU-BEANS-250G", "quantity": 2}]  # 15.80
    state = session(api, "s1", profile="seed-bruno", items=small, couponCodes=["WELCOME10"], referralCode=code,
                    attributes={"redeemPoints": True})  # fmt: skip
    discounts = [e["props"] for e in state["effects"] if e["effectType"] == "setDiscount"]
    assert round(sum(d["value"] for d in discounts), 2) == 15.8
    capped = [d for d in discounts if "desiredValue" in d]
    assert capped and all(d["value"] < d["desiredValue"] for d in capped)
