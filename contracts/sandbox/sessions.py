"""Customer sessions: UpdateCustomerSessionV2, GetCustomerSession, ReopenCustomerSession.

ReturnCartItems is in :mod:`contracts.sandbox.returns`; what a close commits and how it is rolled
back, in :mod:`contracts.sandbox.commitments`; the session's content, in
:mod:`contracts.sandbox.session_data`.

State machine: a session is born ``open`` or ``closed``;
``open`` -> open | closed | cancelled via UpdateCustomerSessionV2; ``closed`` -> cancelled
(UpdateCustomerSessionV2), -> partially_returned (ReturnCartItems), -> open
(ReopenCustomerSession); ``partially_returned`` -> partially_returned (more returns), open
(reopen) or cancelled; ``cancelled`` is terminal. Anything else is a 400.

Decisions where the vendor leaves a question open (also listed in the README):

* merge: fields a PUT omits keep their stored values; given fields replace them
  (``cartItems`` wholesale); ``attributes`` merge per key; an empty ``couponCodes`` array or
  an empty ``referralCode`` clears the stored value;
* a PUT that closes an already closed session with the same content is a no-op answered with
  the stored state (safe retries); any change to a closed session is a 400;
* dry closing: only the request payload is evaluated, not the stored session;
* ``now``: only with ``dry=true`` and only in the future, else 400;
* a partially returned session can take further returns and can be reopened (what is left
  of its close is rolled back);
* points that were already active stay at a reopen, pending ones are rolled
  back; closing the session again does not book the points that stayed a second time (they carry
  the same transaction UUID), and cancelling it rolls back whatever is still booked for it;
* the rules see the units not returned; a cancel changes the state only (content sent with it is
  ignored); the cart's server-computed fields (position, returned/remaining quantity) are never
  taken from the client.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from . import model
from .commitments import commit_close, commitment, empty_commitment, remaining_value, rollback, sales_change
from .facts import SqlFacts, card_program
from .integration_state import integration_state
from .journal import insert_event
from .model import Ctx, bad_request, not_found
from .registry import operation
from .rules import CartLine, Evaluation, Situation, evaluate
from .session_data import merge_content, prepare_cart, session_json, session_row, totals
from .store import dumps, loads

__all__ = ["get_customer_session", "reopen_customer_session", "update_customer_session"]

_TRANSITIONS = {
    ("open", "open"): "talon_session_updated",
    ("open", "closed"): "talon_session_closed",
    ("open", "cancelled"): "talon_session_cancelled",
    ("closed", "cancelled"): "talon_session_revoked",
    ("partially_returned", "cancelled"): "talon_session_revoked",
}


def _evaluate(ctx: Ctx, session: str, profile: str, prow: sqlite3.Row | None, data: Mapping[str, Any],
              lines: list[CartLine]) -> Evaluation:  # fmt: skip
    _, costs = totals(data)
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
    _check_now(ctx)
    row = session_row(ctx, integration_id)
    stored = loads(row["data"]) if row is not None else None
    old_state = row["state"] if row is not None else None
    new_state = payload.get("state", old_state or "open")
    profile = payload.get("profileId", row["profile_id"] if row is not None else "")
    _check_change(row, old_state, new_state, profile)
    data = _content(ctx, row, stored, payload, new_state)
    lines = prepare_cart(ctx, data)
    if row is not None and (old_state, new_state) not in _TRANSITIONS:
        if (
            old_state == new_state == "closed"
            and {k: v for k, v in data.items() if k != "evaluableCampaignIds"} == stored
        ):
            # a retried close: answer with what the close returned, change nothing
            return 200, integration_state(ctx, effects=commitment(row)["effects"], row=row, data=data,
                                          outcome=None, wanted=wanted, event_id=None)  # fmt: skip
        raise bad_request(
            f"a {old_state} session cannot become {new_state}"
            + (" (use ReopenCustomerSession)" if (old_state, new_state) == ("closed", "open") else ""),
            pointer="/customerSession/state",
        )
    data.pop("evaluableCampaignIds", None)
    profile_row = model.ensure_profile(ctx, profile)[0] if profile else None
    committed = commitment(row) if row is not None else empty_commitment()
    outcome, effects, committed = _change_state(
        ctx, integration_id, profile, profile_row, old_state, new_state, data, lines, committed
    )
    event_id = insert_event(
        ctx, _event_kind(row, old_state, new_state), profile, integration_id, data["attributes"], effects,
        data.get("storeIntegrationId"),
    )  # fmt: skip
    stored_effects = outcome.effects if outcome is not None else []
    record = _save(ctx, integration_id, profile, row, new_state, data, stored_effects, committed)
    return 200, integration_state(ctx, effects=effects, row=record, data=data, outcome=outcome, wanted=wanted,
                                  event_id=event_id)  # fmt: skip


def _check_now(ctx: Ctx) -> None:
    if "now" in ctx.query:
        if not ctx.dry:
            raise bad_request("'now' is only accepted together with dry=true", parameter="now")
        if ctx.now <= ctx.clock_now:
            raise bad_request("'now' must lie in the future", parameter="now")


def _check_change(row: sqlite3.Row | None, old_state: str | None, new_state: str, profile: str) -> None:
    if row is None and new_state not in ("open", "closed"):
        raise bad_request(
            f"a new session can only be open or closed, not {new_state}", pointer="/customerSession/state"
        )
    if row is not None and profile != row["profile_id"] and old_state != "open":
        raise bad_request(
            "the profile of a closed session cannot change", pointer="/customerSession/profileId"
        )


def _content(
    ctx: Ctx,
    row: sqlite3.Row | None,
    stored: dict[str, Any] | None,
    payload: Mapping[str, Any],
    new_state: str,
) -> dict[str, Any]:
    """The session's content after this update (``evaluableCampaignIds`` only while it is evaluated)."""
    if row is not None and new_state == "cancelled":
        data = merge_content(
            stored, {}
        )  # cancelling changes the state only: the order's content stays as it was
    else:
        data = merge_content(None if ctx.dry and new_state == "closed" else stored, payload)
    if ctx.dry and payload.get("evaluableCampaignIds"):
        data["evaluableCampaignIds"] = payload["evaluableCampaignIds"]
    return data


