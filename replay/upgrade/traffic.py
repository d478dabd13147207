"""Where a spec diff hits the team's own recorded traffic.

Two readings of the same interactions, in one pass over the files:

* **touches**: for each change, the recorded interactions it concerns, found from the change's
  :class:`~contracts.specdiff.model.Touch` (a response property that is removed and that N
  recorded answers carry; a newly required request property that M recorded requests lack; an
  enum value they send ...), with example interaction ids;
* **re-verification**: every interaction checked against the old and the new contract, as
  ``talon-contracts verify`` does; those the old accepts and the new rejects are listed, each
  violation explained by the change at its location where there is one.

Interactions are matched to operations with the *old* contract: the traffic was recorded
against it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.errors import Violation
from contracts.http import normalize_headers, parse_json, query_params
from contracts.spec import Contract
from contracts.specdiff.model import Change, SpecDiff, Touch
from contracts.specdiff.rules import Level
from replay.cassettes import input_files
from replay.cassettes.model import Interaction, ReadProblem, plain
from replay.verify import check, file_interactions

__all__ = ["Rejected", "Touched", "TrafficImpact", "traffic_impact"]

EXAMPLES = 3  # interaction ids kept per change
MAX_REJECTED = 1_000  # listed; beyond, only counted
_ABSENT: Any = object()


@dataclass(slots=True)
class Touched:
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An interaction the old contract accepts and the new one rejects."""

    interaction: str  # file#index
    operation_id: str | None
    method: str
    url: str
    violations: tuple[Violation, ...]
    explained_by: tuple[str | None, ...]  # per violation: the rule id of the change at its location
    level: Level | None = Level.ERR  # see rejection_level


