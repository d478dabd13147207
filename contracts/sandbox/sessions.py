"""Customer sessions: UpdateCustomerSessionV2, GetCustomerSession, ReopenCustomerSession, ReturnCartItems.

State machine (behaviour digest, section 1.1): a session is born ``open`` or ``closed``;
``open`` -> open | closed | cancelled via UpdateCustomerSessionV2; ``closed`` -> cancelled
(UpdateCustomerSessionV2), -> partially_returned (ReturnCartItems), -> open
(ReopenCustomerSession); ``partially_returned`` -> partially_returned (more returns), open
(reopen) or cancelled; ``cancelled`` is terminal. Anything else is a 400.

Decisions on the digest's open questions (see the README):

* merge (6): fields a PUT omits keep their stored values; given fields replace them
  (``cartItems`` wholesale); ``attributes`` merge per key; an empty ``couponCodes`` array or
  an empty ``referralCode`` clears the stored value;
* a PUT that closes an already closed session with the same content is a no-op answered with
  the stored state (safe retries); any change to a closed session is a 400;
* dry closing (5): only the request payload is evaluated, not the stored session;
* ``now`` (7): only with ``dry=true`` and only in the future, else 400;
* a partially returned session (4) can take further returns and can be reopened (what is left
  of its close is rolled back);
* points that were already active stay at a reopen (as the digest says), pending ones are rolled
  back; closing the session again does not book the points that stayed a second time (they carry
  the same transaction UUID), and cancelling it rolls back whatever is still booked for it;
* the rules see the units not returned; a cancel changes the state only (content sent with it is
  ignored); the cart's server-computed fields (position, returned/remaining quantity) are never
  taken from the client.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from . import model
from .engine import CartLine, CouponState, Outcome, ReferralState, Situation, evaluate
from .ledger import entries_from_rows, replay
from .model import ApiProblem, Ctx, api_error, bad_request, not_found
from .registry import operation
from .store import dumps, loads
from .times import iso, parse_optional

_TRANSITIONS = {
    ("open", "open"): "talon_session_updated",
    ("open", "closed"): "talon_session_closed",
    ("open", "cancelled"): "talon_session_cancelled",
    ("closed", "cancelled"): "talon_session_revoked",
    ("partially_returned", "cancelled"): "talon_session_revoked",
}
_MAX_UNITS = 10_000
_COMPUTED = ("position", "returnedQuantity", "remainingQuantity")
Record = sqlite3.Row | Mapping[str, Any]  # a sessions row, or the same fields in a dict


# --------------------------------------------------------------------------- facts for the engine


class SqlFacts:
    """The engine's lookups, answered from the database for one profile."""

    def __init__(self, ctx: Ctx, profile: str) -> None:
        self.ctx = ctx
        self.profile = profile

    def coupon(self, value: str) -> CouponState | None:
        found = self.ctx.seed.coupon_campaign(value)
        if found is None:
            return None
        row = self.ctx.db.execute(
            "SELECT c.id, c.campaign_id, c.usage_counter,"
            " EXISTS (SELECT 1 FROM reservations r WHERE r.coupon_id = c.id AND r.profile_integration_id = ?1)"
            " AS reserved, (SELECT COUNT(*) FROM coupon_redemptions d WHERE d.coupon_id = c.id"
            " AND d.profile_integration_id = ?1) AS used FROM coupons c WHERE c.value = ?2",
            (self.profile, value),
        ).fetchone()
        if row is None:
            return None
        return CouponState(
            id=row["id"],
            value=value,
            campaign_id=row["campaign_id"],
            usage_counter=row["usage_counter"],
            spec=found[1],
            profile_redemptions=row["used"] if self.profile else 0,
            reserved_by_profile=bool(self.profile and row["reserved"]),
        )

    def referral(self, code: str) -> ReferralState | None:
        row = self.ctx.db.execute("SELECT * FROM referrals WHERE code = ?", (code,)).fetchone()
        if row is None:
            return None
        return ReferralState(
            id=row["id"],
            code=code,
            campaign_id=row["campaign_id"],
            advocate=row["advocate"],
            friend=row["friend"],
            start=parse_optional(row["start_date"]),
            expiry=parse_optional(row["expiry_date"]),
            usage_limit=row["usage_limit"],
            usage_counter=row["usage_counter"],
        )

    def points(self, program: int, subledger: str) -> float:
        rows = model.ledger_entries(self.ctx.db, program, profile=self.profile)
        return float(
            replay([e for e in entries_from_rows(rows) if e.subledger == subledger], self.ctx.now).active
        )


