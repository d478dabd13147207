"""What a team decides about changes: levels overridden, changes ignored (with a reason, until a date).

An ignore file is YAML (read safely)::

    ignore:
      - rule: response-enum-value-added          # required: a rule id
        operation: updateCustomerSessionV2        # optional: an operationId (default: any)
        location: "response 200 body/triggeredCampaigns/*"   # optional: a glob over the location
        reason: we never read frontendState       # required
        until: 2027-01-31                         # optional: stops ignoring after this day

In ``location``, ``*`` matches any run of characters (including ``/``) and nothing else is special,
so a location copied from a report matches itself. An entry whose ``until`` has passed stops
ignoring and is reported as expired; an entry that matches no change is reported as unused (a typo
in an operation id, or the vendor fixed it). A typo in a rule id stops the run and names the
closest ids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..documents import parse_document
from ..errors import ContractLoadError
from .model import Change, SpecDiff
from .rules import RULES, Level, UnknownRule

__all__ = ["IgnoreEntry", "Judgement", "judge", "parse_severity", "read_ignore_file"]

_KEYS = ("rule", "operation", "location", "reason", "until")


@dataclass(frozen=True, slots=True)
class IgnoreEntry:
    rule: str
    reason: str
    operation: str | None = None
    location: str | None = None
    until: dt.date | None = None
    where: str = ""  # file:line of the entry

    def expired(self, today: dt.date) -> bool:
        return self.until is not None and today > self.until

    def matches(self, change: Change) -> bool:
        if change.rule_id != self.rule:
            return False
        if self.operation is not None and self.operation not in (
            change.operation_id,
            change.old_operation_id,
        ):
            return False
        return self.location is None or _glob(self.location).fullmatch(change.location) is not None


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def read_ignore_file(path: str | Path) -> list[IgnoreEntry]:
    """The entries of an ignore file; a malformed one raises :class:`ContractLoadError` saying where."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise ContractLoadError(exc.strerror or str(exc), source=str(path)) from None
    if all(not line.strip() or line.lstrip().startswith(b"#") for line in text.splitlines()):
        return []  # a file of comments only: nothing ignored yet
    doc = parse_document(text, source=str(path))
    data = doc.data
    entries = data.get("ignore") if isinstance(data, dict) else data
    if data is None or entries is None:
        return []
    if not isinstance(entries, list):
        raise ContractLoadError("an ignore file is a list of entries, or a mapping with an 'ignore' list",
                                source=doc.source, line=doc.line_of(""))  # fmt: skip
    base = "/ignore" if isinstance(data, dict) else ""
    result = []
    for index, raw in enumerate(entries):
        pointer = f"{base}/{index}"
        line = doc.line_of(pointer)
        where = f"{doc.source}:{line}" if line else doc.source

        def fail(message: str, pointer: str = pointer, line: int | None = line) -> ContractLoadError:
            return ContractLoadError(message, source=doc.source, pointer=pointer, line=line)

        if not isinstance(raw, dict):
            raise fail("an entry is a mapping with 'rule' and 'reason'")
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise fail(f"unknown key(s) {', '.join(map(repr, unknown))}; valid: {', '.join(_KEYS)}")
        rule_id = raw.get("rule")
        if not isinstance(rule_id, str):
            raise fail("an entry needs 'rule': a rule id")
        if rule_id not in RULES:
            raise UnknownRule(rule_id, where)
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise fail("an entry needs a 'reason' (why the change does not matter to you)")
        until = raw.get("until")
        if until is not None:
            try:
                until = dt.date.fromisoformat(str(until))
            except ValueError:
                raise fail(f"'until' must be a date like 2027-01-31, got {until!r}") from None
        for key in ("operation", "location"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise fail(f"'{key}' must be a string")
        result.append(
            IgnoreEntry(rule_id, reason.strip(), raw.get("operation"), raw.get("location"), until, where)
        )
    return result


def parse_severity(items: Iterable[str]) -> dict[str, Level]:
    """``["response-enum-value-added=WARN"]`` -> ``{rule: Level.WARN}``; bad input is a ValueError / UnknownRule."""
    result: dict[str, Level] = {}
    for item in items:
        rule_id, sep, level = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: expected RULE=LEVEL, like response-enum-value-added=WARN")
        if rule_id.strip() not in RULES:
            raise UnknownRule(rule_id.strip(), "--severity")
        result[rule_id.strip()] = Level.parse(level)
    return result


@dataclass(slots=True)
class Judgement:
    """The diff after the team's decisions, and what those decisions themselves need attention for."""

    diff: SpecDiff
    fail_on: Level
    expired: list[IgnoreEntry] = field(default_factory=list)
    unused: list[IgnoreEntry] = field(default_factory=list)

    @property
    def counted(self) -> list[Change]:
        return [c for c in self.diff.changes if c.ignored is None]

    @property
    def failing(self) -> list[Change]:
        return [c for c in self.counted if c.level >= self.fail_on]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def judge(
    diff: SpecDiff,
    *,
    fail_on: Level = Level.ERR,
    severity: Mapping[str, Level] | None = None,
    ignore: Iterable[IgnoreEntry] = (),
    today: dt.date | None = None,
) -> Judgement:
    """Apply ``--severity`` overrides, then the ignore entries still in force, to ``diff`` (in place)."""
    today = today or dt.date.today()
    entries = list(ignore)
    active = [e for e in entries if not e.expired(today)]
    used: set[int] = set()
    changes = []
    for change in diff.changes:
        if severity and change.rule_id in severity:
            change = dataclasses.replace(change, level=severity[change.rule_id])
        for index, entry in enumerate(active):
            if entry.matches(change):
                used.add(index)
                change = dataclasses.replace(change, ignored=entry.reason)
                break
        changes.append(change)
    diff.changes = changes
    return Judgement(
        diff,
        fail_on,
        expired=[e for e in entries if e.expired(today)],
        unused=[e for i, e in enumerate(active) if i not in used],
    )


def entry_dict(entry: IgnoreEntry) -> dict[str, Any]:
    return {
        "rule": entry.rule, "operation": entry.operation, "location": entry.location, "reason": entry.reason,
        "until": entry.until.isoformat() if entry.until else None, "where": entry.where,
    }  # fmt: skip
