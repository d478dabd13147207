"""Which story a captured exchange belongs to, and whether that story is kept (sampling).

A story is what a replay keeps in order: one customer's calls (``replay.talon.customers`` says
whose a request is). A party the path names (a session, a loyalty card) joins the story of the
party the body names the first time they are seen together, and keeps the story it was first
seen in: a session's return, sent without a profile id, stays after the session's updates.

Story files are named by a keyed digest of the party, never by the id itself: profile ids are
often e-mail addresses or customer numbers, and a directory listing is not redacted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from replay.talon.customers import SHARED, Party, parties_of

__all__ = ["MAX_BOUND", "Sampler", "Stories", "parse_sample"]

#: Parties remembered with their story (a least-recently-used table): a session or a card not
#: seen for this many others starts a story of its own when it comes back. At ~200 bytes an
#: entry, 100,000 hold about 20 MB.
MAX_BOUND = 100_000


@dataclass(slots=True)
class Stories:
    """Story names for exchanges, consistent for one capture."""

    key: bytes  # the capture's key: the digest that names a story file
    bound: OrderedDict[Party, str] = field(default_factory=OrderedDict)
    limit: int = MAX_BOUND

    def name(self, party: Party) -> str:
        """The file name stem of ``party``'s story: its kind and a digest of its id."""
        if party == SHARED:
            return "shared"
        digest = hmac.new(self.key, f"{party.kind}\x00{party.id}".encode(), hashlib.sha256).hexdigest()
        return f"{party.kind}-{digest[:20]}"

    def story(self, operation_id: str, path_params: Mapping[str, str], body: Any) -> str:
        named, carried = parties_of(operation_id, path_params, body)
        if carried is None or carried.kind == "profile":
            return self.name(carried or named or SHARED)
        known = self.bound.get(carried)
        if known is not None:
            self.bound.move_to_end(carried)
            return known
        story = self.name(named if named is not None else carried)
        self.bound[carried] = story
        if len(self.bound) > self.limit:
            self.bound.popitem(last=False)
        return story


def parse_sample(text: str) -> float:
    """``10%`` or ``0.1`` -> 0.1; a clear ``ValueError`` otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a share of stories: write 10% or 0.1") from None
    if not 0 < value <= 1:
        raise ValueError(f"{text!r}: a share of stories is more than 0% and at most 100%")
    return value


@dataclass(frozen=True, slots=True)
class Sampler:
    """Keeps a story or not by a hash of its name, so a kept customer is kept whole.

    The hash is not keyed: with the same capture key, the same stories are kept run after run.
    """

    share: float = 1.0

    def keeps(self, story: str) -> bool:
        if self.share >= 1.0:
            return True
        number = int.from_bytes(hashlib.blake2b(story.encode(), digest_size=8).digest(), "big")
        return number < self.share * 2**64
