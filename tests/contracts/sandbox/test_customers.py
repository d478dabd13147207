"""Profiles, audiences, coupon reservations, referrals, catalog sync, inventory and data deletion."""

from __future__ import annotations

import re

from contracts.client import IntegrationClient
from contracts.sandbox import Sandbox
from tests.contracts.sandbox.conftest import BEANS, effect_types, fails, session

# --------------------------------------------------------------------------- profiles


def test_profile_upsert(api: IntegrationClient, raw: IntegrationClient) -> None:
    created = api.update_customer_profile_v2("p1", {"attributes": {"Language": "fr", "Name": "Ana"}}).data
    assert created["effects"] == [] and created["customerProfile"]["attributes"] == {
        "Language": "fr",
        "Name": "Ana",
    }
    updated = api.update_customer_profile_v2("p1", {"attributes": {"Language": "de"}}).data
    assert updated["customerProfile"]["attributes"] == {"Language": "de", "Name": "Ana"}
    assert updated["customerProfile"]["id"] == created["customerProfile"]["id"]
    error = fails(lambda: raw.update_customer_profile_v2("p1", {"attributes": {"Shoesize": 44}}), 400)
    assert error.errors[0]["source"]["pointer"] == "/attributes/Shoesize"
    error = fails(lambda: raw.update_customer_profile_v2("p1", {"responseContent": ["customerProfile"]}), 400)
    assert error.errors[0]["source"]["pointer"] == "/responseContent"
    ruled = api.update_customer_profile_v2(
        "p1", {"responseContent": ["customerProfile", "event", "triggeredCampaigns", "loyalty", "ruleFailureReasons",
                                   "awardedGiveaways"]}, run_rule_engine=True,
    ).data  # fmt: skip
    assert ruled["event"]["type"] == "talon_profile_updated"


def test_profile_audience_changes(api: IntegrationClient) -> None:
    vip = api.create_audience_v2({"name": "VIP"}).data["id"]
    state = api.update_customer_profile_v2("p1", {"audiencesChanges": {"adds": [vip], "deletes": []}}).data
    assert state["customerProfile"]["audienceMemberships"] == [{"id": vip, "name": "VIP"}]
    error = fails(
        lambda: api.update_customer_profile_v2("p1", {"audiencesChanges": {"adds": [999], "deletes": []}}),
        400,
    )
    assert error.errors[0]["source"]["pointer"] == "/audiencesChanges/adds/0"


def test_dry_profile_update_needs_the_rule_engine(api: IntegrationClient) -> None:
    api.update_customer_profile_v2("p1", {"attributes": {"Language": "en"}}, run_rule_engine=True, dry=True)
    fails(lambda: api.get_customer_inventory("p1"), 404)  # dry with the rule engine: nothing stored
    api.update_customer_profile_v2(
        "p1", {"attributes": {"Language": "en"}}, dry=True
    )  # dry alone means nothing
    assert api.get_customer_inventory("p1", profile=True).data["profile"]["attributes"] == {"Language": "en"}


def test_bulk_profiles(api: IntegrationClient, raw: IntegrationClient) -> None:
    body = {
        "customerProfiles": [
            {"integrationId": "b1", "attributes": {"Language": "en"}},
            {"integrationId": "b2"},
        ]
    }
    assert api.update_customer_profiles_v2(body).status == 204
    loud = api.update_customer_profiles_v2(body, silent="no").data
    assert [s["customerProfile"]["integrationId"] for s in loud["integrationStates"]] == ["b1", "b2"]
    bad = {"customerProfiles": [{"integrationId": "b3", "attributes": {"Nope": 1}}]}
    error = fails(lambda: raw.update_customer_profiles_v2(bad), 400)
    assert error.errors[0]["source"]["pointer"] == "/customerProfiles/0/attributes/Nope"
    fails(lambda: raw.update_customer_profiles_v2({"customerProfiles": [{"integrationId": "x"}] * 1001}), 400)


# --------------------------------------------------------------------------- audiences


