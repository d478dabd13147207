"""Noise rules: which differences between a recorded and a live response are expected.

Replaying a recording against a live target never yields byte-identical answers: the server stamps
every write with its clock and numbers what it creates. A *noise rule* names such a location with
a JSONPath pattern and says why it differs; the diff (``replay.engine.diff``) marks a difference at that
location as noise instead of a real change.

Patterns are matched against *concrete locations* (a tuple of object keys and array indexes, e.g.
``("customerSession", "cartItems", 0, "price")``), never evaluated against documents. The language
is a subset of RFC 9535:

* ``$`` the root (every pattern starts with it);
* ``.name`` and ``['name']`` / ``["name"]`` an object member (quoted names may hold dots, brackets,
  spaces; escapes as in JSON); a shorthand name starts with a letter, ``_`` or a non-ASCII character;
* ``.*`` and ``[*]`` any member or element;
* ``[3]`` an array element (negative indexes are refused: a location does not know array lengths);
* ``..name``, ``..*``, ``..['name']``, ``..[3]`` descendant: any number of levels (zero or more) between.

Patterns compile once; a set of patterns compiles to one lazily built deterministic automaton
(:class:`PathMatcher`) that the diff steps one token at a time as it descends, so checking a
location costs a dict lookup per level, whatever the number of rules.

Built-in rules (:data:`BUILTIN`), decided from the v7.0.0 contract and the committed cassettes.
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

Rules files (YAML, or JSON, which is YAML)::

    version: 1
    rules:
      - path: "$..lastActivity"
        reason: "set by the server on every write"
        operations: [updateCustomerSessionV2]   # optional: only these operations
        values: timestamp                      # optional: only between date-times
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contracts.errors import TalonContractsError
from replay.cassettes.reading import atomic_write

__all__ = [
    "BUILTIN",
    "VALUE_KINDS",
    "MatcherState",
    "NoiseRule",
    "NoiseRules",
    "NoiseRulesError",
    "PathMatcher",
    "PathPattern",
    "Token",
    "pattern_for",
    "write_rules",
]

Token = str | int  # an object key or an array index
Location = tuple[Token, ...]

# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True, slots=True)
class _Step:
    """One segment of a pattern: a selector, reached directly or through any number of levels."""

    descendant: bool
    selector: Token | None  # None: wildcard; str: member name; int: array index

    def accepts(self, token: Token) -> bool:
        # type() check: the member "3" is not the element 3 (and neither is ever True)
        return self.selector is None or (self.selector == token and type(self.selector) is type(token))


_NAME_FIRST = re.compile(r"[A-Za-z_\u0080-\U0010ffff]")
_NAME_REST = re.compile(r"[A-Za-z0-9_\u0080-\U0010ffff]*")
_INDEX = re.compile(r"-?[0-9]+")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "/": "/", "\\": "\\", "'": "'", '"': '"'}


class _Parser:
    """A recursive-descent reader of the pattern language; errors name the pattern and a 0-based position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, pos: int | None = None) -> ValueError:
        at = self.pos if pos is None else pos
        return ValueError(f"invalid path pattern {self.text!r} at position {at}: {message}")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def parse(self) -> tuple[_Step, ...]:
        if not self.text.startswith("$"):
            raise self.fail("a pattern starts with '$' (the root)", 0)
        self.pos = 1
        steps: list[_Step] = []
        while self.pos < len(self.text):
            char = self.peek()
            if char == ".":
                if self.peek(1) == ".":
                    self.pos += 2
                    steps.append(_Step(True, self.after_descendant()))
                else:
                    self.pos += 1
                    steps.append(_Step(False, self.shorthand()))
            elif char == "[":
                steps.append(_Step(False, self.bracket()))
            else:
                raise self.fail(f"expected '.', '..' or '[' but found {char!r}")
        return tuple(steps)

    def after_descendant(self) -> Token | None:
        if self.peek() == "[":
            return self.bracket()
        if self.peek() == ".":
            raise self.fail("'...' is not a segment; use '..name' or '..*'")
        return self.shorthand()

    def shorthand(self) -> Token | None:
        """``*`` or a member name after '.' or '..'."""
        if self.peek() == "*":
            self.pos += 1
            return None
        if not self.peek():
            raise self.fail("a name or '*' must follow '.'")
        if not _NAME_FIRST.match(self.peek()):
            hint = (
                f" (quote it: ['{self.text[self.pos :].split('.')[0].split('[')[0]}'])"
                if self.peek().isdigit() or self.peek() in "-$@ "
                else ""
            )
            raise self.fail(f"a name cannot start with {self.peek()!r}{hint}")
        match = _NAME_REST.match(self.text, self.pos + 1)
        assert match is not None  # the pattern accepts the empty string
        name = self.text[self.pos : match.end()]
        self.pos = match.end()
        return name

    def bracket(self) -> Token | None:
        start = self.pos
        self.pos += 1  # '['
        self.blanks()
        char = self.peek()
        selector: Token | None
        if char == "*":
            self.pos += 1
            selector = None
        elif char in ("'", '"'):
            selector = self.quoted()
        elif char == "-" or char.isdigit():
            selector = self.index()
        elif not char:
            raise self.fail("unterminated '['", start)
        elif char == "?":
            raise self.fail("filter selectors ('[?...]') are not supported")
        elif char == ":":
            raise self.fail("slices are not supported")
        else:
            raise self.fail(f"expected a quoted name, an index or '*' in brackets, found {char!r}")
        self.blanks()
        if self.peek() == ",":
            raise self.fail("unions ('[a, b]') are not supported: write one rule per location")
        if self.peek() == ":":
            raise self.fail("slices are not supported")
        if self.peek() != "]":
            raise self.fail(
                "expected ']'" if self.peek() else f"unterminated '[' (opened at position {start})"
            )
        self.pos += 1
        return selector

    def blanks(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r"):
            self.pos += 1

    def index(self) -> int:
        match = _INDEX.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected an index")
        digits = match.group()
        if digits.startswith("-"):
            raise self.fail("negative indexes are not supported: a location does not know its array's length")
        if len(digits) > 1 and digits.startswith("0"):
            raise self.fail("an index has no leading zeros")
        self.pos = match.end()
        return int(digits)

    def quoted(self) -> str:
        quote = self.peek()
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.fail(f"unterminated string (opened at position {start})", start)
            if char == quote:
                self.pos += 1
                return "".join(out)
            if char == "\\":
                escape = self.peek(1)
                if escape == "u":
                    digits = self.text[self.pos + 2 : self.pos + 6]
                    if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                        raise self.fail("expected four hex digits after '\\u'")
                    out.append(chr(int(digits, 16)))
                    self.pos += 6
                    continue
                if escape not in _ESCAPES:
                    raise self.fail(f"unknown escape '\\{escape}'")
                out.append(_ESCAPES[escape])
                self.pos += 2
                continue
            if ord(char) < 0x20:
                raise self.fail("control characters must be escaped in a quoted name")
            out.append(char)
            self.pos += 1


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled pattern. ``PathPattern("$..created")``; raises ``ValueError`` when invalid."""

    text: str
    steps: tuple[_Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"a path pattern is a string, not {type(self.text).__name__}")
        object.__setattr__(self, "steps", _Parser(self.text).parse())

    def matches(self, location: Sequence[Token]) -> bool:
        """Whether the pattern selects this location (an NFA run; for one-off checks and tests)."""
        steps = self.steps
        end = len(steps)
        positions = {0}
        for token in location:
            following: set[int] = set()
            for position in positions:
                if position == end:
                    continue
                step = steps[position]
                if step.descendant:
                    following.add(position)  # this token is one of the levels in between
                if step.accepts(token):
                    following.add(position + 1)
            if not following:
                return False
            positions = following
        return end in positions

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- many patterns at once

_OTHER = object()  # the class of every token that no pattern names: only wildcards accept it
_CACHE_LIMIT = 4096  # tokens remembered per state beyond the ones patterns name (array indexes ...)


class MatcherState:
    """A DFA state: the (pattern, position) pairs still alive after the tokens read so far."""

    __slots__ = ("_by_class", "_next", "accept", "dead", "items", "matcher")

    def __init__(self, matcher: PathMatcher, items: frozenset[tuple[int, int]]) -> None:
        self.matcher = matcher
        self.items = items
        self.dead = not items
        ends = matcher.ends
        #: indexes of the patterns that select the location reached, in pattern order
        self.accept: tuple[int, ...] = tuple(sorted(i for i, p in items if p == ends[i]))
        self._next: dict[Token, MatcherState] = {}
        self._by_class: dict[object, MatcherState] = {}

    def step(self, token: Token) -> MatcherState:
        try:
            return self._next[token]
        except KeyError:
            pass
        matcher = self.matcher
        named = matcher.names if type(token) is str else matcher.indexes
        cls: object = token if token in named else _OTHER
        state = self._by_class.get(cls)
        if state is None:
            state = matcher.advance(self, token if cls is not _OTHER else None)
            self._by_class[cls] = state
        if len(self._next) < _CACHE_LIMIT or cls is not _OTHER:
            self._next[token] = state
        return state


class PathMatcher:
    """Patterns compiled together into a lazily built DFA over location tokens.

    ``matcher.start.step("customerSession").step("id").accept`` -> indexes of the patterns that
    select ``$.customerSession.id``. States are built on first use and shared, so a matcher warms
    up after a few documents and then costs one dict lookup per level.
    """

    __slots__ = ("ends", "indexes", "names", "patterns", "start", "states")

    def __init__(self, patterns: Iterable[PathPattern]) -> None:
        self.patterns = tuple(patterns)
        self.ends = tuple(len(p.steps) for p in self.patterns)
        self.names = frozenset(s.selector for p in self.patterns for s in p.steps if type(s.selector) is str)
        self.indexes = frozenset(
            s.selector for p in self.patterns for s in p.steps if type(s.selector) is int
        )
        self.states: dict[frozenset[tuple[int, int]], MatcherState] = {}
        self.start = self._state(frozenset((i, 0) for i in range(len(self.patterns))))

    def _state(self, items: frozenset[tuple[int, int]]) -> MatcherState:
        state = self.states.get(items)
        if state is None:
            state = self.states[items] = MatcherState(self, items)
        return state

    def advance(self, state: MatcherState, token: Token | None) -> MatcherState:
        """The state after ``token``; None stands for any token no pattern names."""
        following: set[tuple[int, int]] = set()
        for index, position in state.items:
            steps = self.patterns[index].steps
            if position == len(steps):
                continue
            step = steps[position]
            if step.descendant:
                following.add((index, position))
            if step.selector is None or (token is not None and step.accepts(token)):
                following.add((index, position + 1))
        return self._state(frozenset(following))

    def walk(self, location: Iterable[Token]) -> MatcherState:
        state = self.start
        for token in location:
            if state.dead:
                break
            state = state.step(token)
        return state

    def match(self, location: Iterable[Token]) -> tuple[int, ...]:
        """Indexes of the patterns that select ``location``, in order."""
        return self.walk(location).accept


# --------------------------------------------------------------------------- rules

#: Value conditions a rule may carry (``values:`` in a rules file).
VALUE_KINDS = ("timestamp",)

# RFC 3339 date-time (or a full date): the only shape a "clock reading" rule explains.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
)


def _is_timestamp(value: Any) -> bool:
    return type(value) is str and _TIMESTAMP.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class NoiseRule:
    """A location whose differences are expected, and why.

    ``operations`` restricts the rule to those operation ids (None: every operation; a rule with
    operations never matches an exchange of no known operation). ``values`` restricts it to
    differences between values of a kind (``"timestamp"``: both sides, where present, are RFC 3339
    date-times); :meth:`matches` looks at the location only, :meth:`covers` at a value.
    """

    pattern: str
    reason: str
    operations: frozenset[str] | None = None
    source: str = "builtin"
    values: str | None = None
    _compiled: PathPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", PathPattern(self.pattern))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"noise rule {self.pattern!r}: a reason is required (it is shown in reports)")
        operations: Any = self.operations
        if operations is not None and not isinstance(operations, frozenset):
            if isinstance(operations, str):  # frozenset("op") would be a set of letters
                raise TypeError(
                    f"noise rule {self.pattern!r}: operations is a set of operation ids, not a string"
                )
            object.__setattr__(self, "operations", frozenset(operations))
        if self.values is not None and self.values not in VALUE_KINDS:
            raise ValueError(
                f"noise rule {self.pattern!r}: unknown value kind {self.values!r} (valid: {', '.join(VALUE_KINDS)})"
            )

    @property
    def compiled(self) -> PathPattern:
        return self._compiled

    def applies_to(self, operation_id: str | None) -> bool:
        return self.operations is None or operation_id in self.operations

    def matches(self, operation_id: str | None, location: Sequence[Token]) -> bool:
        return self.applies_to(operation_id) and self._compiled.matches(location)

    def covers(self, value: Any) -> bool:
        """Whether a value found at a matching location is of the kind this rule explains."""
        return self.values is None or _is_timestamp(value)


class NoiseRules:
    """An ordered collection of rules; :meth:`match` returns the first rule that selects a location.

    Matchers are compiled per operation on first use and kept: build a ``NoiseRules`` once and
    reuse it (``NoiseRules.builtin()`` is shared).
    """

    __slots__ = ("_by_operation", "_rules")

    def __init__(self, rules: Iterable[NoiseRule] = ()) -> None:
        self._rules = tuple(rules)
        for rule in self._rules:
            if not isinstance(rule, NoiseRule):
                raise TypeError(f"NoiseRules holds NoiseRule objects, not {type(rule).__name__}")
        self._by_operation: dict[str | None, tuple[PathMatcher, tuple[NoiseRule, ...]]] = {}

    def matcher(self, operation_id: str | None) -> tuple[PathMatcher, tuple[NoiseRule, ...]]:
        """The compiled matcher of the rules that apply to an operation, and those rules (same order)."""
        found = self._by_operation.get(operation_id)
        if found is None:
            rules = tuple(r for r in self._rules if r.applies_to(operation_id))
            found = self._by_operation[operation_id] = (PathMatcher(r.compiled for r in rules), rules)
        return found

    def match(self, operation_id: str | None, location: Sequence[Token]) -> NoiseRule | None:
        """The first rule that selects the location for this operation (value conditions not checked)."""
        matcher, rules = self.matcher(operation_id)
        accept = matcher.match(location)
        return rules[accept[0]] if accept else None

    def __add__(self, other: NoiseRules) -> NoiseRules:
        if not isinstance(other, NoiseRules):
            return NotImplemented
        return NoiseRules(self._rules + other._rules)

    def __iter__(self) -> Iterator[NoiseRule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"NoiseRules({len(self._rules)} rules)"

    @classmethod
    def builtin(cls) -> NoiseRules:
        return _builtin()

    @classmethod
    def load(cls, path: str | Path) -> NoiseRules:
        return cls(_load_rules(Path(path)))


# --------------------------------------------------------------------------- built-in rules

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
def _builtin() -> NoiseRules:
    return NoiseRules(BUILTIN)


# --------------------------------------------------------------------------- rules files


class NoiseRulesError(TalonContractsError, ValueError):
    """A noise rules file cannot be used: unreadable, not YAML, or a rule that is not valid."""

    def __init__(
        self, message: str, *, source: str, rule: int | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.rule = rule  # 1-based, as people count rules in a file
        self.line = line
        where = source + (f":{line}" if line is not None else "")
        if rule is not None:
            where += f": rule {rule}"
        super().__init__(f"{where}: {message}")


_TOP_KEYS = ("version", "rules")
_RULE_KEYS = ("path", "reason", "operations", "values")


def _near(word: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"(valid: {', '.join(valid)}){hint}"


def _rule_lines(text: str) -> list[int]:
    """1-based line of each item of ``rules``, by composing (not constructing) the document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _load_rules(path: Path) -> list[NoiseRule]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise NoiseRulesError(f"cannot read the noise rules: {exc.strerror or exc}", source=source) from None
    except UnicodeDecodeError as exc:
        raise NoiseRulesError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise NoiseRulesError(f"not valid YAML: {problem}", source=source, line=line) from None
    if document is None:
        raise NoiseRulesError("the file is empty; expected 'version: 1' and 'rules:'", source=source)
    if not isinstance(document, Mapping):
        raise NoiseRulesError(
            f"expected a mapping with 'version' and 'rules', found {_type_name(document)}", source=source
        )
    for key in document:
        if key not in _TOP_KEYS:
            raise NoiseRulesError(
                f"unknown top-level key {key!r} {_near(str(key), _TOP_KEYS)}", source=source
            )
    version = document.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise NoiseRulesError(f"unsupported version {version!r}; this tool reads version 1", source=source)
    raw_rules = document.get("rules")
    if raw_rules is None:
        raise NoiseRulesError("no 'rules' list (write 'rules: []' for none)", source=source)
    if not isinstance(raw_rules, list):
        raise NoiseRulesError(f"'rules' must be a list, found {_type_name(raw_rules)}", source=source)
    lines = _rule_lines(text)
    return [
        _rule(raw, source, number, lines[number - 1] if number <= len(lines) else None)
        for number, raw in enumerate(raw_rules, start=1)
    ]


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _rule(raw: Any, source: str, number: int, line: int | None) -> NoiseRule:
    def fail(message: str) -> NoiseRulesError:
        return NoiseRulesError(message, source=source, rule=number, line=line)

    if not isinstance(raw, Mapping):
        raise fail(f"a rule is a mapping with 'path' and 'reason', found {_type_name(raw)}")
    for key in raw:
        if key not in _RULE_KEYS:
            raise fail(f"unknown key {key!r} {_near(str(key), _RULE_KEYS)}")
    for required in ("path", "reason"):
        if required not in raw:
            raise fail(f"missing {required!r}")
        value = raw[required]
        if not isinstance(value, str):
            raise fail(f"{required!r} must be a string, found {_type_name(value)}")
        if not value.strip():
            raise fail(f"{required!r} is empty")
    operations = raw.get("operations")
    if operations is not None:
        if isinstance(operations, str):
            raise fail(f"'operations' must be a list of operation ids, e.g. [{operations}]")
        if not isinstance(operations, list) or not all(isinstance(o, str) and o for o in operations):
            raise fail(f"'operations' must be a list of operation ids, found {_type_name(operations)}")
        if not operations:
            raise fail("'operations' is empty (leave it out for every operation)")
    values = raw.get("values")
    if values is not None and values not in VALUE_KINDS:
        raise fail(f"unknown 'values' kind {values!r} (valid: {', '.join(VALUE_KINDS)})")
    try:
        return NoiseRule(
            raw["path"],
            raw["reason"],
            frozenset(operations) if operations is not None else None,
            source,
            values,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people write rules files (PyYAML's default does not)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def write_rules(path: str | Path, rules: Iterable[NoiseRule], *, header: str | None = None) -> None:
    """Write rules in the rules-file format (atomically); ``NoiseRules.load`` reads them back.

    ``header`` becomes ``#`` comment lines at the top (e.g. how and when learned rules were found).
    """
    entries: list[dict[str, Any]] = []
    for rule in rules:
        entry: dict[str, Any] = {"path": rule.pattern, "reason": rule.reason}
        if rule.operations is not None:
            entry["operations"] = sorted(rule.operations)
        if rule.values is not None:
            entry["values"] = rule.values
        entries.append(entry)
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    body = yaml.dump(
        {"version": 1, "rules": entries},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=110,
    )
    text = "\n".join([*lines, body]) if lines else body
    with atomic_write(path) as stream:
        stream.write(text.encode("utf-8"))


def pattern_for(location: Sequence[Token]) -> str:
    """The pattern that selects exactly this location (for learned rules): ``$.data[0]['a.b']``."""
    parts = ["$"]
    for token in location:
        if not isinstance(token, str):
            parts.append(f"[{token}]")
        elif _NAME_FIRST.match(token[:1]) and _NAME_REST.fullmatch(token, 1):
            parts.append(f".{token}")
        else:
            parts.append("[" + json.dumps(token, ensure_ascii=False) + "]")
    return "".join(parts)
