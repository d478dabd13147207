"""State every story of this API sees, as data: which operations change it, and which read it.

Against a target a replay does not own (staging, a sandbox started by hand), stories share the
application: one story's catalog sync reprices the cart of every story after it, a redeemed or
reserved coupon's counters carry over, a loyalty card linked once stays linked, a seeded profile's
points are spent once. ``replay.engine.shared`` reads these rows to tell such differences
(``shared-state``) from regressions.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ANY", "SHARED_READS", "SHARED_WRITES", "SharedRead", "SharedWrite"]

#: The key of an entity there is one of (the application's catalog).
ANY = "*"


@dataclass(frozen=True, slots=True)
class SharedWrite:
    """An operation that changes a shared entity; ``at`` says where its key is (``path:<name>``, a
    body path, or :data:`ANY`)."""

    operation: str
    entity: str
    at: str


@dataclass(frozen=True, slots=True)
class SharedRead:
    """An operation whose answer depends on an entity there is one of, wherever it is named."""

    operation: str
    entity: str
    at: str  # a body path that must select something for the request to read it


SHARED_WRITES: tuple[SharedWrite, ...] = (
    # PATCH_MANY reprices by attribute filter: which SKUs change is the server's business
    SharedWrite("syncCatalog", "catalog", ANY),
    SharedWrite("updateCustomerSessionV2", "coupon", "$.customerSession.couponCodes[*]"),
    SharedWrite("createCouponReservation", "coupon", "path:couponValue"),
    SharedWrite("deleteCouponReservation", "coupon", "path:couponValue"),
    SharedWrite("linkLoyaltyCardToProfile", "loyalty card", "path:loyaltyCardId"),
    # an audience's integration id is the story's (namespaced), its name is the application's
    SharedWrite("createAudienceV2", "audience", "$.name"),
    SharedWrite("updateAudienceV2", "audience", "$.name"),
)

SHARED_READS: tuple[SharedRead, ...] = (
    SharedRead("updateCustomerSessionV2", "catalog", "$.customerSession.cartItems[*]"),
    SharedRead("syncCatalog", "catalog", "$.actions[*]"),
)