def test_audiences(api: IntegrationClient, raw: IntegrationClient) -> None:
    audience = api.create_audience_v2({"name": "Coffee lovers", "integration": "segment", "integrationId": "seg-1",
                                       "description": "from Segment"}).data  # fmt: skip
    assert audience["integrationId"] == "seg-1" and audience["description"] == "from Segment"
    fails(
        lambda: api.create_audience_v2({"name": "dupe", "integration": "segment", "integrationId": "seg-1"}),
        409,
    )
    api.create_audience_v2({"name": "other platform", "integration": "mparticle", "integrationId": "seg-1"})
    fails(lambda: raw.create_audience_v2({"name": ""}), 400)
    aid = audience["id"]
    assert api.update_audience_v2(aid, {"name": "Espresso lovers"}).data["name"] == "Espresso lovers"
    fails(lambda: api.update_audience_v2(4242, {"name": "x"}), 404)
    fails(lambda: raw.update_audience_v2(aid, {}), 400)
    actions = {
        "data": [{"action": "add", "profileIntegrationId": p, "audienceId": aid} for p in ("m1", "m2", "m3")]
    }
    api.update_customer_profile_audiences(actions)
    api.update_customer_profile_audiences(
        {"data": [{"action": "delete", "profileIntegrationId": "m3", "audienceId": aid}]}
    )
    error = fails(lambda: api.update_customer_profile_audiences(
        {"data": [{"action": "add", "profileIntegrationId": "m1", "audienceId": 4242}]}), 404)  # fmt: skip
    assert error.errors[0]["source"]["pointer"] == "/data/0/audienceId"
    fails(lambda: raw.update_customer_profile_audiences({"data": [{"action": "remove", "profileIntegrationId": "m1",
                                                                     "audienceId": aid}]}), 400)  # fmt: skip
    api.update_audience_customers_attributes(aid, {"ShippingCountry": "NL"})
    assert api.get_customer_inventory("m1", profile=True).data["profile"]["attributes"] == {
        "ShippingCountry": "NL"
    }
    assert api.get_customer_inventory("m3", profile=True).data["profile"]["attributes"] == {}
    error = fails(lambda: raw.update_audience_customers_attributes(aid, {"Shoesize": 9}), 400)
    assert error.errors[0]["source"]["pointer"] == "/Shoesize"
    fails(lambda: api.update_audience_customers_attributes(4242, {"ShippingCountry": "NL"}), 404)
    api.delete_audience_memberships_v2(aid)
    profile = api.get_customer_inventory("m1", profile=True).data["profile"]
    assert profile["audienceMemberships"] == []
    api.delete_audience_v2(aid)
    fails(lambda: api.delete_audience_v2(aid), 404)
    fails(lambda: api.delete_audience_memberships_v2(aid), 404)


# --------------------------------------------------------------------------- coupons and referrals


def test_coupon_reservations(api: IntegrationClient, raw: IntegrationClient) -> None:
    coupon = api.create_coupon_reservation(
        "WELCOME10", {"integrationIDs": ["r1", "r2"]}
    ).data  # a soft reservation
    assert coupon["value"] == "WELCOME10" and coupon["reservationCounter"] == 2
    reserved = api.get_reserved_customers("WELCOME10").data
    assert reserved["totalResultSize"] == 2 and {p["integrationId"] for p in reserved["data"]} == {"r1", "r2"}
    api.delete_coupon_reservation("WELCOME10", {"integrationIDs": ["r1"]})
    assert api.get_reserved_customers("WELCOME10").data["totalResultSize"] == 1
    inventory = api.get_customer_inventory("r2", coupons=True).data
    assert [(c["value"], c["state"]) for c in inventory["coupons"]] == [("WELCOME10", "active")]
    for call in (lambda: api.create_coupon_reservation("NOPE-NOPE", {"integrationIDs": ["r1"]}),
                 lambda: api.delete_coupon_reservation("NOPE-NOPE", {"integrationIDs": ["r1"]}),
                 lambda: api.get_reserved_customers("NOPE-NOPE")):  # fmt: skip
        fails(call, 404)
    fails(lambda: raw.create_coupon_reservation("WELCOME10", {"integrationIds": ["r1"]}), 400)


