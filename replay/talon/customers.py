"""Whose call a request is: the customer (or other party) it names, so that a capture can keep each
one's calls in order as one story, and replay customers concurrently (``replay.capture``).

Behaviour as data: a row per place a request names its party, most specific first. A profile is
the customer; a session belongs to the profile its body names (UpdateCustomerSessionV2's
``customerSession.profileId``), and keeps the story it was first seen in (``replay.capture.stories``)
so that a session's later calls that name no profile (a return, a reopen, a read) stay with it.
Parties other than customers (a loyalty card, a coupon's reservations, an audience, a catalog) are
stories of their own; calls that name many customers at once (bulk profile updates, referrals for
many advocates) go to one ``shared`` story, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["BODY_PARTIES", "PATH_PARTIES", "SHARED", "Party", "parties_of"]


class Party(NamedTuple):
    kind: str  # profile, session, card, coupon, audience, catalog, shared
    id: str


SHARED = Party("shared", "")

#: (operation, member path in the request body, party kind): checked before the path's parties
BODY_PARTIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("updateCustomerSessionV2", ("customerSession", "profileId"), "profile"),
    ("trackEventV2", ("profileId",), "profile"),
    ("createReferral", ("advocateProfileIntegrationId",), "profile"),
    ("linkLoyaltyCardToProfile", ("integrationId",), "profile"),
    ("createAudienceV2", ("integrationId",), "audience"),
)

#: path parameter -> party kind, in the order they are looked for
PATH_PARTIES: tuple[tuple[str, str], ...] = (
    ("integrationId", "profile"),
    ("customerSessionId", "session"),
    ("loyaltyCardId", "card"),
    ("couponValue", "coupon"),
    ("audienceId", "audience"),
    ("catalogId", "catalog"),
)


def _member(body: Any, path: tuple[str, ...]) -> str | None:
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body if isinstance(body, str) and body else None


def parties_of(
    operation_id: str, path_params: Mapping[str, str], body: Any
) -> tuple[Party | None, Party | None]:
    """(the party the body names, the party the path names) of a request of ``operation_id``;
    either may be None. A story follows the body's party when there is one: the path's (a
    session, a card) then joins that story (``replay.capture.stories``)."""
    named = None
    for operation, path, kind in BODY_PARTIES:
        if operation == operation_id:
            found = _member(body, path)
            if found is not None:
                named = Party(kind, found)
                break
    for parameter, kind in PATH_PARTIES:
        value = path_params.get(parameter)
        if value:
            return named, Party(kind, value)
    return named, None
