"""Coupon reservations and referral codes.

Decisions (also listed in the README): reserving creates unknown profiles; every existing coupon
can be reserved (a soft reservation) except one bound to a recipient (400); the endpoint ignores
``reservationLimit``. Referral codes follow the campaign's pattern (``#`` -> a random valid
character) unless the request gives its own; an advocate that does not exist yet is created.

Generated codes and batch ids are random-looking but derived from the state (the number of
referrals so far), so that the same requests against the same seed give the same answers: recorded
cassettes do not change when nothing changed.
"""

from __future__ import annotations

import random
from typing import Any

from . import model
from .model import ApiProblem, Ctx, api_error, bad_request, not_found
from .registry import operation
from .store import dumps
from .times import iso, parse_instant


def _coupon(ctx: Ctx) -> Any:
    row = model.coupon_row(ctx.db, ctx.path["couponValue"])
    if row is None:
        raise not_found("coupon")
    return row


@operation("createCouponReservation")
def create_coupon_reservation(ctx: Ctx) -> tuple[int, Any]:
    row = _coupon(ctx)
    found = ctx.seed.coupon_campaign(row["value"])
    if found is not None and found[1].recipient_integration_id:
        raise bad_request("a coupon bound to a recipient cannot be reserved")
    blank = model.blank_ids((p, f"/integrationIDs/{i}") for i, p in enumerate(ctx.body["integrationIDs"]))
    if blank:
        raise ApiProblem(400, "Invalid request", blank)
    for profile in ctx.body["integrationIDs"]:
        model.ensure_profile(ctx, profile)
        ctx.db.execute("INSERT OR IGNORE INTO reservations VALUES (?, ?, ?)", (row["id"], profile, ctx.stamp))
    return 201, model.coupon_json(ctx, row)


@operation("deleteCouponReservation")
def delete_coupon_reservation(ctx: Ctx) -> tuple[int, Any]:
    row = _coupon(ctx)
    for profile in ctx.body["integrationIDs"]:
        ctx.db.execute(
            "DELETE FROM reservations WHERE coupon_id = ? AND profile_integration_id = ?",
            (row["id"], profile),
        )
    return 204, None


@operation("getReservedCustomers")
def get_reserved_customers(ctx: Ctx) -> tuple[int, Any]:
    row = _coupon(ctx)
    profiles = ctx.db.execute(
        "SELECT p.* FROM profiles p JOIN reservations r ON r.profile_integration_id = p.integration_id"
        " WHERE r.coupon_id = ? ORDER BY p.id",
        (row["id"],),
    ).fetchall()
    return 200, {"totalResultSize": len(profiles), "data": [model.profile_json(ctx, p) for p in profiles]}


def _referral_campaign(ctx: Ctx, campaign_id: int) -> Any:
    campaign = ctx.seed.campaign(campaign_id)
    if campaign is None or not campaign.referral_pattern:
        usable = ", ".join(str(c.id) for c in ctx.seed.campaigns if c.referral_pattern) or "none"
        raise ApiProblem(400, "Invalid request", [
            api_error(f"campaign {campaign_id} does not issue referral codes", pointer="/campaignId",
                      details=f"referral campaigns: {usable}")
        ])  # fmt: skip
    return campaign


def _state_random(ctx: Ctx, purpose: str) -> random.Random:
    """A generator seeded by the store's state: reproducible, and different for every new referral."""
    (count,) = ctx.db.execute("SELECT COUNT(*) FROM referrals").fetchone()
    return random.Random(f"{purpose}|{count}")


def _new_code(ctx: Ctx, pattern: str, characters: list[str] | tuple[str, ...]) -> str:
    chooser = _state_random(ctx, pattern)
    for _ in range(100):
        code = "".join(chooser.choice(characters) if ch == "#" else ch for ch in pattern)
        if ctx.db.execute("SELECT 1 FROM referrals WHERE code = ?", (code,)).fetchone() is None:
            return code
    raise ApiProblem(
        400,
        "Invalid request",
        [api_error("the code pattern has no unused codes left", pointer="/referralPattern")],
    )


def _stamp(value: str | None) -> str | None:
    """Dates are stored as the API writes them (validated on the way in)."""
    return None if value is None else iso(parse_instant(value))


def _expiry(value: Any) -> Any:
    # "absent, zero or negative -> never expires": a zero (0001-01-01) timestamp counts as absent
    return None if value is None or str(value).startswith("0001-01-01") else value


def _insert_referral(
    ctx: Ctx, campaign_id: int, advocate: str, body: dict[str, Any], code: str, batch: str | None
) -> Any:
    model.ensure_profile(ctx, advocate)
    cursor = ctx.db.execute(
        "INSERT INTO referrals (code, campaign_id, advocate, friend, start_date, expiry_date, usage_limit, attributes,"
        " batch_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (code, campaign_id, advocate, body.get("friendProfileIntegrationId"), _stamp(body.get("startDate")),
         _stamp(_expiry(body.get("expiryDate"))), body.get("usageLimit", 0), dumps(body.get("attributes") or {}),
         batch, ctx.stamp),
    )  # fmt: skip
    return ctx.db.execute("SELECT * FROM referrals WHERE id = ?", (cursor.lastrowid,)).fetchone()


@operation("createReferral")
def create_referral(ctx: Ctx) -> tuple[int, Any]:
    body = ctx.body
    campaign = _referral_campaign(ctx, body["campaignId"])
    errors = model.check_attributes(ctx.seed, "referral", body.get("attributes"), "/attributes")
    errors += model.blank_ids([(body["advocateProfileIntegrationId"], "/advocateProfileIntegrationId")])
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    code = _new_code(ctx, campaign.referral_pattern, campaign.referral_characters)
    row = _insert_referral(ctx, campaign.id, body["advocateProfileIntegrationId"], body, code, None)
    return 201, model.referral_json(ctx.db, row)


@operation("createReferralsForMultipleAdvocates")
def create_referrals_for_multiple_advocates(ctx: Ctx) -> tuple[int, Any]:
    body = ctx.body
    campaign = _referral_campaign(ctx, body["campaignId"])
    errors = model.check_attributes(ctx.seed, "referral", body.get("attributes"), "/attributes")
    errors += model.blank_ids(
        (a, f"/advocateProfileIntegrationIds/{i}")
        for i, a in enumerate(body["advocateProfileIntegrationIds"])
    )
    pattern = body.get("referralPattern") or campaign.referral_pattern
    if "#" not in pattern:
        errors.append(
            api_error(
                "the pattern needs at least one '#' to make a code per advocate", pointer="/referralPattern"
            )
        )
    characters = body.get("validCharacters") or list(campaign.referral_characters)
    for i, character in enumerate(characters):
        if len(character) != 1:
            errors.append(
                api_error("valid characters are single characters", pointer=f"/validCharacters/{i}")
            )
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    batch = f"{_state_random(ctx, 'batch').getrandbits(48):012x}"
    rows = [
        _insert_referral(ctx, campaign.id, advocate, body, _new_code(ctx, pattern, characters), batch)
        for advocate in dict.fromkeys(body["advocateProfileIntegrationIds"])
    ]
    if ctx.query.get("silent", "yes") == "yes":
        return 204, None
    return 201, {"totalResultSize": len(rows), "data": [model.referral_json(ctx.db, r) for r in rows]}
