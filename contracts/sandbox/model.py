"""Reading and writing the sandbox's entities, and rendering them in the vendor's shapes.

Every ``*_json`` function returns an object with every field the vendor schema marks as
required (the tests validate each response against the contract), using the vendor's exact
spellings (``programID``, ``customerProfileID``, ``campaignID`` ...).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..schema import ECMA_WHITESPACE
from .ledger import Balance, Entry, balance_at, entries_from_rows
from .seed import Campaign, Program, Seed
from .store import Store, loads
from .times import iso, parse_instant

__all__ = ["ApiProblem", "Ctx"]


class ApiProblem(Exception):
    """An error answer: status, message and one APIError per problem."""

    def __init__(self, status: int, message: str, errors: Iterable[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


def api_error(
    title: str, *, pointer: str | None = None, parameter: str | None = None, details: str | None = None
) -> dict[str, Any]:
    source: dict[str, str] = {}
    if pointer is not None:
        source["pointer"] = pointer
    if parameter is not None:
        source["parameter"] = parameter
    error: dict[str, Any] = {"title": title, "source": source}
    if details:
        error["details"] = details
    return error


def bad_request(title: str, *, pointer: str | None = None, parameter: str | None = None) -> ApiProblem:
    return ApiProblem(400, "Invalid request", [api_error(title, pointer=pointer, parameter=parameter)])


#: Blank as the contract's ``pattern: "\\S"`` sees it: JSON Schema patterns are ECMA-262
#: regular expressions, whose \s is not Python's str.isspace() (see ECMA_WHITESPACE). A blank id
#: must be blank by the definition the contract states, or the sandbox would refuse ids the
#: contract allows (found by the thorough run).
_ECMA_BLANK = re.compile(f"[{ECMA_WHITESPACE}]*")


def blank_ids(pairs: Iterable[tuple[Any, str]]) -> list[dict[str, Any]]:
    """Errors for empty customer ids ("" means anonymous; such a profile cannot exist)."""
    return [
        api_error("a customer profile id must not be empty", pointer=pointer)
        for value, pointer in pairs
        if isinstance(value, str) and _ECMA_BLANK.fullmatch(value)
    ]


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} not found")


@dataclass(slots=True)
class Ctx:
    """Everything a handler needs for one request."""

    seed: Seed
    store: Store
    db: sqlite3.Connection
    now: dt.datetime  # the evaluation time (`now` of a dry run, else the clock)
    clock_now: dt.datetime  # the real time of the request
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    dry: bool = False
    stamp: str = ""  # clock_now as the API writes timestamps (computed once per request)

    def __post_init__(self) -> None:
        self.stamp = iso(self.clock_now)


# --------------------------------------------------------------------------- attributes

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "time": lambda v: isinstance(v, str) and _is_time(v),
}


def _is_time(text: str) -> bool:
    try:
        parse_instant(text)
    except ValueError:
        return False
    return True


def check_attributes(seed: Seed, entity: str, attributes: Any, pointer: str) -> list[dict[str, Any]]:
    """One APIError per attribute the Application does not define or whose value has the wrong type."""
    if not isinstance(attributes, Mapping):
        return []
    defined = seed.attributes.get(entity, {})
    errors = []
    for name, value in attributes.items():
        where = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
        kind = defined.get(name)
        if kind is None:
            known = ", ".join(sorted(defined)) or "none"
            errors.append(
                api_error(f"unknown {entity} attribute {name!r}", pointer=where, details=f"defined: {known}")
            )
        elif value is not None and not _TYPES[kind](value):
            errors.append(api_error(f"attribute {name!r} must be of type {kind}", pointer=where))
    return errors


# --------------------------------------------------------------------------- profiles


def profile_row(db: sqlite3.Connection, integration_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM profiles WHERE integration_id = ?", (integration_id,)
    ).fetchone()
    return row


def ensure_profile(ctx: Ctx, integration_id: str) -> tuple[sqlite3.Row, bool]:
    """(profile, created): profiles spring into existence where the API says they do."""
    row = profile_row(ctx.db, integration_id)
    if row is not None:
        return row, False
    ctx.db.execute(
        "INSERT INTO profiles (integration_id, created, last_activity) VALUES (?, ?, ?)",
        (integration_id, ctx.stamp, ctx.stamp),
    )
    return profile_row(ctx.db, integration_id), True  # type: ignore[return-value]


def touch_profile(ctx: Ctx, integration_id: str) -> None:
    """lastActivity changes on non-dry calls that run the rule engine."""
    ctx.db.execute(
        "UPDATE profiles SET last_activity = ? WHERE integration_id = ?", (ctx.stamp, integration_id)
    )


def profile_json(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    db, seed = ctx.db, ctx.seed
    audiences = [
        {"id": r["id"], "name": r["name"]}
        for r in db.execute(
            "SELECT a.id, a.name FROM audiences a JOIN audience_members m ON m.audience_id = a.id"
            " WHERE m.profile_integration_id = ? ORDER BY a.id",
            (row["integration_id"],),
        )
    ]
    memberships = [
        {"loyaltyProgramId": r["program_id"], "joined": r["joined"]}
        for r in db.execute(
            "SELECT program_id, MIN(created) AS joined FROM ledger WHERE profile_integration_id = ?"
            " GROUP BY program_id ORDER BY program_id",
            (row["integration_id"],),
        )
        if r["program_id"] in seed.programs and not seed.programs[r["program_id"]].card_based
    ]
    return {
        "id": row["id"],
        "created": row["created"],
        "integrationId": row["integration_id"],
        "attributes": loads(row["attributes"]),
        "accountId": seed.account_id,
        "closedSessions": row["closed_sessions"],
        "totalSales": round(row["total_sales"], 2),
        "loyaltyMemberships": memberships,
        "audienceMemberships": audiences,
        "lastActivity": row["last_activity"],
        "sandbox": True,
    }


# --------------------------------------------------------------------------- campaigns


def campaign_json(ctx: Ctx, campaign: Campaign) -> dict[str, Any]:
    seed = ctx.seed
    result: dict[str, Any] = {
        "id": campaign.id,
        "created": iso(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
        "applicationId": seed.application_id,
        "userId": 1,
        "name": campaign.name,
        "description": campaign.description,
        "attributes": {},
        "state": campaign.state,
        "activeRulesetId": campaign.ruleset_id,
        "tags": list(campaign.tags),
        "features": list(campaign.features),
        "limits": [],
        "type": "advanced",
        "budgets": [],
        "frontendState": campaign.frontend_state(ctx.clock_now),
    }
    if campaign.start_time is not None:
        result["startTime"] = iso(campaign.start_time)
    if campaign.end_time is not None:
        result["endTime"] = iso(campaign.end_time)
    if campaign.referral_pattern:
        result["referralSettings"] = {
            "couponPattern": campaign.referral_pattern,
            "validCharacters": list(campaign.referral_characters),
        }
    return result


# --------------------------------------------------------------------------- coupons


def coupon_row(db: sqlite3.Connection, value: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute("SELECT * FROM coupons WHERE value = ?", (value,)).fetchone()
    return row


def coupon_json(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    found = ctx.seed.coupon_campaign(row["value"])
    spec = found[1] if found else None
    reservations = ctx.db.execute(
        "SELECT COUNT(*) FROM reservations WHERE coupon_id = ?", (row["id"],)
    ).fetchone()[0]
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "campaignId": row["campaign_id"],
        "value": row["value"],
        "usageLimit": spec.usage_limit if spec else 0,
        "usageCounter": row["usage_counter"],
        "reservationCounter": reservations,
        "attributes": dict(spec.attributes) if spec else {},
        "reservation": True,
        "isReservationMandatory": bool(spec and spec.is_reservation_mandatory),
        "implicitlyReserved": bool(spec and spec.implicitly_reserved),
        "limits": [],
    }
    if spec is not None:
        if spec.per_profile_limit:
            result["limits"] = [
                {"action": "redeemCoupon", "limit": spec.per_profile_limit, "entities": ["Coupon", "Profile"]}
            ]
        if spec.start_date is not None:
            result["startDate"] = iso(spec.start_date)
        if spec.expiry_date is not None:
            result["expiryDate"] = iso(spec.expiry_date)
        if spec.recipient_integration_id:
            result["recipientIntegrationId"] = spec.recipient_integration_id
    return result


def profile_redemptions(db: sqlite3.Connection, coupon_id: int, profile: str) -> int:
    if not profile:
        return 0
    return int(
        db.execute(
            "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = ? AND profile_integration_id = ?",
            (coupon_id, profile),
        ).fetchone()[0]
    )


# --------------------------------------------------------------------------- referrals


def referral_json(db: sqlite3.Connection, row: sqlite3.Row, *, inventory: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "campaignId": row["campaign_id"],
        "advocateProfileIntegrationId": row["advocate"],
        "code": row["code"],
        "usageCounter": row["usage_counter"],
        "usageLimit": row["usage_limit"],
        "attributes": loads(row["attributes"]),
    }
    for key, column in (("friendProfileIntegrationId", "friend"), ("startDate", "start_date"),
                        ("expiryDate", "expiry_date"), ("batchId", "batch_id")):  # fmt: skip
        if row[column] is not None:
            result[key] = row[column]
    if inventory:
        result["referredCustomers"] = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT friend FROM referral_uses WHERE referral_id = ? ORDER BY friend",
                (row["id"],),
            )
        ]
    return result


# --------------------------------------------------------------------------- loyalty


def ledger_entries(
    db: sqlite3.Connection, program: int, *, profile: str | None = None, card: str | None = None
) -> list[sqlite3.Row]:
    column, owner = ("profile_integration_id", profile) if profile is not None else ("card_identifier", card)
    rows: list[sqlite3.Row] = db.execute(
        f"SELECT * FROM ledger WHERE program_id = ? AND {column} = ? ORDER BY id",
        (program, owner),
    ).fetchall()
    return rows


def balances(
    rows: list[sqlite3.Row], at: dt.datetime, subledgers: Iterable[str] | None = None
) -> tuple[Balance, dict[str, Balance]]:
    """(main ledger, per subledger) balances at ``at``."""
    entries = entries_from_rows(rows)
    names = sorted({e.subledger for e in entries if e.subledger} | set(subledgers or ()))
    main = balance_at([e for e in entries if e.subledger == ""], at)
    return main, {name: balance_at([e for e in entries if e.subledger == name], at) for name in names}


def unused_points(rows: list[sqlite3.Row], at: dt.datetime) -> list[tuple[Entry, sqlite3.Row]]:
    """Additions with points left at ``at``, with their rows (for the *points* endpoints)."""
    by_id = {row["id"]: row for row in rows}
    entries = entries_from_rows(rows)
    for name in {e.subledger for e in entries}:
        balance_at([e for e in entries if e.subledger == name], at)
    return [
        (e, by_id[e.id]) for e in entries if e.kind == "addition" and e.created <= at and e.remaining > 1e-9
    ]


def point_status(entry: Entry, at: dt.datetime) -> str:
    if entry.expiry is not None and entry.expiry <= at:
        return "expired"
    return "pending" if entry.starts > at else "active"


def ledger_info(
    program: Program, balance: Balance, tentative: float = 0.0, tentative_pending: float = 0.0
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "currentBalance": round(balance.active, 2),
        "pendingBalance": round(balance.pending, 2),
        "expiredBalance": round(balance.expired, 2),
        "spentBalance": 0,  # deprecated by the vendor: always 0
        "tentativeCurrentBalance": round(balance.active + tentative, 2),
        "tentativePendingBalance": round(balance.pending + tentative_pending, 2),
    }
    if program.tiers:
        reached = [t for t in program.tiers if balance.active >= t.min_points]
        if reached:
            tier = max(reached, key=lambda t: t.min_points)
            info["currentTier"] = {"id": tier.id, "name": tier.name, "downgradePolicy": "one_down"}
        higher = [t for t in program.tiers if t.min_points > balance.active]
        if higher:
            info["pointsToNextTier"] = round(min(t.min_points for t in higher) - balance.active, 2)
    return info


def program_ledgers_json(
    ctx: Ctx, program: Program, profile: str, tentative: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, Any]:
    """``tentative``: subledger -> (current, pending) points an open session would book."""
    rows = ledger_entries(ctx.db, program.id, profile=profile)
    main, subs = balances(rows, ctx.clock_now, set(program.subledgers) | set(tentative or {}) - {""})
    tentative = tentative or {}
    result: dict[str, Any] = {
        "id": program.id,
        "title": program.title,
        "name": program.name,
        "ledger": ledger_info(program, main, *tentative.get("", (0.0, 0.0))),
    }
    if rows:
        result["joinDate"] = rows[0]["created"]
    if subs:
        result["subLedgers"] = {
            name: ledger_info(program, b, *tentative.get(name, (0.0, 0.0))) for name, b in subs.items()
        }
    return result


def card_row(db: sqlite3.Connection, identifier: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute("SELECT * FROM cards WHERE identifier = ?", (identifier,)).fetchone()
    return row


def card_json(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    program = ctx.seed.programs[row["program_id"]]
    rows = ledger_entries(ctx.db, program.id, card=row["identifier"])
    main, subs = balances(rows, ctx.clock_now, program.subledgers)
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "programID": row["program_id"],
        "status": row["status"],
        "identifier": row["identifier"],
        "usersPerCardLimit": row["users_per_card_limit"],
        "profiles": card_profiles(ctx.db, row["identifier"]),
        "ledger": ledger_info(program, main),
        "modified": row["modified"],
    }
    if subs:
        result["subledgers"] = {name: ledger_info(program, b) for name, b in subs.items()}
    return result


def card_profiles(db: sqlite3.Connection, identifier: str) -> list[dict[str, Any]]:
    return [
        {"integrationId": r["profile_integration_id"], "timestamp": r["timestamp"]}
        for r in db.execute(
            "SELECT * FROM card_profiles WHERE card_identifier = ? ORDER BY timestamp, profile_integration_id",
            (identifier,),
        )
    ]


def entry_dates(row: sqlite3.Row) -> tuple[str, str]:
    """The points endpoints' string forms: "immediate" / "unlimited" or a timestamp."""
    return row["start_date"] or "immediate", row["expiry_date"] or "unlimited"


# --------------------------------------------------------------------------- audiences and catalogs


def audience_row(db: sqlite3.Connection, audience_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute("SELECT * FROM audiences WHERE id = ?", (audience_id,)).fetchone()
    return row


def audience_json(row: sqlite3.Row, seed: Seed) -> dict[str, Any]:
    result: dict[str, Any] = {
        "accountId": seed.account_id,
        "id": row["id"],
        "created": row["created"],
        "name": row["name"],
    }
    result.update(loads(row["data"]))
    if row["integration"] is not None:
        result["integration"] = row["integration"]
    if row["integration_id"] is not None:
        result["integrationId"] = row["integration_id"]
    return result


def catalog_json(row: sqlite3.Row, seed: Seed) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created": row["created"],
        "accountId": seed.account_id,
        "modified": row["modified"],
        "name": row["name"],
        "description": row["description"],
        "subscribedApplicationsIds": [seed.application_id],
        "version": row["version"],
        "createdBy": 1,
    }