def card_program(ctx: Ctx, identifier: str) -> int | None:
    row = model.card_row(ctx.db, identifier)
    return row["program_id"] if row is not None and row["status"] == "active" else None


# --------------------------------------------------------------------------- session data


def _merge(stored: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    # both come freshly parsed from JSON and are not used elsewhere: no copies needed
    data: dict[str, Any] = dict(stored) if stored else {}
    for key in ("storeIntegrationId", "couponCodes", "loyaltyCards", "additionalCosts", "identifiers"):
        if key in payload:
            data[key] = payload[key]
    if "cartItems" in payload:
        # position, returnedQuantity and remainingQuantity are the server's to compute
        data["cartItems"] = [
            {k: v for k, v in item.items() if k not in _COMPUTED} for item in payload["cartItems"]
        ]
    if "referralCode" in payload:
        if payload["referralCode"]:
            data["referralCode"] = payload["referralCode"]
        else:
            data.pop("referralCode", None)
    if "attributes" in payload:
        merged = dict(data.get("attributes") or {})
        merged.update(payload["attributes"] or {})
        data["attributes"] = merged
    for key, default in (("couponCodes", []), ("loyaltyCards", []), ("cartItems", []), ("additionalCosts", {}),
                         ("identifiers", []), ("attributes", {})):  # fmt: skip
        data.setdefault(key, default)
    return data


def _prepare(ctx: Ctx, data: dict[str, Any]) -> list[CartLine]:
    """Check a session's content against the Application; fill catalog prices. Raises a 400."""
    base = "/customerSession"
    errors = model.check_attributes(ctx.seed, "session", data.get("attributes"), f"{base}/attributes")
    units = 0
    lines = []
    catalog = ctx.store.catalog(ctx.db)
    for i, item in enumerate(data["cartItems"]):
        errors += model.check_attributes(
            ctx.seed, "cartItem", item.get("attributes"), f"{base}/cartItems/{i}/attributes"
        )
        units += item.get("quantity", 0)
        entry = catalog.get(item["sku"])
        if "price" not in item:
            if entry is None or entry[0] is None:
                errors.append(api_error(f"cart item {item['sku']!r} has no price and is not in the catalog",
                                        pointer=f"{base}/cartItems/{i}/price"))  # fmt: skip
                continue
            item["price"] = entry[0]
        attributes = dict(entry[1]) if entry is not None else {}
        attributes.update(item.get("attributes") or {})  # the session's values win over the catalog's
        item["position"] = i
        item.setdefault("returnedQuantity", 0)
        item["remainingQuantity"] = item["quantity"] - item["returnedQuantity"]
        if item["remainingQuantity"] > 0:  # returned units no longer count for the rules
            lines.append(
                CartLine(i, item["sku"], item["remainingQuantity"], float(item["price"]), attributes)
            )
    costs = sum(
        cost.get("price", 0) for cost in data["additionalCosts"].values() if isinstance(cost, Mapping)
    )
    if not math.isfinite(sum(line.price * line.quantity for line in lines) + costs):
        errors.append(api_error("the session's total is too large to compute", pointer=f"{base}/cartItems"))
    if units > _MAX_UNITS:
        errors.append(api_error(f"the cart holds {units} units; at most {_MAX_UNITS} per request",
                                pointer=f"{base}/cartItems"))  # fmt: skip
    for name in data["additionalCosts"]:
        if name not in ctx.seed.additional_costs:
            known = ", ".join(ctx.seed.additional_costs) or "none"
            errors.append(api_error(f"unknown additional cost {name!r}", pointer=f"{base}/additionalCosts/{name}",
                                    details=f"defined: {known}"))  # fmt: skip
    for i, card in enumerate(data["loyaltyCards"]):
        if card_program(ctx, card) is None:
            errors.append(
                api_error(f"unknown or inactive loyalty card {card!r}", pointer=f"{base}/loyaltyCards/{i}")
            )
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    return lines


def _totals(data: Mapping[str, Any]) -> tuple[float, float]:
    items = round(sum(item["price"] * item["quantity"] for item in data["cartItems"]), 2)
    costs = round(sum(cost["price"] for cost in data["additionalCosts"].values()), 2)
    return items, costs


def session_json(ctx: Ctx, row: Record, data: Mapping[str, Any]) -> dict[str, Any]:
    items, costs = _totals(data)
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "integrationId": row["integration_id"],
        "applicationId": ctx.seed.application_id,
        "profileId": row["profile_id"],
        "couponCodes": data["couponCodes"],
        "loyaltyCards": data["loyaltyCards"],
        "state": row["state"],
        "cartItems": data["cartItems"],
        "additionalCosts": data["additionalCosts"],
        "identifiers": data["identifiers"],
        "attributes": data["attributes"],
        "firstSession": bool(row["first_session"]),
        "total": round(items + costs, 2),
        "cartItemTotal": items,
        "additionalCostTotal": costs,
        "updated": row["updated"],
    }
    for key in ("storeIntegrationId", "referralCode"):
        if key in data:
            result[key] = data[key]
    return result


