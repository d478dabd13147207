"""What closing a session commits, and rolling it back.

A close redeems the accepted coupons and referral, books the ledger entries of the points its
effects award or deduct, and counts the sale on the profile; the record of it (the session's
``committed`` column) says what to undo later. A rollback undoes it as rollback effects: all of it
at a cancel, all but the points already active at a reopen, and only what is tied to the returned
items at a return.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .journal import insert_ledger_entry
from .model import Ctx
from .rules import Evaluation
from .store import loads
from .times import parse_optional

__all__ = ["commit_close", "commitment", "empty_commitment", "remaining_value", "rollback", "sales_change"]


def empty_commitment() -> dict[str, Any]:
    return {
        "effects": [],
        "coupons": [],
        "referral": None,
        "ledger": [],
        "discounts": [],
        "units": {},
        "kept": [],
    }


def commitment(row: sqlite3.Row) -> dict[str, Any]:
    """What the session's close committed (see commit_close), or an empty record."""
    return {**empty_commitment(), **(loads(row["committed"]) or {})}


# --------------------------------------------------------------------------- committing


def commit_close(
    ctx: Ctx,
    session: str,
    profile: str,
    data: Mapping[str, Any],
    outcome: Evaluation,
    kept: list[dict[str, Any]],
) -> dict[str, Any]:
    """Make a close count: redemptions, ledger entries, profile counters. Returns what to roll back later.

    ``kept``: point additions of an earlier close that stayed when the session was reopened; the
    same rule awarding the same points (the same transaction UUID) does not book them twice.
    """
    committed = empty_commitment()
    committed["effects"] = outcome.effects
    committed["units"] = {
        str(i): item["quantity"] - item.get("returnedQuantity", 0) for i, item in enumerate(data["cartItems"])
    }
    already = {item["effect"]["props"]["transactionUUID"]: item for item in kept}
    _redeem(ctx, session, profile, outcome, committed)
    for index, effect in enumerate(outcome.effects):
        _commit_effect(ctx, session, profile, index, effect, already, committed)
    committed["ledger"].extend(
        {k: v for k, v in i.items() if k != "index"} for i in already.values()
    )  # kept points no rule awards any more: still this session's
    sales_change(ctx, profile, 1, remaining_value(data))
    return committed


def _redeem(ctx: Ctx, session: str, profile: str, outcome: Evaluation, committed: dict[str, Any]) -> None:
    """Count the accepted coupons and referral as used by this session."""
    db = ctx.db
    for coupon in outcome.coupons:
        db.execute("UPDATE coupons SET usage_counter = usage_counter + 1 WHERE id = ?", (coupon.id,))
        db.execute(
            "INSERT INTO coupon_redemptions (coupon_id, profile_integration_id, session_integration_id) VALUES (?, ?, ?)",
            (coupon.id, profile, session),
        )
        committed["coupons"].append(
            {"id": coupon.id, "value": coupon.value, "campaignId": coupon.campaign_id}
        )
    if outcome.referral is not None:
        ref = outcome.referral
        db.execute("UPDATE referrals SET usage_counter = usage_counter + 1 WHERE id = ?", (ref.id,))
        db.execute(
            "INSERT INTO referral_uses (referral_id, friend, session_integration_id) VALUES (?, ?, ?)",
            (ref.id, profile, session),
        )
        committed["referral"] = {"id": ref.id, "code": ref.code, "campaignId": ref.campaign_id}


