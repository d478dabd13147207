"""Customer profiles, events, inventory and GDPR deletion.

Decisions (also listed in the README): ``responseContent`` with ``runRuleEngine=false`` is a
400; ``dry`` only counts together with ``runRuleEngine=true``;
loyalty points that profile and event rules award are booked at once (events cannot be rolled
back); DeleteCustomerData empties the attributes of the profile, its sessions (including cart
items) and its events, and keeps identifiers and counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import model
from .facts import SqlFacts, card_program
from .integration_state import loyalty_json
from .journal import event_json, insert_event, insert_ledger_entry
from .model import ApiProblem, Ctx, api_error, bad_request, not_found
from .registry import operation
from .rules import Evaluation, Situation, evaluate
from .store import dumps, loads


def book_points(ctx: Ctx, outcome: Evaluation) -> None:
    """Ledger entries for the points of an event or profile evaluation (booked immediately)."""
    for effect in outcome.effects:
        props = effect["props"]
        if effect["effectType"] == "addLoyaltyPoints":
            insert_ledger_entry(ctx, props, "addition", props["value"], None, effect,
                           start=props.get("startDate"), expiry=props.get("expiryDate"),
                           uuid_=props["transactionUUID"])  # fmt: skip


def _parts(
    ctx: Ctx, wanted: list[str], profile: str, outcome: Evaluation, event_id: int | None
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in dict.fromkeys(wanted):
        if part == "customerProfile":
            row = model.profile_row(ctx.db, profile)
            if row is not None:
                result["customerProfile"] = model.profile_json(ctx, row)
        elif part == "triggeredCampaigns":
            result["triggeredCampaigns"] = [model.campaign_json(ctx, c) for c in outcome.triggered]
        elif part == "loyalty":
            result["loyalty"] = loyalty_json(ctx, profile, [], [])
        elif part == "event" and event_id is not None:
            result["event"] = event_json(ctx, event_id, outcome.meta)
        elif part == "awardedGiveaways":
            result["awardedGiveaways"] = []
        elif part == "ruleFailureReasons":
            result["ruleFailureReasons"] = outcome.failures
    return result


def _rules(ctx: Ctx, trigger: str, profile: str, event_type: str, campaigns: list[int] | None) -> Evaluation:
    row = model.profile_row(ctx.db, profile)
    situation = Situation(
        now=ctx.now,
        trigger=trigger,
        profile_id=profile,
        profile_attributes=loads(row["attributes"]) if row is not None else {},
        event_type=event_type,
        only_campaigns=frozenset(campaigns) if ctx.dry and campaigns else None,
    )
    return evaluate(ctx.seed, situation, SqlFacts(ctx, profile), lambda card: card_program(ctx, card))


def _upsert(ctx: Ctx, integration_id: str, attributes: Mapping[str, Any] | None) -> tuple[Any, bool]:
    row, created = model.ensure_profile(ctx, integration_id)
    if attributes:
        merged = loads(row["attributes"])
        merged.update(attributes)
        ctx.db.execute(
            "UPDATE profiles SET attributes = ? WHERE integration_id = ?", (dumps(merged), integration_id)
        )
    return row, created


@operation("updateCustomerProfileV2")
def update_customer_profile(ctx: Ctx) -> tuple[int, Any]:
    integration_id = ctx.path["integrationId"]
    body = ctx.body
    run_rules = ctx.query.get("runRuleEngine", False)
    wanted = list(body.get("responseContent") or [])
    if wanted and not run_rules:
        raise bad_request("responseContent needs runRuleEngine=true", pointer="/responseContent")
    errors = model.check_attributes(ctx.seed, "profile", body.get("attributes"), "/attributes")
    changes = body.get("audiencesChanges") or {}
    for verb in ("adds", "deletes"):
        for i, audience in enumerate(changes.get(verb) or []):
            if model.audience_row(ctx.db, audience) is None:
                errors.append(
                    api_error(f"unknown audience {audience}", pointer=f"/audiencesChanges/{verb}/{i}")
                )
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    _, created = _upsert(ctx, integration_id, body.get("attributes"))
    for audience in changes.get("adds") or []:
        ctx.db.execute("INSERT OR IGNORE INTO audience_members VALUES (?, ?)", (audience, integration_id))
    for audience in changes.get("deletes") or []:
        ctx.db.execute(
            "DELETE FROM audience_members WHERE audience_id = ? AND profile_integration_id = ?",
            (audience, integration_id),
        )
    result: dict[str, Any] = {"effects": [], "createdCoupons": [], "createdReferrals": []}
    if run_rules:
        kind = "talon_profile_created" if created else "talon_profile_updated"
        outcome = _rules(ctx, "profile", integration_id, kind, body.get("evaluableCampaignIds"))
        book_points(ctx, outcome)
        event_id = insert_event(
            ctx, kind, integration_id, None, body.get("attributes") or {}, outcome.effects
        )
        model.touch_profile(ctx, integration_id)
        result["effects"] = outcome.effects
        result.update(_parts(ctx, wanted, integration_id, outcome, event_id))
    row = model.profile_row(ctx.db, integration_id)
    result["customerProfile"] = model.profile_json(ctx, row)  # type: ignore[arg-type]
    return 200, result


@operation("updateCustomerProfilesV2")
def update_customer_profiles(ctx: Ctx) -> tuple[int, Any]:
    profiles = ctx.body.get("customerProfiles") or []
    errors = []
    errors += model.blank_ids(
        (item["integrationId"], f"/customerProfiles/{i}/integrationId") for i, item in enumerate(profiles)
    )
    for i, item in enumerate(profiles):
        errors += model.check_attributes(
            ctx.seed, "profile", item.get("attributes"), f"/customerProfiles/{i}/attributes"
        )
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    for item in profiles:
        _upsert(ctx, item["integrationId"], item.get("attributes"))
    if ctx.query.get("silent", "yes") == "yes":
        return 204, None
    states = []
    for integration_id in dict.fromkeys(item["integrationId"] for item in profiles):
        row = model.profile_row(ctx.db, integration_id)
        states.append({"customerProfile": model.profile_json(ctx, row)})  # type: ignore[arg-type]
    return 200, {"integrationStates": states}


@operation("trackEventV2")
def track_event(ctx: Ctx) -> tuple[int, Any]:
    body = ctx.body
    kind = body["type"]
    if kind.startswith("talon_"):
        raise bad_request(f"{kind!r} is a built-in event and cannot be tracked", pointer="/type")
    if kind not in ctx.seed.event_types:
        raise ApiProblem(400, "Invalid request", [
            api_error(f"unknown event type {kind!r}", pointer="/type", details="defined: " + ", ".join(ctx.seed.event_types))
        ])  # fmt: skip
    errors = model.check_attributes(ctx.seed, "event", body.get("attributes"), "/attributes")
    errors += model.blank_ids([(body["profileId"], "/profileId")])
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    profile = body["profileId"]
    model.ensure_profile(ctx, profile)  # without firing customer_profile_created
    outcome = _rules(ctx, "event", profile, kind, body.get("evaluableCampaignIds"))
    book_points(ctx, outcome)
    event_id = insert_event(
        ctx,
        kind,
        profile,
        None,
        body.get("attributes") or {},
        outcome.effects,
        body.get("storeIntegrationId"),
    )
    model.touch_profile(ctx, profile)
    if ctx.query.get("silent", "yes") == "yes":
        return 204, None
    result: dict[str, Any] = {"effects": outcome.effects, "createdCoupons": [], "createdReferrals": []}
    result.update(_parts(ctx, list(body.get("responseContent") or []), profile, outcome, event_id))
    return 200, result


def _inventory_coupons(ctx: Ctx, profile: str) -> list[dict[str, Any]]:
    db = ctx.db
    ids = {
        r[0]
        for r in db.execute("SELECT coupon_id FROM reservations WHERE profile_integration_id = ?", (profile,))
    }
    ids |= {
        r[0]
        for r in db.execute(
            "SELECT coupon_id FROM coupon_redemptions WHERE profile_integration_id = ?", (profile,)
        )
    }
    for campaign in ctx.seed.campaigns:
        for spec in campaign.coupons:
            if spec.implicitly_reserved or spec.recipient_integration_id == profile:
                row = model.coupon_row(db, spec.value)
                if row is not None:
                    ids.add(row["id"])
    result = []
    for coupon_id in sorted(ids):
        row = db.execute("SELECT * FROM coupons WHERE id = ?", (coupon_id,)).fetchone()
        coupon = model.coupon_json(ctx, row)
        found = ctx.seed.coupon_campaign(row["value"])
        used = model.profile_redemptions(db, coupon_id, profile)
        if found is None:  # a coupon a former seed defined: it no longer belongs to a campaign
            state = "used" if used else "disabled"
        else:
            campaign, spec = found
            if campaign.state == "disabled":
                state = "disabled"
            elif spec.expiry_date is not None and spec.expiry_date <= ctx.clock_now:
                state = "expired" if not used else "used"
            elif (spec.per_profile_limit and used >= spec.per_profile_limit) or (
                spec.usage_limit and row["usage_counter"] >= spec.usage_limit
            ):
                state = "used"
            elif spec.start_date is not None and spec.start_date > ctx.clock_now:
                state = "pending"
            else:
                state = "active"
        coupon.update(profileRedemptionCount=used, state=state)
        result.append(coupon)
    return result


@operation("getCustomerInventory")
def get_customer_inventory(ctx: Ctx) -> tuple[int, Any]:
    profile = ctx.path["integrationId"]
    row = model.profile_row(ctx.db, profile)
    if row is None:
        raise not_found("customer profile")
    flags = ctx.query
    result: dict[str, Any] = {}
    if flags.get("profile"):
        result["profile"] = model.profile_json(ctx, row)
    if flags.get("loyalty"):
        cards = [r[0] for r in ctx.db.execute(
            "SELECT card_identifier FROM card_profiles WHERE profile_integration_id = ? ORDER BY card_identifier", (profile,)
        )]  # fmt: skip
        result["loyalty"] = loyalty_json(ctx, profile, cards, [])
    if flags.get("referrals"):
        result["referrals"] = [
            model.referral_json(ctx.db, r, inventory=True)
            for r in ctx.db.execute("SELECT * FROM referrals WHERE advocate = ? ORDER BY id", (profile,))
        ]
    if flags.get("coupons"):
        result["coupons"] = _inventory_coupons(ctx, profile)
    if flags.get("giveaways"):
        result["giveaways"] = []
    if flags.get("achievements"):
        result["achievements"] = []
    return 200, result


@operation("deleteCustomerData")
def delete_customer_data(ctx: Ctx) -> tuple[int, Any]:
    profile = ctx.path["integrationId"]
    if model.profile_row(ctx.db, profile) is None:
        raise not_found("customer profile")
    db = ctx.db
    db.execute("UPDATE profiles SET attributes = '{}' WHERE integration_id = ?", (profile,))
    for row in db.execute(
        "SELECT integration_id, data FROM sessions WHERE profile_id = ?", (profile,)
    ).fetchall():
        data = loads(row["data"])
        data["attributes"] = {}
        data["identifiers"] = []  # device ids, hashed e-mails ...
        for item in data.get("cartItems", []):
            item.pop("attributes", None)
        db.execute(
            "UPDATE sessions SET data = ? WHERE integration_id = ?", (dumps(data), row["integration_id"])
        )
    db.execute("UPDATE events SET attributes = '{}' WHERE profile_id = ?", (profile,))
    db.execute("UPDATE referrals SET attributes = '{}' WHERE advocate = ?1 OR friend = ?1", (profile,))
    return 204, None
