"""The records requests leave behind: events, and the loyalty ledger entries rules book.

Sessions, profile updates and events write both. A ledger entry is never changed: a rollback is a
new, compensating entry (``reverses`` names the entry it undoes), so that balances at any past
instant stay computable (:mod:`contracts.sandbox.ledger`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Ctx
from .store import dumps, loads

__all__ = ["event_json", "insert_event", "insert_ledger_entry"]


def insert_event(ctx: Ctx, kind: str, profile: str, session: str | None, attributes: Mapping[str, Any],
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


def insert_ledger_entry(ctx: Ctx, props: Mapping[str, Any], kind: str, amount: float, session: str | None, effect: Mapping[str, Any],
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