def _change_state(
    ctx: Ctx,
    session: str,
    profile: str,
    profile_row: sqlite3.Row | None,
    old_state: str | None,
    new_state: str,
    data: dict[str, Any],
    lines: list[CartLine],
    committed: dict[str, Any],
) -> tuple[Evaluation | None, list[dict[str, Any]], dict[str, Any]]:
    """Evaluate, close or cancel: (the evaluation, if any; the effects to answer; what is committed)."""
    if new_state == "cancelled":
        if old_state in ("closed", "partially_returned"):
            effects = rollback(ctx, session, profile, committed, mode="cancel")
            sales_change(ctx, profile, -1, -remaining_value(data))
        else:  # an open session just ends; points kept at an earlier reopen are rolled back now
            effects = rollback(
                ctx, session, profile, {**committed, "ledger": committed["kept"]}, mode="cancel"
            )
        return None, effects, committed
    outcome = _evaluate(ctx, session, profile, profile_row, data, lines)
    if new_state == "closed":
        committed = commit_close(ctx, session, profile, data, outcome, committed["kept"])
    return outcome, outcome.effects, committed


def _event_kind(row: sqlite3.Row | None, old_state: str | None, new_state: str) -> str:
    if row is None:
        return "talon_session_closed" if new_state == "closed" else "talon_session_created"
    return _TRANSITIONS[(old_state, new_state)]  # type: ignore[index]


def _first_session(ctx: Ctx, profile: str) -> int:
    """ "First session ever?", decided when the session is created; always true when anonymous."""
    if (
        profile
        and ctx.db.execute("SELECT 1 FROM sessions WHERE profile_id = ? LIMIT 1", (profile,)).fetchone()
    ):
        return 0
    return 1


def _save(
    ctx: Ctx,
    integration_id: str,
    profile: str,
    row: sqlite3.Row | None,
    new_state: str,
    data: dict[str, Any],
    stored_effects: list[dict[str, Any]],
    committed: dict[str, Any],
) -> dict[str, Any]:
    """Write the session; returns its fields as a sessions row would give them."""
    first = row["first_session"] if row is not None else _first_session(ctx, profile)
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
    return {
        "id": row["id"] if row is not None else cursor.lastrowid,
        "integration_id": integration_id,
        "profile_id": profile,
        "state": new_state,
        "created": row["created"] if row is not None else ctx.stamp,
        "updated": ctx.stamp,
        "first_session": first,
    }


@operation("getCustomerSession")
def get_customer_session(ctx: Ctx) -> tuple[int, Any]:
    row = session_row(ctx, ctx.path["customerSessionId"])
    if row is None:
        raise not_found("customer session")
    data = loads(row["data"])
    return 200, {"customerSession": session_json(ctx, row, data), "effects": _net_effects(row)}


def _net_effects(row: sqlite3.Row) -> list[dict[str, Any]]:
    """The session's effects less what was rolled back (rollbacks themselves are not shown)."""
    if row["state"] in ("open", "cancelled"):
        return loads(row["effects"])  # type: ignore[no-any-return]  # the last evaluation; [] once cancelled
    committed = commitment(row)
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
    row = session_row(ctx, integration_id)
    if row is None:
        raise not_found("customer session")
    if row["state"] not in ("closed", "partially_returned"):
        raise bad_request(f"only a closed session can be reopened; this one is {row['state']}")
    data = loads(row["data"])
    committed = commitment(row)
    profile = row["profile_id"]
    effects = rollback(ctx, integration_id, profile, committed, mode="reopen")
    sales_change(ctx, profile, -1, -remaining_value(data))
    insert_event(ctx, "talon_session_reopened", profile, integration_id, data["attributes"], effects)
    # what stayed (already-active points) is remembered, so that closing again does not book it twice
    kept = [
        i
        for i in committed["ledger"]
        if i["effect"]["effectType"] == "addLoyaltyPoints" and i["reversed"] < i["effect"]["props"]["value"]
    ]
    ctx.db.execute(
        "UPDATE sessions SET state = 'open', updated = ?, effects = '[]', committed = ? WHERE integration_id = ?",
        (ctx.stamp, dumps({**empty_commitment(), "kept": kept}), integration_id),
    )
    return 200, {"effects": effects}