def _commit_effect(
    ctx: Ctx,
    session: str,
    profile: str,
    index: int,
    effect: dict[str, Any],
    already: dict[str, dict[str, Any]],
    committed: dict[str, Any],
) -> None:
    """Book one effect of the close (points, discounts), noting it in ``committed``; ``already``: the
    kept additions not met yet (an addition met is taken out of it)."""
    props = effect["props"]
    kind = effect["effectType"]
    if kind == "addLoyaltyPoints":
        booked = already.pop(props["transactionUUID"], None)
        if booked is not None:
            committed["ledger"].append(
                {**booked, "index": index}
            )  # it stayed at the reopen: not booked again
            extra = round(props["value"] - booked["effect"]["props"]["value"], 2)
            if extra <= 0:
                return
            props = {**props, "value": extra}
            effect = {**effect, "props": props}
        ledger_id = insert_ledger_entry(ctx, props, "addition", props["value"], session, effect,
                                        start=props.get("startDate"), expiry=props.get("expiryDate"),
                                        uuid_=props["transactionUUID"])  # fmt: skip
        committed["ledger"].append({"id": ledger_id, "effect": effect, "reversed": 0.0, "index": index})
    elif kind == "deductLoyaltyPoints":
        owner = {**props, "recipientIntegrationId": profile}
        ledger_id = insert_ledger_entry(
            ctx, owner, "subtraction", props["value"], session, effect, uuid_=props["transactionUUID"]
        )
        committed["ledger"].append(
            {"id": ledger_id, "effect": {**effect, "props": owner}, "reversed": 0.0, "index": index}
        )
    elif kind in ("setDiscount", "setDiscountPerItem"):
        committed["discounts"].append({"effect": effect, "rolled": 0.0, "index": index})


def sales_change(ctx: Ctx, profile: str, closed_delta: int, sales_delta: float) -> None:
    if profile:
        ctx.db.execute(
            "UPDATE profiles SET closed_sessions = MAX(closed_sessions + ?, 0), total_sales = total_sales + ?"
            " WHERE integration_id = ?",
            (closed_delta, sales_delta, profile),
        )


def remaining_value(data: Mapping[str, Any]) -> float:
    items = sum(
        item["price"] * (item["quantity"] - item.get("returnedQuantity", 0)) for item in data["cartItems"]
    )
    return round(float(items + sum(c["price"] for c in data["additionalCosts"].values())), 2)


# --------------------------------------------------------------------------- rolling back


def _wrap(effect: Mapping[str, Any], effect_type: str, props: dict[str, Any]) -> dict[str, Any]:
    return {key: effect[key] for key in ("campaignId", "rulesetId", "ruleIndex", "ruleName")} | {
        "effectType": effect_type,
        "props": props,
    }


