"""The rules' lookups into the state (:class:`~contracts.sandbox.rules.Facts`), answered from SQLite.

Sessions, profile updates and events all evaluate the campaigns with these facts about one
profile: its coupons (reserved, redeemed), referral codes and point balances, and which program
a loyalty card belongs to.
"""

from __future__ import annotations

from . import model
from .ledger import balance_at, entries_from_rows
from .model import Ctx
from .rules import CouponState, ReferralState
from .times import parse_optional

__all__ = ["SqlFacts", "card_program"]


class SqlFacts:
    """The rules' lookups, answered from the database for one profile."""

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
            balance_at([e for e in entries_from_rows(rows) if e.subledger == subledger], self.ctx.now).active
        )


def card_program(ctx: Ctx, identifier: str) -> int | None:
    row = model.card_row(ctx.db, identifier)
    return row["program_id"] if row is not None and row["status"] == "active" else None