def _session(ctx: Ctx, integration_id: str) -> sqlite3.Row | None:
    return ctx.db.execute("SELECT * FROM sessions WHERE integration_id = ?", (integration_id,)).fetchone()  # type: ignore[no-any-return]


def _event(ctx: Ctx, kind: str, profile: str, session: str | None, attributes: Mapping[str, Any],
           effects: list[dict[str, Any]], store: str | None = None) -> int:  # fmt: skip
    cursor = ctx.db.execute(
        "INSERT INTO events (type, profile_id, session_id, store_id, created, attributes, effects) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, profile, session, store, ctx.stamp, dumps(dict(attributes)), dumps(effects)),
    )
    return int(cursor.lastrowid or 0)


def event_json(ctx: Ctx, event_id: int, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    row = ctx.db.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "applicationId": ctx.seed.application_id,
        "profileId": row["profile_id"] or "",
        "type": row["type"],
        "attributes": loads(row["attributes"]),
        "effects": loads(row["effects"]),
        "ledgerEntries": [],
        "meta": {"campaigns": {}, "coupons": {}, "warnings": {}, **(meta or {})},
    }
    if row["session_id"] is not None:
        result["sessionId"] = row["session_id"]
    if row["store_id"]:
        result["storeIntegrationId"] = row["store_id"]
    return result


# --------------------------------------------------------------------------- committing and rolling back


