"""Talon.One facts the replay engine and the recorder act on: recorded exchanges that must not be
sent again, and which values in a recording are personal data."""

from __future__ import annotations

__all__ = ["CONCURRENCY_CONFLICTS"]

#: Recorded 409s of these operations say "another request for the same entity was in flight":
#: timing that a replay cannot reproduce (and must not try to). Their 409 exchanges are skipped.
CONCURRENCY_CONFLICTS = frozenset({"updateCustomerSessionV2", "updateCustomerProfileV2", "trackEventV2"})