def rollback(ctx: Ctx, session: str, profile: str, committed: dict[str, Any], *, mode: str,
             returned: Mapping[int, tuple[int, int]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Undo what a close committed, as rollback effects.

    mode ``cancel``: everything left; ``reopen``: everything but points already active;
    ``return``: only what is tied to the returned items (position -> (returned, quantity)).
    """
    whole = mode in ("cancel", "reopen")
    share = _share_of(whole, returned)
    effects = _roll_back_discounts(committed, whole, share)
    effects += _roll_back_points(ctx, session, committed, mode, share)
    if whole:
        effects += _release_codes(ctx, session, committed)
    return effects


def _share_of(whole: bool, returned: Mapping[int, tuple[int, int]] | None) -> Callable[[int | None], float]:
    """The share of what an effect tied to a cart position (or to none) gave that is rolled back."""

    def share(position: int | None) -> float:
        if whole:
            return 1.0
        if position is None or returned is None or position not in returned:
            return 0.0
        units, quantity = returned[position]
        return units / quantity if quantity else 0.0

    return share


def _roll_back_discounts(
    committed: dict[str, Any], whole: bool, share: Callable[[int | None], float]
) -> list[dict[str, Any]]:
    effects: list[dict[str, Any]] = []
    for item in committed["discounts"]:
        effect = item["effect"]
        props = effect["props"]
        position = props.get("position")
        if not whole and position is None:
            continue  # session-wide discounts are not tied to items
        amount = round(min(props["value"] * share(position), props["value"] - item["rolled"]), 2)
        if amount <= 0:
            continue
        item["rolled"] += amount
        undo = {"name": props["name"], "value": amount, "scope": props.get("scope", "sessionTotal")}
        if position is not None:
            undo["cartItemPosition"] = position
        effects.append(_wrap(effect, "rollbackDiscount", undo))
    return effects


def _roll_back_points(
    ctx: Ctx, session: str, committed: dict[str, Any], mode: str, share: Callable[[int | None], float]
) -> list[dict[str, Any]]:
    """Compensating ledger entries for the points the close booked (their share), as rollback effects."""
    whole = mode in ("cancel", "reopen")
    effects: list[dict[str, Any]] = []
    now = ctx.clock_now
    for item in committed["ledger"]:
        effect = item["effect"]
        props = effect["props"]
        position = props.get("cartItemPosition")
        if not whole and position is None:
            continue
        left = props["value"] - item["reversed"]
        amount = round(min(props["value"] * share(position), left), 2)
        if amount <= 0:
            continue
        if effect["effectType"] == "addLoyaltyPoints":
            start = parse_optional(props.get("startDate"))
            if mode == "reopen" and (start is None or start <= now):
                continue  # already-active points stay at a reopen
            effects.append(_take_back_points(ctx, session, item, amount, position))
        else:
            effects.append(_give_back_points(ctx, session, item, amount))
        item["reversed"] += amount
    return effects


def _take_back_points(
    ctx: Ctx, session: str, item: dict[str, Any], amount: float, position: int | None
) -> dict[str, Any]:
    """A subtraction that reverses (part of) the addition ``item``, and its rollback effect."""
    effect = item["effect"]
    props = effect["props"]
    compensation = str(uuid.uuid5(uuid.UUID(props["transactionUUID"]), f"rollback/{item['reversed']}"))
    insert_ledger_entry(ctx, props, "subtraction", amount, session, effect, uuid_=compensation,
                        reverses=item["id"], name=f"Rollback: {props['name']}")  # fmt: skip
    undo = {"programId": props["programId"], "subLedgerId": props["subLedgerId"], "value": amount,
                "recipientIntegrationId": props["recipientIntegrationId"], "transactionUUID": compensation}  # fmt: skip
    if position is not None:
        undo["cartItemPosition"] = position
    if props.get("cardIdentifier"):
        undo["cardIdentifier"] = props["cardIdentifier"]
    return _wrap(effect, "rollbackAddedLoyaltyPoints", undo)


def _give_back_points(ctx: Ctx, session: str, item: dict[str, Any], amount: float) -> dict[str, Any]:
    """An addition that refunds (part of) the subtraction ``item``, and its rollback effect."""
    effect = item["effect"]
    props = effect["props"]
    compensation = str(uuid.uuid5(uuid.UUID(props["transactionUUID"]), f"refund/{item['reversed']}"))
    insert_ledger_entry(ctx, props, "addition", amount, session, effect, uuid_=compensation, reverses=item["id"],
                        name=f"Rollback: {props['name']}")  # fmt: skip
    undo = {"programId": props["programId"], "subLedgerId": props["subLedgerId"], "value": amount,
                "recipientIntegrationId": props["recipientIntegrationId"], "transactionUUID": compensation}  # fmt: skip
    if props.get("cardIdentifier"):
        undo["cardIdentifier"] = props["cardIdentifier"]
    return _wrap(effect, "rollbackDeductedLoyaltyPoints", undo)


def _release_codes(ctx: Ctx, session: str, committed: dict[str, Any]) -> list[dict[str, Any]]:
    """Give back the coupon and referral uses of the close, as rollback effects."""
    db = ctx.db
    effects: list[dict[str, Any]] = []
    for coupon in committed["coupons"]:
        db.execute(
            "UPDATE coupons SET usage_counter = MAX(usage_counter - 1, 0) WHERE id = ?", (coupon["id"],)
        )
        db.execute(
            "DELETE FROM coupon_redemptions WHERE coupon_id = ? AND session_integration_id = ?",
            (coupon["id"], session),
        )
        origin = next((e for e in committed["effects"] if e["effectType"] == "acceptCoupon"
                       and e["props"]["value"] == coupon["value"]), None)  # fmt: skip
        if origin is not None:
            effects.append(_wrap(origin, "rollbackCoupon", {"value": coupon["value"]}))
    committed["coupons"] = []
    referral = committed["referral"]
    if referral is not None:
        db.execute(
            "UPDATE referrals SET usage_counter = MAX(usage_counter - 1, 0) WHERE id = ?",
            (referral["id"],),
        )
        db.execute(
            "DELETE FROM referral_uses WHERE referral_id = ? AND session_integration_id = ?",
            (referral["id"], session),
        )
        origin = next((e for e in committed["effects"] if e["effectType"] == "acceptReferral"), None)
        if origin is not None:
            effects.append(_wrap(origin, "rollbackReferral", {"value": referral["code"]}))
        committed["referral"] = None
    return effects
