"""Loyalty reads (balances, unused points, transactions) for profiles and cards, and card linking.

Decisions: a profile endpoint on a card-based program (or the reverse) is a 400; an unknown
profile is a 404; ``endDate``/``startDate`` without a time part mean 00:00:00 UTC; lists are
newest first; without ``subledgerId`` every subledger is listed (points, transactions) and
``subledgerBalances`` holds all of them (balances). Linking a profile that does not exist is a
404, linking an already linked profile answers the card unchanged, a full card is a 400.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from . import model
from .model import Ctx, bad_request, not_found
from .registry import operation
from .seed import Program
from .times import parse_instant


def _instant(value: str | None, default: dt.datetime) -> dt.datetime:
    return default if value is None else parse_instant(value)  # a bare date is 00:00:00 UTC


def _program(ctx: Ctx, *, card_based: bool) -> Program:
    program = ctx.seed.programs.get(ctx.path["loyaltyProgramId"])
    if program is None:
        raise not_found("loyalty program")
    if program.card_based != card_based:
        kind = "card-based" if program.card_based else "profile-based"
        raise bad_request(f"loyalty program {program.id} is {kind}", parameter="loyaltyProgramId")
    return program


def _profile_owner(ctx: Ctx) -> tuple[Program, list[sqlite3.Row]]:
    program = _program(ctx, card_based=False)
    profile = ctx.path["integrationId"]
    if model.profile_row(ctx.db, profile) is None:
        raise not_found("customer profile")
    return program, model.ledger_entries(ctx.db, program.id, profile=profile)


def _card_owner(ctx: Ctx) -> tuple[Program, sqlite3.Row, list[sqlite3.Row]]:
    program = _program(ctx, card_based=True)
    card = model.card_row(ctx.db, ctx.path["loyaltyCardId"])
    if card is None or card["program_id"] != program.id:
        raise not_found("loyalty card")
    return program, card, model.ledger_entries(ctx.db, program.id, card=card["identifier"])


def _subledgers(ctx: Ctx) -> set[str] | None:
    value = ctx.query.get("subledgerId")
    if value is None:
        return None
    return set(value) if isinstance(value, list) else {value}


def _balances(ctx: Ctx, program: Program, rows: list[sqlite3.Row]) -> dict[str, Any]:
    at = _instant(ctx.query.get("endDate"), ctx.clock_now)
    main, subs = model.balances(rows, at, program.subledgers)
    wanted = _subledgers(ctx)
    result: dict[str, Any] = {"balance": main.as_json()}
    if wanted is not None:
        for name in wanted - set(subs):
            subs[name] = type(main)()
        subs = {name: b for name, b in subs.items() if name in wanted}
    result["subledgerBalances"] = {name: b.as_json() for name, b in sorted(subs.items())}
    return result


def _page(ctx: Ctx, items: list[dict[str, Any]], default_size: int) -> dict[str, Any]:
    size = ctx.query.get("pageSize", default_size)
    skip = ctx.query.get("skip", 0)
    if skip < 0:
        raise bad_request("skip must not be negative", parameter="skip")
    return {"hasMore": skip + size < len(items), "data": items[skip : skip + size]}


def _points(ctx: Ctx, rows: list[sqlite3.Row], *, card: bool) -> list[dict[str, Any]]:
    status = ctx.query.get("status", "active")
    wanted = _subledgers(ctx)
    result = []
    for entry, row in sorted(
        model.unused_points(rows, ctx.clock_now), key=lambda pair: pair[0].id, reverse=True
    ):
        if model.point_status(entry, ctx.clock_now) != status or (
            wanted is not None and entry.subledger not in wanted
        ):
            continue
        start, expiry = model.entry_dates(row)
        item: dict[str, Any] = {
            "id": row["id"],
            "created": row["created"],
            "programId": row["program_id"],
            "name": row["name"],
            "startDate": start,
            "expiryDate": expiry,
            "subledgerId": row["subledger_id"],
            "amount": round(entry.remaining, 2),
        }
        if row["session_integration_id"]:
            item["customerSessionId"] = row["session_integration_id"]
        if card and row["profile_integration_id"]:
            item["customerProfileID"] = row["profile_integration_id"]
        result.append(item)
    return result


def _transactions(ctx: Ctx, rows: list[sqlite3.Row], *, card: bool) -> list[dict[str, Any]]:
    wanted = _subledgers(ctx)
    kind = ctx.query.get("loyaltyTransactionType")
    start = _instant(ctx.query.get("startDate"), dt.datetime.min.replace(tzinfo=dt.timezone.utc))
    end = _instant(ctx.query.get("endDate"), dt.datetime.max.replace(tzinfo=dt.timezone.utc))
    result = []
    for row in reversed(rows):
        created = _instant(row["created"], ctx.clock_now)
        if (wanted is not None and row["subledger_id"] not in wanted) or (
            kind and row["transaction_type"] != kind
        ):
            continue
        if not start <= created <= end:
            continue
        start_date, expiry = model.entry_dates(row)
        item: dict[str, Any] = {
            "id": row["id"],
            "created": row["created"],
            "programId": row["program_id"],
            "type": row["kind"],
            "name": row["name"],
            "startDate": start_date,
            "expiryDate": expiry,
            "subledgerId": row["subledger_id"],
            "amount": round(row["amount"], 2),
        }
        if card:
            item["cardIdentifier"] = row["card_identifier"]
        if row["session_integration_id"]:
            item["customerSessionId"] = row["session_integration_id"]
        if row["ruleset_id"] is not None:
            item["rulesetId"] = row["ruleset_id"]
            item["ruleName"] = row["rule_name"]
        result.append(item)
    return result


@operation("getLoyaltyBalances")
def get_loyalty_balances(ctx: Ctx) -> tuple[int, Any]:
    program, rows = _profile_owner(ctx)
    return 200, _balances(ctx, program, rows)


@operation("getLoyaltyCardBalances")
def get_loyalty_card_balances(ctx: Ctx) -> tuple[int, Any]:
    program, card, rows = _card_owner(ctx)
    result = _balances(ctx, program, rows)
    result["profiles"] = model.card_profiles(ctx.db, card["identifier"])
    return 200, result


@operation("getLoyaltyProgramProfilePoints")
def get_profile_points(ctx: Ctx) -> tuple[int, Any]:
    _, rows = _profile_owner(ctx)
    return 200, _page(ctx, _points(ctx, rows, card=False), 50)


@operation("getLoyaltyCardPoints")
def get_card_points(ctx: Ctx) -> tuple[int, Any]:
    _, _, rows = _card_owner(ctx)
    return 200, _page(ctx, _points(ctx, rows, card=True), 50)


@operation("getLoyaltyProgramProfileTransactions")
def get_profile_transactions(ctx: Ctx) -> tuple[int, Any]:
    _, rows = _profile_owner(ctx)
    return 200, _page(ctx, _transactions(ctx, rows, card=False), 50)


@operation("getLoyaltyCardTransactions")
def get_card_transactions(ctx: Ctx) -> tuple[int, Any]:
    _, _, rows = _card_owner(ctx)
    return 200, _page(ctx, _transactions(ctx, rows, card=True), 1000)


@operation("linkLoyaltyCardToProfile")
def link_card(ctx: Ctx) -> tuple[int, Any]:
    _, card, _ = _card_owner(ctx)
    profile = ctx.body["integrationId"]
    if model.profile_row(ctx.db, profile) is None:
        raise not_found("customer profile")
    linked = {p["integrationId"] for p in model.card_profiles(ctx.db, card["identifier"])}
    if profile not in linked:
        if card["status"] != "active":
            raise bad_request(f"card {card['identifier']} is {card['status']}", pointer="/integrationId")
        limit = card["users_per_card_limit"]
        if limit and len(linked) >= limit:
            raise bad_request(
                f"card {card['identifier']} already has {limit} linked profile(s)", pointer="/integrationId"
            )
        ctx.db.execute("INSERT INTO card_profiles VALUES (?, ?, ?)", (card["identifier"], profile, ctx.stamp))
        ctx.db.execute("UPDATE cards SET modified = ? WHERE id = ?", (ctx.stamp, card["id"]))
        card = model.card_row(ctx.db, card["identifier"]) or card
    return 200, model.card_json(ctx, card)
