"""The customer stories behind the committed cassettes (``cassettes/``).

Each story exercises several operations in a realistic order and provokes the documented errors
that naturally belong to it; together they call all 28 operations and every documented error
status the sandbox can produce. Identifiers refer to the default seed (``contracts/sandbox/seed.yaml``).
Re-record with ``make cassettes`` (``talon-contracts record --all --out cassettes``).
"""

from __future__ import annotations

from typing import Any

from replay.recording.stories import Story, scenario

BEANS = {"sku": "SKU-BEANS-1KG", "quantity": 2}
CUPS = {"sku": "SKU-CUP-WHITE", "quantity": 4}
FROTHER = {"sku": "SKU-FROTHER", "quantity": 1}
EVERYTHING = ["customerSession", "customerProfile", "coupons", "triggeredCampaigns", "referral", "loyalty", "event",
              "awardedGiveaways", "ruleFailureReasons", "previousReturns"]  # fmt: skip


def _session(
    story: Story, name: str, profile: str, items: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    return {"customerSession": {"profileId": profile, "cartItems": items, **fields}}


@scenario("checkout-coupon-referral", "a checkout with a coupon and a referral, closed, earning points")
def checkout(story: Story) -> None:
    ana = story.id("ana")
    story.ok("updateCustomerProfileV2", ana,
             {"attributes": {"Name": "Ana Lima", "Email": "ana.lima@example.com", "Language": "en",
                             "ShippingCountry": "PT"}})  # fmt: skip
    code = story.ok("createReferral", {"campaignId": 3, "advocateProfileIntegrationId": "seed-bruno"})["code"]
    order = story.id("checkout-1")
    cart = {"profileId": ana, "cartItems": [BEANS, CUPS], "couponCodes": ["WELCOME10"], "referralCode": code,
            "additionalCosts": {"shipping": {"price": 4.9}}, "attributes": {"PaymentMethod": "card"}}  # fmt: skip
    story.ok("updateCustomerSessionV2", order, {"customerSession": cart, "responseContent": EVERYTHING})
    story.ok(
        "updateCustomerSessionV2",
        order,
        {"customerSession": {**cart, "state": "closed"}, "responseContent": EVERYTHING},
    )
    story.ok("getCustomerSession", order)
    story.ok("getLoyaltyBalances", 1, ana)
    story.ok("getLoyaltyProgramProfileTransactions", 1, ana)
    story.ok("getLoyaltyBalances", 1, "seed-bruno")  # the advocate's referral bonus
    # what the shop gets wrong on the way
    story.fails(
        400, "updateCustomerSessionV2", order, {"customerSession": {"state": "open"}}
    )  # closed -> open
    story.fails(400, "updateCustomerSessionV2", story.id("checkout-2"),
                _session(story, "x", ana, [BEANS], attributes={"ShoeSize": 42}))  # fmt: skip
    story.fails(404, "getCustomerSession", story.id("no-such-session"))


@scenario("loyalty-card", "a loyalty card linked to a profile, used at checkout, then queried")
def loyalty_card(story: Story) -> None:
    kim, lee, max_ = story.id("kim"), story.id("lee"), story.id("max")
    for profile, name in ((kim, "Kim Park"), (lee, "Lee Chan"), (max_, "Max Roth")):
        story.ok("updateCustomerProfileV2", profile, {"attributes": {"Name": name}})
    story.ok("linkLoyaltyCardToProfile", 2, "CARD-0002", {"integrationId": kim})
    story.ok("linkLoyaltyCardToProfile", 2, "CARD-0002", {"integrationId": lee})
    story.fails(
        400, "linkLoyaltyCardToProfile", 2, "CARD-0002", {"integrationId": max_}
    )  # two users per card
    story.fails(404, "linkLoyaltyCardToProfile", 2, "CARD-9999", {"integrationId": kim})
    order = story.id("card-order")
    story.ok("updateCustomerSessionV2", order,
             {"customerSession": {"profileId": kim, "cartItems": [FROTHER], "loyaltyCards": ["CARD-0002"], "state": "closed"},
              "responseContent": ["loyalty"]})  # fmt: skip
    story.ok("getLoyaltyCardBalances", 2, "CARD-0002")
    story.ok("getLoyaltyCardPoints", 2, "CARD-0002")
    story.ok("getLoyaltyCardTransactions", 2, "CARD-0002", page_size=50)
    story.fails(400, "getLoyaltyCardBalances", 2, "CARD-0002", end_date="yesterday")
    story.fails(400, "getLoyaltyCardPoints", 2, "CARD-0002", status="frozen")
    story.fails(400, "getLoyaltyCardTransactions", 2, "CARD-0002", page_size=5000)
    story.fails(404, "getLoyaltyCardBalances", 2, "CARD-9999")
    story.fails(404, "getLoyaltyCardPoints", 2, "CARD-9999")
    story.fails(404, "getLoyaltyCardTransactions", 2, "CARD-9999")


@scenario("points-spent-and-expired", "points redeemed for a discount; balances now and after expiry")
def points(story: Story) -> None:
    alice = "seed-alice"  # 500 imported points
    order = story.id("redeem")
    story.ok("updateCustomerSessionV2", order,
             {**_session(story, "r", alice, [BEANS], attributes={"redeemPoints": True}, state="closed"),
              "responseContent": ["loyalty"]})  # fmt: skip
    story.ok("getLoyaltyBalances", 1, alice)
    story.ok(
        "getLoyaltyBalances", 1, alice, end_date="2099-01-01T00:00:00Z"
    )  # the bean points have expired by then
    story.ok("getLoyaltyProgramProfilePoints", 1, alice)
    story.ok("getLoyaltyProgramProfilePoints", 1, alice, status="pending", subledger_id="beans")
    story.ok("getLoyaltyProgramProfileTransactions", 1, alice, loyalty_transaction_type="session")
    story.fails(400, "getLoyaltyProgramProfilePoints", 1, alice, page_size=0)
    story.fails(400, "getLoyaltyProgramProfileTransactions", 1, alice, loyalty_transaction_type="gift")
    story.fails(400, "getLoyaltyBalances", 2, alice)  # program 2 is card-based
    story.fails(404, "getLoyaltyBalances", 99, alice)
    story.fails(404, "getLoyaltyProgramProfilePoints", 1, story.id("nobody"))
    story.fails(404, "getLoyaltyProgramProfileTransactions", 1, story.id("nobody"))


@scenario("partial-return-and-reopen", "an order partly returned, reopened, changed and closed again")
def returns(story: Story) -> None:
    ben = story.id("ben")
    order = story.id("return-1")
    cart = _session(story, "o", ben, [BEANS, CUPS])
    story.ok(
        "updateCustomerSessionV2", order, {"customerSession": {**cart["customerSession"], "state": "closed"}}
    )
    story.ok("returnCartItems", order,
             {"return": {"returnedCartItems": [{"position": 1, "quantity": 2}]},
              "responseContent": ["customerSession", "customerProfile", "coupons", "loyalty", "event"]})  # fmt: skip
    story.ok("returnCartItems", order,
             {"return": {"returnedCartItems": [{"position": 0, "quantity": 1}]}, "responseContent": ["previousReturns"]})  # fmt: skip
    story.fails(400, "returnCartItems", order, {"return": {"returnedCartItems": [{"position": 9}]}})
    story.fails(
        404,
        "returnCartItems",
        story.id("never-ordered"),
        {"return": {"returnedCartItems": [{"position": 0}]}},
    )
    story.ok("reopenCustomerSession", order)
    story.fails(400, "reopenCustomerSession", order)  # it is open now
    story.fails(404, "reopenCustomerSession", story.id("never-ordered"))
    story.ok("updateCustomerSessionV2", order, {"customerSession": {"cartItems": [BEANS], "state": "closed"}})
    story.ok("getCustomerSession", order)


@scenario("cancelled-order", "an order closed and then cancelled, and an abandoned cart")
def cancelled(story: Story) -> None:
    eva = story.id("eva")
    order = story.id("cancel-1")
    body = _session(story, "c", eva, [FROTHER, CUPS], couponCodes=["WELCOME10"])
    story.ok("updateCustomerSessionV2", order, body)
    story.ok(
        "updateCustomerSessionV2", order, {"customerSession": {**body["customerSession"], "state": "closed"}}
    )
    story.ok("updateCustomerSessionV2", order, {"customerSession": {"state": "cancelled"},
                                                "responseContent": ["customerSession", "customerProfile"]})  # fmt: skip
    story.ok("getCustomerSession", order)
    abandoned = story.id("abandoned-1")
    story.ok("updateCustomerSessionV2", abandoned, _session(story, "a", eva, [BEANS]))
    story.ok("updateCustomerSessionV2", abandoned, {"customerSession": {"state": "cancelled"}})


@scenario("audience-lifecycle", "an audience created, filled, updated, renamed, emptied and deleted")
def audiences(story: Story) -> None:
    created = story.ok("createAudienceV2", {"name": "Espresso fans", "integration": "segment",
                                             "integrationId": story.id("seg-espresso"), "description": "from Segment"})  # fmt: skip
    audience = created["id"]
    story.fails(409, "createAudienceV2", {"name": "Espresso fans again", "integration": "segment",
                                          "integrationId": story.id("seg-espresso")})  # fmt: skip
    story.fails(400, "createAudienceV2", {"description": "no name"})
    members = [story.id(n) for n in ("fan-1", "fan-2", "fan-3")]
    story.ok("updateCustomerProfileAudiences",
             {"data": [{"action": "add", "profileIntegrationId": m, "audienceId": audience} for m in members]})  # fmt: skip
    story.ok("updateCustomerProfileAudiences",
             {"data": [{"action": "delete", "profileIntegrationId": members[2], "audienceId": audience}]})  # fmt: skip
    story.fails(404, "updateCustomerProfileAudiences",
                {"data": [{"action": "add", "profileIntegrationId": members[0], "audienceId": 999999}]})  # fmt: skip
    story.fails(400, "updateCustomerProfileAudiences",
                {"data": [{"action": "remove", "profileIntegrationId": members[0], "audienceId": audience}]})  # fmt: skip
    story.ok("updateAudienceCustomersAttributes", audience, {"ShippingCountry": "IT"})
    story.fails(400, "updateAudienceCustomersAttributes", audience, {"FavouriteColour": "red"})
    story.fails(404, "updateAudienceCustomersAttributes", 999999, {"ShippingCountry": "IT"})
    story.ok("updateCustomerProfileV2", members[0], {"audiencesChanges": {"adds": [], "deletes": [audience]}})
    story.ok("updateAudienceV2", audience, {"name": "Espresso lovers"})
    story.fails(400, "updateAudienceV2", audience, {"name": ""})
    story.fails(404, "updateAudienceV2", 999999, {"name": "ghost"})
    story.ok("deleteAudienceMembershipsV2", audience)
    story.fails(404, "deleteAudienceMembershipsV2", 999999)
    story.ok("deleteAudienceV2", audience)
    story.fails(404, "deleteAudienceV2", audience)
    story.raw(400, "DELETE", "/v2/audiences/espresso-fans")  # not an id


@scenario("coupon-reservations", "coupons reserved for customers, used, and released")
def reservations(story: Story) -> None:
    vip, other = story.id("vip-1"), story.id("vip-2")
    story.ok("createCouponReservation", "VIP-RESERVED", {"integrationIDs": [vip]})
    story.ok("createCouponReservation", "WELCOME10", {"integrationIDs": [vip, other]})  # a soft reservation
    story.ok("getReservedCustomers", "WELCOME10")
    story.ok("updateCustomerSessionV2", story.id("vip-order"),
             {**_session(story, "v", vip, [FROTHER], couponCodes=["VIP-RESERVED"]), "responseContent": ["coupons"]})  # fmt: skip
    story.ok(
        "updateCustomerSessionV2",
        story.id("other-order"),
        _session(story, "o", other, [FROTHER], couponCodes=["VIP-RESERVED"]),
    )  # rejected: not reserved for her
    story.ok("deleteCouponReservation", "WELCOME10", {"integrationIDs": [other]})
    story.ok("getCustomerInventory", vip, coupons=True)
    story.fails(404, "createCouponReservation", "NO-SUCH-CODE", {"integrationIDs": [vip]})
    story.fails(404, "deleteCouponReservation", "NO-SUCH-CODE", {"integrationIDs": [vip]})
    story.fails(404, "getReservedCustomers", "NO-SUCH-CODE")
    story.fails(400, "createCouponReservation", "WELCOME10", {"integrationIDs": vip})
    story.fails(400, "deleteCouponReservation", "WELCOME10", {"profiles": [vip]})


@scenario("referrals-for-many-advocates", "referral codes for a batch of advocates, one redeemed by a friend")
def many_referrals(story: Story) -> None:
    advocates = [story.id(f"advocate-{i}") for i in range(1, 4)]
    story.ok("createReferralsForMultipleAdvocates", {"campaignId": 3, "advocateProfileIntegrationIds": advocates,
                                                     "usageLimit": 1})  # silent: 204  # fmt: skip
    batch = story.ok("createReferralsForMultipleAdvocates",
                     {"campaignId": 3, "advocateProfileIntegrationIds": advocates[:2], "usageLimit": 1,
                      "referralPattern": "FRIEND-####", "attributes": {"source": "newsletter"}}, silent="no")  # fmt: skip
    code = batch["data"][0]["code"]
    story.ok("updateCustomerSessionV2", story.id("friend-order"),
             {**_session(story, "f", story.id("friend"), [BEANS], referralCode=code, state="closed"),
              "responseContent": ["referral"]})  # fmt: skip
    story.ok("getCustomerInventory", advocates[0], referrals=True)
    story.fails(400, "createReferralsForMultipleAdvocates",
                {"campaignId": 3, "advocateProfileIntegrationIds": advocates, "usageLimit": 1, "referralPattern": "STATIC"})  # fmt: skip
    story.fails(400, "createReferral", {"campaignId": 1, "advocateProfileIntegrationId": advocates[0]})


@scenario("catalog-sync", "the catalog synced, then a session using the synced items and prices")
def catalog(story: Story) -> None:
    story.ok("syncCatalog", 1, {"actions": [
        {"type": "ADD", "payload": {"sku": "SKU-GRINDER", "price": 89.0, "product": {"name": "Grinder"},
                                    "attributes": {"color": "black"}}},
        {"type": "PATCH", "payload": {"sku": "SKU-CUP-BLACK", "price": 6.5}},
        {"type": "PATCH_MANY", "payload": {"filters": [{"attr": "roast", "op": "EQ", "value": "dark"}], "price": 23.9}},
    ]})  # fmt: skip
    story.ok("updateCustomerSessionV2", story.id("grinder-order"),
             {**_session(story, "g", story.id("gina"), [{"sku": "SKU-GRINDER", "quantity": 1},
                                                        {"sku": "SKU-CUP-BLACK", "quantity": 2}]),
              "responseContent": ["customerSession"]})  # fmt: skip
    story.fails(
        400, "syncCatalog", 1, {"actions": [{"type": "ADD", "payload": {"sku": "SKU-GRINDER", "price": 1}}]}
    )
    story.fails(404, "syncCatalog", 42, {"actions": [{"type": "REMOVE", "payload": {"sku": "SKU-GRINDER"}}]})
    story.ok("syncCatalog", 1, {"actions": [{"type": "REMOVE", "payload": {"sku": "SKU-GRINDER"}}]})


@scenario("gdpr-deletion", "a customer's personal data erased, then the inventory looked up")
def gdpr(story: Story) -> None:
    zoe = story.id("zoe")
    story.ok("updateCustomerProfileV2", zoe, {"attributes": {"Name": "Zoe Quinn", "Email": "zoe@example.com",
                                                             "Phone": "+44 20 7946 0000", "Address": "1 High St"}})  # fmt: skip
    story.ok("trackEventV2", {"type": "pageViewed", "profileId": zoe, "attributes": {"url": "/beans"}})
    story.ok(
        "updateCustomerSessionV2", story.id("zoe-order"), _session(story, "z", zoe, [BEANS], state="closed")
    )
    story.ok("getCustomerInventory", zoe, profile=True, loyalty=True)
    story.ok("deleteCustomerData", zoe)
    story.ok("getCustomerInventory", zoe, profile=True, coupons=True, referrals=True, loyalty=True, giveaways=True,
             achievements=True)  # fmt: skip
    story.fails(404, "deleteCustomerData", story.id("never-existed"))
    story.fails(404, "getCustomerInventory", story.id("never-existed"))
    story.raw(400, "GET", f"/v1/customer_profiles/{zoe}/inventory?profile=sometimes")


@scenario("profiles-and-events", "profiles synchronised in bulk, events tracked, the rule engine on demand")
def profiles_events(story: Story) -> None:
    people = [{"integrationId": story.id(f"bulk-{i}"), "attributes": {"Language": "de", "Name": f"Kunde {i}"}}
              for i in range(1, 4)]  # fmt: skip
    story.ok("updateCustomerProfilesV2", {"customerProfiles": people})  # silent: 204
    story.ok("updateCustomerProfilesV2", {"customerProfiles": people[:1]}, silent="no")
    story.ok("trackEventV2", {"type": "pageViewed", "profileId": people[0]["integrationId"]})  # silent: 204
    story.ok("trackEventV2", {"type": "pageViewed", "profileId": people[0]["integrationId"], "attributes": {"url": "/frother"},
                              "responseContent": ["customerProfile", "loyalty", "event", "triggeredCampaigns"]}, silent="no")  # fmt: skip
    story.ok("updateCustomerProfileV2", people[1]["integrationId"], {"attributes": {"ShippingCountry": "AT"},
                                                                    "responseContent": ["customerProfile", "event"]},
             run_rule_engine=True)  # fmt: skip
    story.fails(400, "updateCustomerProfilesV2", {"customerProfiles": [{"attributes": {"Language": "fr"}}]})
    story.fails(400, "trackEventV2", {"type": "madeUpEvent", "profileId": people[0]["integrationId"]})
    story.fails(400, "updateCustomerProfileV2", people[2]["integrationId"], {"attributes": {"ShoeSize": 44}})


@scenario("concurrent-writes", "two requests for the same session or profile at once: the later one gets 409")
def concurrent(story: Story) -> None:
    tom = story.id("tom")
    order = story.id("busy-order")
    body = _session(story, "b", tom, [BEANS])
    story.ok("updateCustomerSessionV2", order, body)
    with story.in_flight("PUT", f"/v2/customer_sessions/{order}") as simulated:
        if simulated:
            story.fails(409, "updateCustomerSessionV2", order, body)
    with story.in_flight("PUT", f"/v2/customer_profiles/{tom}") as simulated:
        if simulated:
            story.fails(409, "updateCustomerProfileV2", tom, {"attributes": {"Language": "en"}})
            story.fails(409, "trackEventV2", {"type": "pageViewed", "profileId": tom}, silent="no")
    story.ok("updateCustomerSessionV2", order, body)  # the retry, once the other request is done
    story.ok("updateCustomerProfileV2", tom, {"attributes": {"Language": "en"}})


@scenario("revoked-api-key", "every operation called with a revoked API key")
def revoked(story: Story) -> None:
    session, profile = story.id("any-session"), story.id("any-profile")
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("updateCustomerSessionV2", (session, {"customerSession": {"profileId": profile}})),
        ("getCustomerSession", (session,)),
        ("reopenCustomerSession", (session,)),
        ("returnCartItems", (session, {"return": {"returnedCartItems": [{"position": 0}]}})),
        ("trackEventV2", ({"type": "pageViewed", "profileId": profile},)),
        ("updateCustomerProfileV2", (profile, {})),
        ("updateCustomerProfilesV2", ({"customerProfiles": [{"integrationId": profile}]},)),
        ("createAudienceV2", ({"name": "x"},)),
        ("updateAudienceV2", (1, {"name": "x"})),
        ("deleteAudienceV2", (1,)),
        ("deleteAudienceMembershipsV2", (1,)),
        ("updateCustomerProfileAudiences", ({"data": []},)),
        ("updateAudienceCustomersAttributes", (1, {"ShippingCountry": "DE"})),
        ("linkLoyaltyCardToProfile", (2, "CARD-0001", {"integrationId": profile})),
        ("createReferral", ({"campaignId": 3, "advocateProfileIntegrationId": profile},)),
        (
            "createReferralsForMultipleAdvocates",
            ({"campaignId": 3, "advocateProfileIntegrationIds": [profile], "usageLimit": 1},),
        ),
        ("deleteCustomerData", (profile,)),
        ("createCouponReservation", ("WELCOME10", {"integrationIDs": [profile]})),
        ("deleteCouponReservation", ("WELCOME10", {"integrationIDs": [profile]})),
        ("getReservedCustomers", ("WELCOME10",)),
        ("getCustomerInventory", (profile,)),
        ("getLoyaltyCardBalances", (2, "CARD-0001")),
        ("getLoyaltyBalances", (1, profile)),
        ("getLoyaltyCardTransactions", (2, "CARD-0001")),
        ("getLoyaltyProgramProfileTransactions", (1, profile)),
        ("getLoyaltyCardPoints", (2, "CARD-0001")),
        ("getLoyaltyProgramProfilePoints", (1, profile)),
        ("syncCatalog", (1, {"actions": [{"type": "REMOVE", "payload": {"sku": "SKU-FROTHER"}}]})),
    ]
    for operation, args in calls:
        story.fails(401, operation, *args)
