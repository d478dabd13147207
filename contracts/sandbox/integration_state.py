"""Answers in the vendor's shapes that sessions and profiles share: ``IntegrationStateV2`` with the
parts ``responseContent`` asks for, a profile's loyalty, a session's returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import model
from .journal import event_json
from .model import Ctx
from .rules import Evaluation
from .session_data import Record, session_json
from .store import loads
from .times import parse_optional

__all__ = ["integration_state", "loyalty_json", "returns_json"]


def integration_state(ctx: Ctx, *, effects: list[dict[str, Any]], row: Record, data: Mapping[str, Any],
                      outcome: Evaluation | None, wanted: list[str], event_id: int | None,
                      extra: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """An IntegrationStateV2 with the parts ``responseContent`` asks for."""
    result: dict[str, Any] = {"effects": effects, "createdCoupons": [], "createdReferrals": []}
    profile = row["profile_id"]
    for part in dict.fromkeys(wanted):
        if part == "customerSession":
            result["customerSession"] = session_json(ctx, row, data)
        elif part == "customerProfile" and profile:
            prow = model.profile_row(ctx.db, profile)
            if prow is not None:
                result["customerProfile"] = model.profile_json(ctx, prow)
        elif part == "coupons":
            coupons = []
            for code in dict.fromkeys(data["couponCodes"]):
                crow = model.coupon_row(ctx.db, code)
                if crow is not None:
                    coupon = model.coupon_json(ctx, crow)
                    coupon["profileRedemptionCount"] = model.profile_redemptions(ctx.db, crow["id"], profile)
                    coupons.append(coupon)
            result["coupons"] = coupons
        elif part == "triggeredCampaigns":
            result["triggeredCampaigns"] = [
                model.campaign_json(ctx, c) for c in (outcome.triggered if outcome else [])
            ]
        elif part == "referral" and data.get("referralCode"):
            rrow = ctx.db.execute(
                "SELECT * FROM referrals WHERE code = ?", (data["referralCode"],)
            ).fetchone()
            if rrow is not None:
                result["referral"] = model.referral_json(ctx.db, rrow, inventory=True)
        elif part == "loyalty":
            result["loyalty"] = loyalty_json(ctx, profile, data.get("loyaltyCards") or [],
                                             effects if row["state"] == "open" else [])  # fmt: skip
        elif part == "event" and event_id is not None:
            result["event"] = event_json(ctx, event_id, outcome.meta if outcome else None)
        elif part == "awardedGiveaways":
            result["awardedGiveaways"] = []
        elif part == "ruleFailureReasons":
            result["ruleFailureReasons"] = outcome.failures if outcome else []
        elif part == "previousReturns":
            result["previousReturns"] = returns_json(ctx, row)
    result.update(extra or {})
    return result


def loyalty_json(
    ctx: Ctx, profile: str, cards: list[str], open_effects: list[dict[str, Any]]
) -> dict[str, Any]:
    """The profile's programs (with tentative balances from an open session's effects) and its cards."""
    # program -> subledger -> (current, pending) points the open session would book
    tentative: dict[int, dict[str, tuple[float, float]]] = {}
    for effect in open_effects:
        props = effect["props"]
        if props.get("recipientIntegrationId", profile) != profile or props.get("cardIdentifier"):
            continue  # somebody else's points (a referral's advocate), or a card's
        start = parse_optional(props.get("startDate"))
        if effect["effectType"] == "addLoyaltyPoints":
            change = (
                (0.0, props["value"])
                if start is not None and start > ctx.clock_now
                else (props["value"], 0.0)
            )
        elif effect["effectType"] == "deductLoyaltyPoints":
            change = (-props["value"], 0.0)
        else:
            continue
        per = tentative.setdefault(props["programId"], {})
        current, pending = per.get(props["subLedgerId"], (0.0, 0.0))
        per[props["subLedgerId"]] = (current + change[0], pending + change[1])
    programs: dict[str, Any] = {}
    if profile:
        ids = {
            r[0]
            for r in ctx.db.execute(
                "SELECT DISTINCT program_id FROM ledger WHERE profile_integration_id = ?", (profile,)
            )
        }
        ids |= set(tentative)
        for program_id in sorted(ids):
            program = ctx.seed.programs.get(program_id)
            if program is not None and not program.card_based:
                programs[str(program_id)] = model.program_ledgers_json(
                    ctx, program, profile, tentative.get(program_id)
                )
    result: dict[str, Any] = {"programs": programs}
    if cards:
        rows = [model.card_row(ctx.db, card) for card in cards]
        result["cards"] = [model.card_json(ctx, r) for r in rows if r is not None]
    return result


def returns_json(ctx: Ctx, row: Record) -> list[dict[str, Any]]:
    prow = model.profile_row(ctx.db, row["profile_id"]) if row["profile_id"] else None
    result = []
    for ret in ctx.db.execute(
        "SELECT * FROM returns WHERE session_integration_id = ? ORDER BY id", (row["integration_id"],)
    ):
        item: dict[str, Any] = {
            "id": ret["id"],
            "created": ret["created"],
            "applicationId": ctx.seed.application_id,
            "accountId": ctx.seed.account_id,
            "returnedCartItems": loads(ret["items"]),
            "eventId": ret["event_id"],
            "sessionId": row["id"],
            "sessionIntegrationId": row["integration_id"],
            "createdBy": 1,
        }
        if prow is not None:
            item["profileId"] = prow["id"]
            item["profileIntegrationId"] = prow["integration_id"]
        result.append(item)
    return result