def _ledger_insert(ctx: Ctx, props: Mapping[str, Any], kind: str, amount: float, session: str | None, effect: Mapping[str, Any],
                   *, start: str | None = None, expiry: str | None = None, uuid_: str, reverses: int | None = None,
                   name: str | None = None) -> int:  # fmt: skip
    cursor = ctx.db.execute(
        "INSERT INTO ledger (program_id, subledger_id, profile_integration_id, card_identifier, kind, amount, name,"
        " start_date, expiry_date, created, session_integration_id, transaction_type, ruleset_id, rule_name,"
        " transaction_uuid, reverses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'session', ?, ?, ?, ?)",
        (props["programId"], props["subLedgerId"], props.get("recipientIntegrationId"), props.get("cardIdentifier"),
         kind, amount, name or props["name"], start, expiry, ctx.stamp, session, effect["rulesetId"],
         effect["ruleName"], uuid_, reverses),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def _empty_commitment() -> dict[str, Any]:
    return {
        "effects": [],
        "coupons": [],
        "referral": None,
        "ledger": [],
        "discounts": [],
        "units": {},
        "kept": [],
    }


def _commitment(row: sqlite3.Row) -> dict[str, Any]:
    """What the session's close committed (see _commit_close), or an empty record."""
    return {**_empty_commitment(), **(loads(row["committed"]) or {})}


def _commit_close(
    ctx: Ctx,
    session: str,
    profile: str,
    data: Mapping[str, Any],
    outcome: Outcome,
    kept: list[dict[str, Any]],
) -> dict[str, Any]:
    """Make a close count: redemptions, ledger entries, profile counters. Returns what to roll back later.

    ``kept``: point additions of an earlier close that stayed when the session was reopened; the
    same rule awarding the same points (the same transaction UUID) does not book them twice.
    """
    db = ctx.db
    committed = _empty_commitment()
    committed["effects"] = outcome.effects
    committed["units"] = {
        str(i): item["quantity"] - item.get("returnedQuantity", 0) for i, item in enumerate(data["cartItems"])
    }
    already = {item["effect"]["props"]["transactionUUID"]: item for item in kept}
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
    for index, effect in enumerate(outcome.effects):
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
                    continue
                props = {**props, "value": extra}
                effect = {**effect, "props": props}
            ledger_id = _ledger_insert(ctx, props, "addition", props["value"], session, effect,
                                       start=props.get("startDate"), expiry=props.get("expiryDate"),
                                       uuid_=props["transactionUUID"])  # fmt: skip
            committed["ledger"].append({"id": ledger_id, "effect": effect, "reversed": 0.0, "index": index})
        elif kind == "deductLoyaltyPoints":
            owner = {**props, "recipientIntegrationId": profile}
            ledger_id = _ledger_insert(
                ctx, owner, "subtraction", props["value"], session, effect, uuid_=props["transactionUUID"]
            )
            committed["ledger"].append(
                {"id": ledger_id, "effect": {**effect, "props": owner}, "reversed": 0.0, "index": index}
            )
        elif kind in ("setDiscount", "setDiscountPerItem"):
            committed["discounts"].append({"effect": effect, "rolled": 0.0, "index": index})
    committed["ledger"].extend(
        {k: v for k, v in i.items() if k != "index"} for i in already.values()
    )  # kept points no rule awards any more: still this session's
    _sales_change(ctx, profile, 1, _remaining_value(data))
    return committed


def _wrap(effect: Mapping[str, Any], effect_type: str, props: dict[str, Any]) -> dict[str, Any]:
    return {key: effect[key] for key in ("campaignId", "rulesetId", "ruleIndex", "ruleName")} | {
        "effectType": effect_type,
        "props": props,
    }


def _rollback(ctx: Ctx, session: str, profile: str, committed: dict[str, Any], *, mode: str,
              returned: Mapping[int, tuple[int, int]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Undo what a close committed, as rollback effects.

    mode ``cancel``: everything left; ``reopen``: everything but points already active;
    ``return``: only what is tied to the returned items (position -> (returned, quantity)).
    """
    db = ctx.db
    effects: list[dict[str, Any]] = []
    whole = mode in ("cancel", "reopen")

    def share(position: int | None) -> float:
        if whole:
            return 1.0
        if position is None or returned is None or position not in returned:
            return 0.0
        units, quantity = returned[position]
        return units / quantity if quantity else 0.0

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
        rollback = {"name": props["name"], "value": amount, "scope": props.get("scope", "sessionTotal")}
        if position is not None:
            rollback["cartItemPosition"] = position
        effects.append(_wrap(effect, "rollbackDiscount", rollback))
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
            compensation = str(
                uuid.uuid5(uuid.UUID(props["transactionUUID"]), f"rollback/{item['reversed']}")
            )
            _ledger_insert(ctx, props, "subtraction", amount, session, effect, uuid_=compensation,
                           reverses=item["id"], name=f"Rollback: {props['name']}")  # fmt: skip
            rollback = {"programId": props["programId"], "subLedgerId": props["subLedgerId"], "value": amount,
                        "recipientIntegrationId": props["recipientIntegrationId"], "transactionUUID": compensation}  # fmt: skip
            if position is not None:
                rollback["cartItemPosition"] = position
            if props.get("cardIdentifier"):
                rollback["cardIdentifier"] = props["cardIdentifier"]
            effects.append(_wrap(effect, "rollbackAddedLoyaltyPoints", rollback))
        else:
            compensation = str(uuid.uuid5(uuid.UUID(props["transactionUUID"]), f"refund/{item['reversed']}"))
            _ledger_insert(ctx, props, "addition", amount, session, effect, uuid_=compensation, reverses=item["id"],
                           name=f"Rollback: {props['name']}")  # fmt: skip
            rollback = {"programId": props["programId"], "subLedgerId": props["subLedgerId"], "value": amount,
                        "recipientIntegrationId": props["recipientIntegrationId"], "transactionUUID": compensation}  # fmt: skip
            if props.get("cardIdentifier"):
                rollback["cardIdentifier"] = props["cardIdentifier"]
            effects.append(_wrap(effect, "rollbackDeductedLoyaltyPoints", rollback))
        item["reversed"] += amount
    if whole:
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


def _sales_change(ctx: Ctx, profile: str, closed_delta: int, sales_delta: float) -> None:
    if profile:
        ctx.db.execute(
            "UPDATE profiles SET closed_sessions = MAX(closed_sessions + ?, 0), total_sales = total_sales + ?"
            " WHERE integration_id = ?",
            (closed_delta, sales_delta, profile),
        )


def _remaining_value(data: Mapping[str, Any]) -> float:
    items = sum(
        item["price"] * (item["quantity"] - item.get("returnedQuantity", 0)) for item in data["cartItems"]
    )
    return round(float(items + sum(c["price"] for c in data["additionalCosts"].values())), 2)


# --------------------------------------------------------------------------- responses


def integration_state(ctx: Ctx, *, effects: list[dict[str, Any]], row: Record, data: Mapping[str, Any],
                      outcome: Outcome | None, wanted: list[str], event_id: int | None,
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


# --------------------------------------------------------------------------- operations


def _evaluate(ctx: Ctx, session: str, profile: str, prow: sqlite3.Row | None, data: Mapping[str, Any],
              lines: list[CartLine]) -> Outcome:  # fmt: skip
    _, costs = _totals(data)
    situation = Situation(
        now=ctx.now,
        trigger="session",
        profile_id=profile,
        profile_attributes=loads(prow["attributes"]) if prow is not None else {},
        session_id=session,
        cart=lines,
        additional_cost_total=costs,
        session_attributes=data["attributes"],
        coupon_codes=data["couponCodes"],
        referral_code=data.get("referralCode"),
        loyalty_cards=data["loyaltyCards"],
        only_campaigns=frozenset(data["evaluableCampaignIds"])
        if ctx.dry and data.get("evaluableCampaignIds")
        else None,
    )
    return evaluate(ctx.seed, situation, SqlFacts(ctx, profile), lambda card: card_program(ctx, card))


@operation("updateCustomerSessionV2")
def update_customer_session(ctx: Ctx) -> tuple[int, Any]:
    integration_id = ctx.path["customerSessionId"]
    payload = ctx.body["customerSession"]
    wanted = list(ctx.body.get("responseContent") or [])
    if "now" in ctx.query:
        if not ctx.dry:
            raise bad_request("'now' is only accepted together with dry=true", parameter="now")
        if ctx.now <= ctx.clock_now:
            raise bad_request("'now' must lie in the future", parameter="now")
    row = _session(ctx, integration_id)
    stored = loads(row["data"]) if row is not None else None
    old_state = row["state"] if row is not None else None
    new_state = payload.get("state", old_state or "open")
    profile = payload.get("profileId", row["profile_id"] if row is not None else "")

    if row is None and new_state not in ("open", "closed"):
        raise bad_request(
            f"a new session can only be open or closed, not {new_state}", pointer="/customerSession/state"
        )
    if row is not None and profile != row["profile_id"] and old_state != "open":
        raise bad_request(
            "the profile of a closed session cannot change", pointer="/customerSession/profileId"
        )

    if row is not None and new_state == "cancelled":
        data = _merge(stored, {})  # cancelling changes the state only: the order's content stays as it was
    else:
        data = _merge(None if ctx.dry and new_state == "closed" else stored, payload)
    if ctx.dry and payload.get("evaluableCampaignIds"):
        data["evaluableCampaignIds"] = payload["evaluableCampaignIds"]
    lines = _prepare(ctx, data)
    if row is not None and (old_state, new_state) not in _TRANSITIONS:
        if (
            old_state == new_state == "closed"
            and {k: v for k, v in data.items() if k != "evaluableCampaignIds"} == stored
        ):
            # a retried close: answer with what the close returned, change nothing
            return 200, integration_state(ctx, effects=_commitment(row)["effects"], row=row, data=data,
                                          outcome=None, wanted=wanted, event_id=None)  # fmt: skip
        raise bad_request(
            f"a {old_state} session cannot become {new_state}"
            + (" (use ReopenCustomerSession)" if (old_state, new_state) == ("closed", "open") else ""),
            pointer="/customerSession/state",
        )
    data.pop("evaluableCampaignIds", None)
    profile_row = model.ensure_profile(ctx, profile)[0] if profile else None

    outcome: Outcome | None = None
    committed = _commitment(row) if row is not None else _empty_commitment()
    stored_effects = effects = []
    if new_state == "cancelled":
        if old_state in ("closed", "partially_returned"):
            effects = _rollback(ctx, integration_id, profile, committed, mode="cancel")
            _sales_change(ctx, profile, -1, -_remaining_value(data))
        else:  # an open session just ends; points kept at an earlier reopen are rolled back now
            effects = _rollback(
                ctx, integration_id, profile, {**committed, "ledger": committed["kept"]}, mode="cancel"
            )
    else:
        outcome = _evaluate(ctx, integration_id, profile, profile_row, data, lines)
        stored_effects = effects = outcome.effects
        if new_state == "closed":
            committed = _commit_close(ctx, integration_id, profile, data, outcome, committed["kept"])

    kind = "talon_session_created" if row is None else _TRANSITIONS[(old_state, new_state)]  # type: ignore[index]
    if row is None and new_state == "closed":
        kind = "talon_session_closed"
    first = 1  # "first session ever?", decided when the session is created; always true when anonymous
    if row is None and profile:
        first = (
            0
            if ctx.db.execute("SELECT 1 FROM sessions WHERE profile_id = ? LIMIT 1", (profile,)).fetchone()
            else 1
        )
    event_id = _event(
        ctx, kind, profile, integration_id, data["attributes"], effects, data.get("storeIntegrationId")
    )
    if row is None:
        cursor = ctx.db.execute(
            "INSERT INTO sessions (integration_id, profile_id, state, created, updated, first_session, data, effects,"
            " committed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (integration_id, profile, new_state, ctx.stamp, ctx.stamp, first, dumps(data), dumps(stored_effects),
             dumps(committed)),
        )  # fmt: skip
    else:
        ctx.db.execute(
            "UPDATE sessions SET profile_id = ?, state = ?, updated = ?, data = ?, effects = ?, committed = ?"
            " WHERE integration_id = ?",
            (profile, new_state, ctx.stamp, dumps(data), dumps(stored_effects), dumps(committed), integration_id),
        )  # fmt: skip
    if profile:
        model.touch_profile(ctx, profile)
    record = {
        "id": row["id"] if row is not None else cursor.lastrowid,
        "integration_id": integration_id,
        "profile_id": profile,
        "state": new_state,
        "created": row["created"] if row is not None else ctx.stamp,
        "updated": ctx.stamp,
        "first_session": row["first_session"] if row is not None else first,
    }
    return 200, integration_state(ctx, effects=effects, row=record, data=data, outcome=outcome, wanted=wanted,
                                  event_id=event_id)  # fmt: skip


@operation("getCustomerSession")
def get_customer_session(ctx: Ctx) -> tuple[int, Any]:
    row = _session(ctx, ctx.path["customerSessionId"])
    if row is None:
        raise not_found("customer session")
    data = loads(row["data"])
    return 200, {"customerSession": session_json(ctx, row, data), "effects": _net_effects(row)}


def _net_effects(row: sqlite3.Row) -> list[dict[str, Any]]:
    """The session's effects less what was rolled back (rollbacks themselves are not shown)."""
    if row["state"] in ("open", "cancelled"):
        return loads(row["effects"])  # type: ignore[no-any-return]  # the last evaluation; [] once cancelled
    committed = _commitment(row)
    rolled: dict[int, float] = {}
    for item in committed["discounts"] + committed["ledger"]:
        if "index" in item:
            rolled[item["index"]] = rolled.get(item["index"], 0.0) + item.get(
                "rolled", item.get("reversed", 0.0)
            )
    net = []
    for index, effect in enumerate(committed["effects"]):
        if index in rolled:
            value = round(effect["props"]["value"] - rolled[index], 2)
            if value <= 0:
                continue
            effect = {**effect, "props": {**effect["props"], "value": value}}
        net.append(effect)
    return net


@operation("reopenCustomerSession")
def reopen_customer_session(ctx: Ctx) -> tuple[int, Any]:
    integration_id = ctx.path["customerSessionId"]
    row = _session(ctx, integration_id)
    if row is None:
        raise not_found("customer session")
    if row["state"] not in ("closed", "partially_returned"):
        raise bad_request(f"only a closed session can be reopened; this one is {row['state']}")
    data = loads(row["data"])
    committed = _commitment(row)
    profile = row["profile_id"]
    effects = _rollback(ctx, integration_id, profile, committed, mode="reopen")
    _sales_change(ctx, profile, -1, -_remaining_value(data))
    _event(ctx, "talon_session_reopened", profile, integration_id, data["attributes"], effects)
    # what stayed (already-active points) is remembered, so that closing again does not book it twice
    kept = [
        i
        for i in committed["ledger"]
        if i["effect"]["effectType"] == "addLoyaltyPoints" and i["reversed"] < i["effect"]["props"]["value"]
    ]
    ctx.db.execute(
        "UPDATE sessions SET state = 'open', updated = ?, effects = '[]', committed = ? WHERE integration_id = ?",
        (ctx.stamp, dumps({**_empty_commitment(), "kept": kept}), integration_id),
    )
    return 200, {"effects": effects}


@operation("returnCartItems")
def return_cart_items(ctx: Ctx) -> tuple[int, Any]:
    integration_id = ctx.path["customerSessionId"]
    wanted = list(ctx.body.get("responseContent") or [])
    row = _session(ctx, integration_id)
    if row is None:
        raise not_found("customer session")
    if row["state"] not in ("closed", "partially_returned"):
        raise bad_request(f"items can only be returned from a closed session; this one is {row['state']}")
    data = loads(row["data"])
    items = data["cartItems"]
    requested = ctx.body["return"]["returnedCartItems"]
    errors: list[dict[str, Any]] = []
    returned: dict[int, int] = {}
    recorded: list[dict[str, int]] = []
    for i, entry in enumerate(requested):
        position = entry["position"]
        where = f"/return/returnedCartItems/{i}"
        if not 0 <= position < len(items):
            errors.append(api_error(f"no cart item at position {position}", pointer=f"{where}/position"))
            continue
        item = items[position]
        left = item["quantity"] - item.get("returnedQuantity", 0) - returned.get(position, 0)
        units = entry.get("quantity", left)
        if units < 1 or units > left:
            errors.append(api_error(f"position {position} has {left} unit(s) left to return, not {units}",
                                    pointer=f"{where}/quantity"))  # fmt: skip
            continue
        returned[position] = returned.get(position, 0) + units
        recorded.append({"position": position, "quantity": units})
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    committed = _commitment(row)
    # shares of what each line held when the session closed (the effects were computed on that)
    shares = {
        p: (units, committed["units"].get(str(p), items[p]["quantity"])) for p, units in returned.items()
    }
    effects = _rollback(ctx, integration_id, row["profile_id"], committed, mode="return", returned=shares)
    value = 0.0
    for position, units in returned.items():
        item = items[position]
        item["returnedQuantity"] = item.get("returnedQuantity", 0) + units
        item["remainingQuantity"] = item["quantity"] - item["returnedQuantity"]
        value += item["price"] * units
    _sales_change(ctx, row["profile_id"], 0, -round(value, 2))
    event_id = _event(
        ctx,
        "talon_session_partially_returned",
        row["profile_id"],
        integration_id,
        data["attributes"],
        effects,
    )
    cursor = ctx.db.execute(
        "INSERT INTO returns (session_integration_id, event_id, created, items) VALUES (?, ?, ?, ?)",
        (integration_id, event_id, ctx.stamp, dumps(recorded)),
    )
    ctx.db.execute(
        "UPDATE sessions SET state = 'partially_returned', updated = ?, data = ?, committed = ?"
        " WHERE integration_id = ?",
        (ctx.stamp, dumps(data), dumps(committed), integration_id),
    )
    row = _session(ctx, integration_id)
    assert row is not None
    this_return = next(r for r in returns_json(ctx, row) if r["id"] == cursor.lastrowid)
    return 200, integration_state(ctx, effects=effects, row=row, data=data, outcome=None, wanted=wanted,
                                  event_id=event_id, extra={"return": this_return})  # fmt: skip


__all__ = ["card_program", "event_json", "integration_state", "iso", "loyalty_json", "session_json"]