@dataclass(slots=True)
class TrafficImpact:
    interactions: int = 0
    files: int = 0
    per_operation: Counter[str] = field(default_factory=Counter)
    unmatched: int = 0  # interactions of no operation of the old contract
    touched: dict[int, Touched] = field(default_factory=dict)  # index into diff.changes
    rejected: list[Rejected] = field(default_factory=list)
    rejected_count: int = 0
    rejected_levels: Counter[Level | None] = field(
        default_factory=Counter
    )  # all of them, also those not listed
    problems: list[ReadProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def hits(self, index: int) -> Touched:
        return self.touched.get(index) or Touched()


class _Exchange:
    """The parts of one interaction a touch can look at, parsed when first asked for."""

    def __init__(self, interaction: Interaction, path_params: dict[str, str]) -> None:
        self.interaction = interaction
        self.path_params = path_params
        self._cache: dict[tuple[str, str], Any] = {}

    def part(self, phase: str, part: str) -> Any:
        key = (phase, part)
        if key not in self._cache:
            self._cache[key] = self._read(phase, part)
        return self._cache[key]

    def _read(self, phase: str, part: str) -> Any:
        message = self.interaction.request if phase == "request" else self.interaction.response
        if message is None:
            return _ABSENT
        if part == "body":
            _, body = plain(message.headers, message.body)
            if not body:
                return _ABSENT
            try:
                return parse_json(body)
            except ValueError:
                return _ABSENT
        if part == "query":
            return {
                k: v if len(v) != 1 else v[0] for k, v in query_params(self.interaction.request.url).items()
            }
        if part == "path":
            return dict(self.path_params)
        if part == "header":
            return normalize_headers(message.headers)
        if part == "cookie":
            cookies = normalize_headers(message.headers).get("cookie", "")
            return dict(c.strip().split("=", 1) for c in cookies.split(";") if "=" in c)
        return _ABSENT

    def status_key(self, contract: Contract, operation_id: str) -> str | None:
        response = self.interaction.response
        if response is None:
            return None
        spec = contract.operations[operation_id].response_for(response.status)
        return None if spec is None else (spec.key.upper() if spec.key != "default" else "default")

    def media_type(self, phase: str) -> str:
        message = self.interaction.request if phase == "request" else self.interaction.response
        if message is None:
            return ""
        return normalize_headers(message.headers).get("content-type", "").split(";", 1)[0].strip().lower()


def _values(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at ``path`` (``*``: each item of an array or value of a map)."""
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        children = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else []
        for child in children:
            yield from _values(child, rest)
    elif isinstance(node, dict) and head in node:
        yield from _values(node[head], rest)


def _missing(node: Any, path: tuple[str, ...]) -> bool:
    """Whether an object at ``path[:-1]`` lacks ``path[-1]`` (the whole part counts when absent)."""
    if not path:
        return node is _ABSENT
    if node is _ABSENT:
        return True
    return any(isinstance(parent, dict) and path[-1] not in parent for parent in _values(node, path[:-1]))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _outside(value: Any, bound: tuple[str, Any]) -> bool:
    """Whether the new ``bound`` refuses ``value``."""
    keyword, limit = bound
    if value is None:
        return False  # null is the nullable rules' business
    if keyword in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"):
        number = _number(value)
        if number is None:
            return False
        refused: bool = {
            "maximum": number > limit, "exclusiveMaximum": number >= limit,
            "minimum": number < limit, "exclusiveMinimum": number <= limit,
        }[keyword]  # fmt: skip
        return refused
    if keyword in ("maxLength", "minLength"):
        return isinstance(value, str) and (
            len(value) > limit if keyword == "maxLength" else len(value) < limit
        )
    if keyword in ("maxItems", "minItems"):
        return isinstance(value, list) and (
            len(value) > limit if keyword == "maxItems" else len(value) < limit
        )
    if keyword == "pattern":
        try:
            return isinstance(value, str) and re.search(limit, value) is None
        except re.error:
            return True  # a pattern Python cannot read: counted, not hidden
    if keyword == "enum":
        return value not in limit
    if keyword == "type":
        return bool(limit) and not any(_JSON_TYPES.get(t, lambda v: True)(value) for t in limit)
    if keyword == "additionalProperties":
        return isinstance(value, dict) and any(k not in limit for k in value)
    return False


def touches(touch: Touch, exchange: _Exchange, status: str | None) -> bool:
    """Whether ``exchange`` is one of the interactions ``touch`` concerns."""
    if touch.status is not None and touch.status != status:
        return False
    if touch.kind in ("operation", "status"):
        return touch.kind == "operation" or status is not None
    if touch.kind == "media-type":
        return exchange.media_type(touch.phase) == touch.media_type
    phase = touch.phase or "request"
    root = exchange.part(phase, touch.part or "body")
    path = touch.path
    if touch.part == "header" and path:
        path = (path[0].lower(), *path[1:])
    if touch.kind == "missing":
        return _missing(root, path)
    if root is _ABSENT:
        return False
    if touch.kind == "present":
        return any(True for _ in _values(root, path))
    # parameters arrive as text: "3" is 3 and "true" is true to an integer or boolean parameter
    readings = _readings if touch.part in _WIRE else _as_is
    if touch.kind == "values":
        wanted = {_text(v) for v in touch.values}
        return any(_text(r) in wanted for v in _values(root, path) for r in readings(v))
    if touch.kind == "outside" and touch.bound is not None:
        bound = touch.bound
        return any(all(_outside(r, bound) for r in readings(v)) for v in _values(root, path))
    return False


_WIRE = frozenset({"query", "path", "header", "cookie"})


def _text(value: Any) -> str:
    """Values compared as JSON texts: 1 and true are not the same value."""
    return json.dumps(value, sort_keys=True, default=str)


def _as_is(value: Any) -> tuple[Any, ...]:
    return (value,)


def _readings(value: Any) -> tuple[Any, ...]:
    """A parameter's text, and what it reads as when the parameter is a number or a boolean."""
    if not isinstance(value, str):
        return (value,)
    if value in ("true", "false"):
        return value, value == "true"
    number = _number(value)
    if number is not None:
        return value, int(number) if float(number).is_integer() and "." not in value else number
    return (value,)


def _explain(violation: Violation, changes: list[Change]) -> Change | None:
    """The change whose place holds the violation: the deepest one whose touch path is a prefix of the
    violation's pointer. A change of the whole operation explains what nothing else does, if it breaks
    calls (a removed operation, a security requirement); a rename or a deprecation explains nothing."""
    tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in violation.pointer.split("/")[1:])
    if violation.location == "header":
        tokens = tuple(t.lower() for t in tokens)
    best: tuple[int, Change] | None = None
    for change in changes:
        touch = change.touch
        if touch.phase and touch.phase != violation.phase:
            continue
        if (
            touch.status is not None
            and violation.status is not None
            and not _status_fits(touch.status, violation.status)
        ):
            continue
        if (touch.kind == "operation" and change.rule.level is Level.ERR) or (
            touch.kind == "status" and violation.location == "status"
        ):
            score = 0
        elif (
            touch.part == violation.location
            and len(touch.path) <= len(tokens)
            and all(want in ("*", got) for want, got in zip(touch.path, tokens, strict=False))
        ):
            score = 1 + len(touch.path)
        else:
            continue
        if best is None or score > best[0]:
            best = (score, change)
    return best[1] if best else None


def rejection_level(explained: tuple[Change | None, ...]) -> Level | None:
    """How much a rejected interaction counts: as much as the worst change that explains one of its
    violations (with the team's severity and ignores applied), ERR for a violation no change explains,
    None when every explanation is ignored."""
    levels = [Level.ERR if change is None else change.level for change in explained
              if change is None or change.ignored is None]  # fmt: skip
    return max(levels) if levels else None


def _status_fits(key: str, status: int) -> bool:
    return key in (str(status), f"{status // 100}XX", "default")


def traffic_impact(
    paths: Iterable[str | Path],
    diff: SpecDiff,
    old: Contract,
    new: Contract,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> TrafficImpact:
    """Read the recordings under ``paths`` once: what each change of ``diff`` touches, and what the new
    contract rejects that the old one accepts."""
    impact = TrafficImpact()
    by_operation: dict[str, list[tuple[int, Change]]] = {}
    for index, change in enumerate(diff.changes):
        by_operation.setdefault(change.old_operation_id or change.operation_id, []).append((index, change))
    for path in input_files(paths, impact.unreadable):
        impact.files += 1
        for item in file_interactions(path, impact.problems, []):
            impact.interactions += 1
            if progress is not None and not impact.interactions % 1000:
                progress(str(path), impact.interactions)
            try:
                _one(item, impact, by_operation, old, new)
            except Exception as exc:  # a value no check anticipated: this interaction only, said plainly
                impact.problems.append(ReadProblem(str(path), f"cannot be checked ({type(exc).__name__}: {exc})",
                                                   index=item.index, line=item.line))  # fmt: skip
        if progress is not None:
            progress(str(path), impact.interactions)
    return impact


def _one(item: Interaction, impact: TrafficImpact, by_operation: dict[str, list[tuple[int, Change]]],
         old: Contract, new: Contract) -> None:  # fmt: skip
    match = old.find(item.request.method, item.request.url)
    if match is None:
        impact.unmatched += 1
        return
    operation_id = match.operation.operation_id
    impact.per_operation[operation_id] += 1
    exchange = _Exchange(item, match.path_params)
    status = exchange.status_key(old, operation_id)
    concerned = [*by_operation.get(operation_id, ()), *by_operation.get("*", ())]  # "*": every operation
    for index, change in concerned:
        if touches(change.touch, exchange, status):
            hit = impact.touched.setdefault(index, Touched())
            hit.count += 1
            if len(hit.examples) < EXAMPLES:
                hit.examples.append(item.where)
    before, _ = check(old, item)
    if before:
        return
    after, _ = check(new, item)
    if not after:
        return
    changes = [c for _, c in concerned]
    explained = tuple(_explain(v, changes) for v in after)
    level = rejection_level(explained)
    impact.rejected_count += 1
    impact.rejected_levels[level] += 1
    if len(impact.rejected) < MAX_REJECTED:
        impact.rejected.append(Rejected(
            item.where, operation_id, item.request.method, item.request.url, tuple(after),
            tuple(c.rule_id if c is not None else None for c in explained), level,
        ))  # fmt: skip
