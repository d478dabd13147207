"""Loyalty ledger arithmetic: balances at any instant, computed from the stored entries.

Every change of points is an entry: an *addition* (points earned or imported, with a start
date — pending before it — and an optional expiry) or a *subtraction* (points spent). Balances
are never stored; :func:`balance_at` computes them from the entries up to the instant asked for, so
``endDate`` queries in the past or the future need no bookkeeping:

* a subtraction spends the active points that expire soonest (then the oldest);
* an addition's points that are still unspent at its expiry are *expired*;
* a subtraction that compensates an addition (a rollback) takes its points from that addition
  first and is not counted as *spent*; an addition that refunds a subtraction (a rolled-back
  redemption) makes those points unspent again (they come back as immediate and unlimited);
* spending more than is active leaves a deficit that later additions do not cover (negative
  balances are a later feature of the real API; the sandbox keeps the arithmetic honest).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from .times import parse_optional

__all__ = ["Balance", "Entry", "balance_at", "entries_from_rows"]

_FAR = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


@dataclass(slots=True)
class Entry:
    id: int
    kind: str  # addition | subtraction
    amount: float
    created: dt.datetime
    start: dt.datetime | None  # None: immediate
    expiry: dt.datetime | None  # None: unlimited
    subledger: str
    reverses: int | None = None
    remaining: float = 0.0

    @property
    def starts(self) -> dt.datetime:
        return self.start or self.created


@dataclass(slots=True)
class Balance:
    active: float = 0.0
    pending: float = 0.0
    spent: float = 0.0
    expired: float = 0.0

    def as_json(self) -> dict[str, float]:
        return {
            "activePoints": round(self.active, 2),
            "pendingPoints": round(self.pending, 2),
            "spentPoints": round(self.spent, 2),
            "expiredPoints": round(self.expired, 2),
        }


def entries_from_rows(rows: Iterable[sqlite3.Row]) -> list[Entry]:
    return [
        Entry(
            id=row["id"],
            kind=row["kind"],
            amount=row["amount"],
            created=parse_optional(row["created"]),  # type: ignore[arg-type]
            start=parse_optional(row["start_date"]),
            expiry=parse_optional(row["expiry_date"]),
            subledger=row["subledger_id"],
            reverses=row["reverses"],
        )
        for row in rows
    ]


def balance_at(entries: list[Entry], at: dt.datetime) -> Balance:
    """Balance of ``entries`` (one owner, one subledger or all) at ``at``; sets ``Entry.remaining``."""
    additions = [e for e in entries if e.kind == "addition" and e.created <= at]
    by_id = {e.id: e for e in additions}
    for entry in additions:
        entry.remaining = entry.amount
    balance = Balance()
    deficit = 0.0
    subtraction_ids = {e.id for e in entries if e.kind == "subtraction"}
    for refund in additions:
        if refund.reverses in subtraction_ids:
            balance.spent -= refund.amount  # points given back (a cancelled redemption) are no longer spent
    subtractions = sorted(
        (e for e in entries if e.kind == "subtraction" and e.created <= at), key=lambda e: (e.created, e.id)
    )
    for sub in subtractions:
        need = sub.amount
        target = by_id.get(sub.reverses) if sub.reverses is not None else None
        if target is not None:
            take = min(target.remaining, need)
            target.remaining -= take
            need -= take
        else:
            balance.spent += sub.amount
        usable = sorted(
            (
                a
                for a in additions
                if a.remaining > 0
                and a.starts <= sub.created
                and (a.expiry is None or a.expiry > sub.created)
            ),
            key=lambda a: (a.expiry or _FAR, a.starts, a.id),
        )
        for addition in usable:
            if need <= 0:
                break
            take = min(addition.remaining, need)
            addition.remaining -= take
            need -= take
        deficit += need
    for addition in additions:
        if addition.expiry is not None and addition.expiry <= at:
            balance.expired += addition.remaining
        elif addition.starts > at:
            balance.pending += addition.remaining
        else:
            balance.active += addition.remaining
    balance.active -= deficit
    return balance