def test_referrals(api: IntegrationClient, raw: IntegrationClient) -> None:
    referral = api.create_referral({"campaignId": 3, "advocateProfileIntegrationId": "adv", "usageLimit": 2,
                                    "attributes": {"source": "email"}}).data  # fmt: skip
    assert re.fullmatch(r"REF-[A-Z2-9]{4}-[A-Z2-9]{4}", referral["code"])
    assert referral["usageCounter"] == 0 and referral["usageLimit"] == 2
    error = fails(lambda: api.create_referral({"campaignId": 1, "advocateProfileIntegrationId": "adv"}), 400)
    assert error.errors[0]["source"]["pointer"] == "/campaignId" and "message" in error.body
    fails(lambda: raw.create_referral({"campaignId": 3}), 400)
    many = {"campaignId": 3, "advocateProfileIntegrationIds": ["a1", "a2", "a3"], "usageLimit": 1}
    assert api.create_referrals_for_multiple_advocates(many).status == 204
    created = api.create_referrals_for_multiple_advocates({**many, "referralPattern": "FRIEND-###",
                                                           "validCharacters": ["X", "Y", "1"]}, silent="no").data  # fmt: skip
    assert created["totalResultSize"] == 3
    codes = [r["code"] for r in created["data"]]
    assert len(set(codes)) == 3 and all(re.fullmatch(r"FRIEND-[XY1]{3}", c) for c in codes)
    assert len({r["batchId"] for r in created["data"]}) == 1
    error = fails(
        lambda: api.create_referrals_for_multiple_advocates({**many, "referralPattern": "FIXED"}), 400
    )
    assert error.errors[0]["source"]["pointer"] == "/referralPattern"
    inventory = api.get_customer_inventory("adv", referrals=True).data
    assert inventory["referrals"][0]["code"] == referral["code"]


# --------------------------------------------------------------------------- catalog


def test_catalog_sync(api: IntegrationClient, raw: IntegrationClient) -> None:
    actions = [
        {"type": "ADD", "payload": {"sku": "SKU-NEW", "price": 12.5, "attributes": {"color": "red"}}},
        {"type": "PATCH", "payload": {"sku": "SKU-CUP-BLACK", "price": 6.0}},
        {"type": "REMOVE", "payload": {"sku": "SKU-SAMPLE-DECAF"}},
    ]
    catalog = api.sync_catalog(1, {"actions": actions}).data
    assert catalog["version"] == 2 and catalog["description"]
    state = session(api, "s1", items=[{"sku": "SKU-NEW", "quantity": 2}, {"sku": "SKU-CUP-BLACK", "quantity": 1}],
                    wanted=("customerSession",))  # fmt: skip
    assert state["customerSession"]["cartItemTotal"] == 31.0  # the synced prices are used
    api.sync_catalog(1, {"actions": [{"type": "PATCH_MANY", "payload": {"filters": [{"attr": "color", "op": "IN",
                                                                                      "value": "white,black"}],
                                                                          "price": 5}}]})  # fmt: skip
    assert session(api, "s2", items=[{"sku": "SKU-CUP-WHITE", "quantity": 1}],
                   wanted=("customerSession",))["customerSession"]["cartItemTotal"] == 5  # fmt: skip
    removed = api.sync_catalog(1, {"actions": [{"type": "REMOVE_MANY", "payload": {"filters": [
        {"attr": "color", "op": "EQ", "value": "red"}]}}], "version": 3}).data  # fmt: skip
    assert removed["version"] == 4
    fails(lambda: session(raw, "s3", items=[{"sku": "SKU-NEW", "quantity": 1}]), 400)  # gone from the catalog


def test_catalog_sync_errors(api: IntegrationClient, raw: IntegrationClient) -> None:
    cases = [
        ([{"type": "ADD", "payload": {"sku": "SKU-FROTHER"}}], "/actions/0/payload/sku"),  # exists
        ([{"type": "PATCH", "payload": {"sku": "SKU-NONE"}}], "/actions/0/payload/sku"),  # missing
        ([{"type": "ADD", "payload": {"sku": "A", "price": 1}}, {"type": "REMOVE", "payload": {"sku": "A"}}],
         "/actions/1/payload/sku"),  # one action per SKU
        ([{"type": "ADD", "payload": {"sku": "B", "attributes": {"weight": 2}}}], "/actions/0/payload/attributes/weight"),
        ([{"type": "REMOVE_MANY", "payload": {"filters": [{"attr": "color", "op": "GT", "value": "red"}]}}],
         "/actions/0/payload/filters/0/value"),
        ([{"type": "PATCH_MANY", "payload": {"filters": [{"attr": "color", "op": "LIKE", "value": "r"}]}}],
         "/actions/0/payload/filters/0/op"),
    ]  # fmt: skip
    for actions, pointer in cases:
        error = fails(lambda actions=actions: api.sync_catalog(1, {"actions": actions}), 400)
        assert error.errors[0]["source"]["pointer"] == pointer
        assert "StatusCode" not in error.body  # SyncCatalog's 400 is an ErrorResponse
    fails(
        lambda: api.sync_catalog(
            1, {"actions": [{"type": "REMOVE", "payload": {"sku": "SKU-FROTHER"}}], "version": 9}
        ),
        400,
    )
    fails(lambda: raw.sync_catalog(1, {"actions": []}), 400)
    fails(lambda: api.sync_catalog(77, {"actions": [{"type": "REMOVE", "payload": {"sku": "X"}}]}), 404)
    assert (
        api.sync_catalog(1, {"actions": [{"type": "REMOVE", "payload": {"sku": "SKU-FROTHER"}}]}).data[
            "version"
        ]
        == 2
    )


