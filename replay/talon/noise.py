"""The built-in noise rules: the differences a replay of Talon.One traffic always meets, and why.

:data:`BUILTIN`, decided from the v7.0.0 contract and the committed cassettes.
Each family is noise for a different reason:

* **Server clock readings** (``created``, ``updated``, ``modified``, ``lastActivity``,
  ``lastUpdate``, ``joined``, ``joinDate``, card-link ``timestamp``, achievement
  ``completionDate``): the server writes the time of the request, so a replay minutes or months
  later always differs. These rules carry ``values: timestamp``: they explain a difference only
  between date-times, so ``null`` or a non-date where a date was recorded stays a real change.
* **Dates derived from the clock**: the start and expiry dates of loyalty points (in
  ``addLoyaltyPoints`` effects, ledger entries of events, and the points/transaction listings of
  the loyalty endpoints) are "session time + pending period" and "session time + validity", and a
  tier's expiry is computed from when it was reached. They are noise only as date-times: a ledger
  entry that was ``immediate``/``unlimited`` and now has a date (points that became pending) is a
  real change. Start and expiry dates the *client* sets (coupons, referrals created with dates)
  are business data and are not covered.
* **Generated numeric ids**: sessions, profiles, events, returns, ledger entries, coupons,
  referrals, audiences and loyalty cards are numbered by the server in creation order, so the same
  story replayed against another database (or after other traffic) gets other numbers. References
  to those entities by id (``triggeredByCoupon``, ``couponId``, ``referralId``, a return's
  ``eventId``/``sessionId``/``profileId``) follow them. Ids of *configuration* (campaigns,
  rulesets, loyalty programs, tiers, catalogs) are not noise: which campaign fired is the point
  of a replay.
* **Generated identifiers**: ``transactionUUID`` (one per loyalty transaction), ``batchId`` and
  ``importId`` (one per creation batch/import).
* **Generated referral codes**: a referral's ``code`` is drawn at random from the campaign's
  pattern, and a session's ``referralCode`` echoes the one the story created. (Inside an
  ``acceptReferral`` effect the code sits in ``props.value``, where amounts also live; a location
  pattern cannot tell them apart, so it is not covered.)

Identifiers the client chooses (``integrationId``, coupon values it sent, SKUs), amounts, points,
states, effect types and campaign ids are never noise.
"""

from __future__ import annotations

import functools

from replay.rules.noise import NoiseRule, NoiseRules

__all__ = ["BUILTIN", "builtin_noise"]


_LOYALTY_LISTINGS = frozenset(
    {
        "getLoyaltyProgramProfilePoints",
        "getLoyaltyProgramProfileTransactions",
        "getLoyaltyCardPoints",
        "getLoyaltyCardTransactions",
    }
)
_DATA_OF_GENERATED = _LOYALTY_LISTINGS | {"getReservedCustomers", "createReferralsForMultipleAdvocates"}


def _family(
    reason: str, *patterns: str, operations: frozenset[str] | None = None, values: str | None = None
) -> list[NoiseRule]:
    return [NoiseRule(p, reason, operations, "builtin", values) for p in patterns]


_CLOCK = "timestamp"

BUILTIN: tuple[NoiseRule, ...] = (
    # --- server clock readings
    *_family("creation time, stamped by the server's clock", "$..created", values=_CLOCK),
    *_family(
        "last update time, stamped by the server's clock",
        "$..updated",
        "$..modified",
        "$..lastUpdate",
        values=_CLOCK,
    ),
    *_family("set by the server's clock on every write to the profile", "$..lastActivity", values=_CLOCK),
    *_family(
        "when the profile joined the loyalty program: the time of its first accrual",
        "$..loyaltyMemberships[*].joined",
        "$..joinDate",
        values=_CLOCK,
    ),
    *_family("when the profile was linked to the card", "$..profiles[*].timestamp", values=_CLOCK),
    *_family("when the achievement was completed", "$..achievements[*].completionDate", values=_CLOCK),
    # --- dates derived from the clock
    *_family(
        "points' activation and expiry dates: the session's time plus the program's pending and validity periods",
        "$..effects[*].props.startDate",
        "$..effects[*].props.expiryDate",
        "$..ledgerEntries[*].startDate",
        "$..ledgerEntries[*].expiryDate",
        values=_CLOCK,
    ),
    *_family(
        "ledger entries' activation and expiry dates: the session's time plus the program's periods",
        "$.data[*].startDate",
        "$.data[*].expiryDate",
        operations=_LOYALTY_LISTINGS,
        values=_CLOCK,
    ),
    *_family(
        "a tier's expiry counts from when the tier was reached", "$..currentTier.expiryDate", values=_CLOCK
    ),
    # --- generated numeric ids
    *_family("customer sessions are numbered by the server", "$.customerSession.id"),
    *_family(
        "customer profiles are numbered by the server",
        "$..customerProfile.id",
        "$.profile.id",
    ),
    *_family("events are numbered by the server", "$.event.id", "$..ledgerEntries[*].eventId"),
    *_family("loyalty ledger entries are numbered by the server", "$..ledgerEntries[*].id"),
    *_family(
        "profiles, ledger entries and referrals in these listings are numbered by the server",
        "$.data[*].id",
        operations=_DATA_OF_GENERATED,
    ),
    *_family(
        "audiences, coupons and referrals are numbered by the server when created",
        "$.id",
        operations=frozenset(
            {"createAudienceV2", "updateAudienceV2", "createCouponReservation", "createReferral"}
        ),
    ),
    *_family("audiences are numbered by the server when created", "$..audienceMemberships[*].id"),
    *_family(
        "coupons are numbered by the server when created",
        "$.coupons[*].id",
        "$.createdCoupons[*].id",
        "$..triggeredByCoupon",
        "$..couponId",
        "$..couponID",
    ),
    *_family(
        "referrals are numbered by the server when created",
        "$.referral.id",
        "$.referrals[*].id",
        "$.createdReferrals[*].id",
        "$..referralId",
        "$..referralID",
    ),
    *_family(
        "returns, and the session, profile and event they point to, are numbered by the server",
        "$.return.id",
        "$.return.eventId",
        "$.return.sessionId",
        "$.return.profileId",
        "$.previousReturns[*].id",
        "$.previousReturns[*].eventId",
        "$.previousReturns[*].sessionId",
        "$.previousReturns[*].profileId",
    ),
    *_family("loyalty cards are numbered by the server when created", "$.loyalty.cards[*].id"),
    *_family(
        "loyalty cards are numbered by the server when created",
        "$.id",
        operations=frozenset({"linkLoyaltyCardToProfile"}),
    ),
    # --- generated identifiers
    *_family("a random UUID per loyalty transaction", "$..transactionUUID"),
    *_family("a random id per creation batch or import", "$..batchId", "$..importId"),
    # --- generated referral codes
    *_family(
        "referral codes are drawn at random from the campaign's pattern",
        "$.code",
        operations=frozenset({"createReferral"}),
    ),
    *_family(
        "referral codes are drawn at random from the campaign's pattern",
        "$.data[*].code",
        operations=frozenset({"createReferralsForMultipleAdvocates"}),
    ),
    *_family(
        "referral codes are drawn at random from the campaign's pattern",
        "$.referral.code",
        "$.referrals[*].code",
        "$.createdReferrals[*].code",
        "$.customerSession.referralCode",
    ),
)


@functools.cache
def builtin_noise() -> NoiseRules:
    """The built-in rules, shared: their compiled matchers stay warm across replays."""
    return NoiseRules(BUILTIN)
