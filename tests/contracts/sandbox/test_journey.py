"""A whole customer journey over a real socket, every answer checked against the contract."""

from __future__ import annotations

from contracts.client import IntegrationClient
from tests.contracts.sandbox.conftest import BEANS, CUPS, effect_types, fails


def test_customer_journey(api: IntegrationClient) -> None:
    # a profile, and a friend who refers her
    profile = api.update_customer_profile_v2(
        "jane", {"attributes": {"Name": "Jane", "Language": "en", "ShippingCountry": "GB"}}, run_rule_engine=True,
        _headers={"X-Journey": "1"},
    ).data["customerProfile"]  # fmt: skip
    assert profile["integrationId"] == "jane" and profile["closedSessions"] == 0
    code = api.create_referral({"campaignId": 3, "advocateProfileIntegrationId": "seed-bruno"}).data["code"]

    # a session with a coupon and the referral code, updated, then closed
    cart = {"profileId": "jane", "couponCodes": ["WELCOME10"], "referralCode": code, "cartItems": [BEANS, CUPS],
            "additionalCosts": {"shipping": {"price": 4.2}}}  # fmt: skip
    open_state = api.update_customer_session_v2(
        "order-1", {"customerSession": cart, "responseContent": ["loyalty"]}
    ).data
    assert {"acceptCoupon", "acceptReferral", "setDiscount", "setDiscountPerItem"} <= set(
        effect_types(open_state["effects"])
    )
    ledger = open_state["loyalty"]["programs"]["1"]["ledger"]
    assert (
        ledger["currentBalance"] == 0 and ledger["tentativeCurrentBalance"] == 84
    )  # 84 EUR -> 84 points, not yet booked
    closed = api.update_customer_session_v2(
        "order-1", {"customerSession": {**cart, "state": "closed"},
                    "responseContent": ["customerSession", "customerProfile", "coupons", "referral", "loyalty"]},
    ).data  # fmt: skip
    assert closed["customerSession"]["state"] == "closed"
    assert (
        closed["customerProfile"]["closedSessions"] == 1 and closed["customerProfile"]["totalSales"] == 84.0
    )
    assert closed["coupons"][0]["usageCounter"] == 1 and closed["coupons"][0]["profileRedemptionCount"] == 1
    assert closed["referral"]["usageCounter"] == 1

    # the points are in the ledgers: Jane's, and the advocate's referral bonus
    balances = api.get_loyalty_balances(1, "jane").data
    assert balances["balance"]["activePoints"] == 84
    assert balances["subledgerBalances"]["beans"]["pendingPoints"] == 20
    assert api.get_loyalty_balances(1, "seed-bruno").data["balance"]["activePoints"] == 120 + 20 + 100
    transactions = api.get_loyalty_program_profile_transactions(
        1, "jane", loyalty_transaction_type="session"
    ).data
    assert {t["customerSessionId"] for t in transactions["data"]} == {"order-1"}

    # a partial return: one bag of beans (its bean points and nothing else are rolled back)
    returned = api.return_cart_items(
        "order-1",
        {
            "return": {"returnedCartItems": [{"position": 0, "quantity": 1}]},
            "responseContent": ["customerProfile"],
        },
    ).data
    assert effect_types(returned["effects"]) == ["rollbackAddedLoyaltyPoints"]
    assert returned["effects"][0]["props"]["value"] == 10
    assert returned["customerProfile"]["totalSales"] == 84.0 - 24.9
    assert api.get_loyalty_balances(1, "jane").data["subledgerBalances"]["beans"]["pendingPoints"] == 10

    # reopen: discounts, coupon and referral are rolled back; active points stay, pending ones go
    reopened = api.reopen_customer_session("order-1").data
    kinds = effect_types(reopened["effects"])
    assert {"rollbackDiscount", "rollbackCoupon", "rollbackReferral", "rollbackAddedLoyaltyPoints"} <= set(
        kinds
    )
    rolled_points = [
        e["props"] for e in reopened["effects"] if e["effectType"] == "rollbackAddedLoyaltyPoints"
    ]
    assert [(p["subLedgerId"], p["value"]) for p in rolled_points] == [("beans", 10)]
    after_reopen = api.get_loyalty_balances(1, "jane").data
    assert (
        after_reopen["balance"]["activePoints"] == 84
        and after_reopen["subledgerBalances"]["beans"]["pendingPoints"] == 0
    )
    assert (
        api.get_customer_inventory("jane", coupons=True).data["coupons"] == []
    )  # the redemption is given back
    peek = api.update_customer_session_v2("peek", {"customerSession": {"profileId": "jane", "couponCodes": ["WELCOME10"]},
                                                   "responseContent": ["coupons"]}, dry=True).data  # fmt: skip
    assert (peek["coupons"][0]["usageCounter"], peek["coupons"][0]["profileRedemptionCount"]) == (0, 0)

    # cancel the reopened (open) order: the points that stayed at the reopen go now
    cancelled = api.update_customer_session_v2(
        "order-1",
        {
            "customerSession": {"state": "cancelled"},
            "responseContent": ["customerSession", "customerProfile"],
        },
    ).data
    assert cancelled["customerSession"]["state"] == "cancelled"
    assert sorted((e["props"]["recipientIntegrationId"], e["props"]["value"]) for e in cancelled["effects"]) == [
        ("jane", 84), ("seed-bruno", 100)
    ]  # fmt: skip
    assert api.get_loyalty_balances(1, "jane").data["balance"]["activePoints"] == 0
    assert (
        cancelled["customerProfile"]["closedSessions"] == 0
        and cancelled["customerProfile"]["totalSales"] == 0
    )
    fails(lambda: api.reopen_customer_session("order-1"), 400)

    # inventory: what Jane holds
    inventory = api.get_customer_inventory(
        "jane", profile=True, coupons=True, loyalty=True, referrals=True
    ).data
    assert inventory["profile"]["attributes"]["Name"] == "Jane"
    assert inventory["loyalty"]["programs"]["1"]["ledger"]["currentBalance"] == 0
    assert inventory["referrals"] == []  # Jane advocates nobody

    # and her personal data is erased
    api.delete_customer_data("jane")
    erased = api.get_customer_inventory("jane", profile=True).data["profile"]
    assert erased["attributes"] == {} and erased["integrationId"] == "jane"
