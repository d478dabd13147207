"""What the spec diff returns: changes with where they are in both documents and in the traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import LoadIssue
from .rules import Level, Rule, rule

__all__ = ["Change", "Side", "SpecDiff", "Touch"]


@dataclass(frozen=True, slots=True)
class Side:
    """Where a change sits in one of the two documents."""

    source: str
    pointer: str  # JSON pointer into the document (``/components/schemas/CartItem/properties/sku``)
    line: int | None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True, slots=True)
class Touch:
    """Which recorded interactions a change touches, as data (``replay.upgrade.traffic`` reads it).

    ``kind``:
      ``operation``   every interaction of the operation
      ``status``      interactions answered with ``status`` (a response key: ``200``, ``4XX``, ``default``)
      ``media-type``  interactions whose ``phase`` carries ``media_type``
      ``present``     interactions with a value at ``path`` (``*`` stands for any array item or map value)
      ``missing``     interactions where the object holding ``path``'s last token lacks it
      ``values``      interactions with a value at ``path`` that is one of ``values``
      ``outside``     interactions with a value at ``path`` that the new ``bound`` refuses
    ``part``: ``body``, ``query``, ``path``, ``header``, ``cookie`` (or ``""`` for whole exchanges).
    """

    kind: str
    phase: str = ""  # "request" | "response" | "" (both)
    status: str | None = None
    part: str = ""
    path: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    bound: tuple[str, Any] | None = None  # (keyword, limit): ("maximum", 10), ("maxLength", 255) ...
    media_type: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the two documents, judged from the client's side of the wire."""

    rule_id: str
    level: Level
    operation_id: str  # the new document's id (the old one's when the operation is gone)
    method: str
    path: str  # the operation's path template
    location: str  # where in the exchange: ``request query/pageSize``, ``response 200 body/effects/*/props``
    message: str  # one line, with the values before and after
    before: Any = None
    after: Any = None
    old: Side | None = None
    new: Side | None = None
    touch: Touch = field(default_factory=lambda: Touch("operation"))
    old_operation_id: str | None = None  # when it differs (a rename)
    ignored: str | None = None  # the reason, when an ignore entry matched

    @property
    def rule(self) -> Rule:
        return rule(self.rule_id)

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a change across runs (JUnit names, ignore entries): rule, operation, location."""
        return (self.rule_id, self.operation_id, self.location)

    def to_dict(self) -> dict[str, Any]:
        def side(s: Side | None) -> dict[str, Any] | None:
            return None if s is None else {"source": s.source, "pointer": s.pointer, "line": s.line}

        return {
            "rule": self.rule_id,
            "level": str(self.level),
            "operation": self.operation_id,
            "old_operation": self.old_operation_id,
            "method": self.method,
            "path": self.path,
            "location": self.location,
            "message": self.message,
            "before": self.before,
            "after": self.after,
            "old": side(self.old),
            "new": side(self.new),
            "ignored": self.ignored,
        }


@dataclass(slots=True)
class SpecDiff:
    """Every change between two documents, over the operations compared."""

    old_source: str
    new_source: str
    old_version: str
    new_version: str
    changes: list[Change] = field(default_factory=list)
    operations: int = 0  # operations compared (in either document)
    issues: list[LoadIssue] = field(default_factory=list)  # quirks loading tolerated, both documents