# --------------------------------------------------------------------------- inventory and deletion


def test_inventory_flags(api: IntegrationClient) -> None:
    fails(lambda: api.get_customer_inventory("ghost"), 404)
    assert api.get_customer_inventory("seed-alice").data == {}  # sections only on request
    full = api.get_customer_inventory("seed-alice", profile=True, referrals=True, coupons=True, loyalty=True,
                                      giveaways=True, achievements=True).data  # fmt: skip
    assert set(full) == {"profile", "referrals", "coupons", "loyalty", "giveaways", "achievements"}
    assert full["loyalty"]["programs"]["1"]["ledger"]["currentBalance"] == 500
    assert full["loyalty"]["programs"]["1"]["ledger"]["currentTier"]["name"] == "Silver"


def test_used_and_expired_coupons_in_inventory(api: IntegrationClient) -> None:
    session(api, "s1", profile="c1", items=[BEANS], couponCodes=["FIVE-ONCE"], state="closed")
    api.create_coupon_reservation("EXPIRED2020", {"integrationIDs": ["c1"]})
    coupons = {c["value"]: c for c in api.get_customer_inventory("c1", coupons=True).data["coupons"]}
    assert coupons["FIVE-ONCE"]["state"] == "used" and coupons["FIVE-ONCE"]["profileRedemptionCount"] == 1
    assert coupons["EXPIRED2020"]["state"] == "expired"


def test_customer_data_deletion_removes_personal_data(api: IntegrationClient, sandbox: Sandbox) -> None:
    api.update_customer_profile_v2("gdpr", {"attributes": {"Name": "Eve", "Email": "eve@example.com"}})
    session(api, "s1", profile="gdpr", items=[{**BEANS, "attributes": {"roast": "light"}}],
            attributes={"PaymentMethod": "card"}, state="closed")  # fmt: skip
    api.track_event_v2({"type": "pageViewed", "profileId": "gdpr", "attributes": {"url": "/eve"}})
    api.delete_customer_data("gdpr")
    assert api.get_customer_inventory("gdpr", profile=True).data["profile"]["attributes"] == {}
    stored = api.get_customer_session("s1").data["customerSession"]
    assert stored["attributes"] == {} and "attributes" not in stored["cartItems"][0]
    db = sandbox.store.conn
    everything = " ".join(
        str(tuple(r)) for t in ("profiles", "sessions", "events") for r in db.execute(f"SELECT * FROM {t}")
    )
    for secret in ("Eve", "eve@example.com", "/eve", "light"):
        assert secret not in everything
    assert (
        api.get_loyalty_balances(1, "gdpr").data["balance"]["activePoints"] > 0
    )  # counters and ledgers stay
    fails(lambda: api.delete_customer_data("ghost"), 404)
    assert effect_types(session(api, "s2", profile="gdpr", items=[BEANS])["effects"])


def test_reset_restores_the_seeded_catalog(api: IntegrationClient, sandbox: Sandbox) -> None:
    api.sync_catalog(1, {"actions": [{"type": "PATCH", "payload": {"sku": "SKU-FROTHER", "price": 1.0}}]})
    assert session(api, "s1", items=[{"sku": "SKU-FROTHER", "quantity": 1}],
                   wanted=("customerSession",))["customerSession"]["cartItemTotal"] == 1.0  # fmt: skip
    sandbox.reset()
    assert session(api, "s1", items=[{"sku": "SKU-FROTHER", "quantity": 1}],
                   wanted=("customerSession",))["customerSession"]["cartItemTotal"] == 59.0  # fmt: skip


def test_deletion_also_clears_referral_attributes_and_session_identifiers(api: IntegrationClient) -> None:
    api.create_referral(
        {"campaignId": 3, "advocateProfileIntegrationId": "gdpr", "attributes": {"source": "eve@x.com"}}
    )
    session(api, "s1", profile="gdpr", items=[BEANS], identifiers=["device-123"])
    api.delete_customer_data("gdpr")
    referral = api.get_customer_inventory("gdpr", referrals=True).data["referrals"][0]
    assert referral["attributes"] == {}
    assert api.get_customer_session("s1").data["customerSession"]["identifiers"] == []
