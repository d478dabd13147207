"""One path language for the whole toolkit: RFC 9535 JSONPath, for noise rules, ``--ignore``,
``--redact-path`` and the identifier tables of ``replay.talon``.

A :class:`PathPattern` is evaluated one of two ways, decided by the pattern itself:

* **against locations** (a tuple of object keys and array indexes, e.g.
  ``("customerSession", "cartItems", 0, "price")``), without the document: what the diff needs,
  for it knows where it is as it descends. Patterns of this subset:

  * ``$`` the root (every pattern starts with it);
  * ``.name`` and ``['name']`` / ``["name"]`` an object member (quoted names may hold dots,
    brackets, spaces; escapes as in JSON); a shorthand name starts with a letter, ``_`` or a
    non-ASCII character;
  * ``.*`` and ``[*]`` any member or element;
  * ``[3]`` an array element;
  * ``..name``, ``..*``, ``..['name']``, ``..[3]`` descendant: any number of levels (zero or more)
    between.

  Patterns compile once; a set of patterns compiles to one lazily built deterministic automaton
  (:class:`PathMatcher`) that the diff steps one token at a time as it descends, so checking a
  location costs a dict lookup per level, whatever the number of rules.
* **against documents**, for everything else RFC 9535 has (filters such as
  ``$.effects[?@.effectType=='setDiscount'].props.value``, negative indexes, slices, unions,
  functions), by python-jsonpath (strict: RFC 9535 only): :meth:`PathPattern.locations` gives the
  concrete locations a pattern selects in a document. A location pattern can be evaluated this
  way too.

An invalid path fails the same way wherever it is given: ``ValueError("invalid path pattern ...
at position N: ...")``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import jsonpath

__all__ = ["Location", "MatcherState", "PathMatcher", "PathPattern", "Token", "pattern_for", "value_at"]

Token = str | int  # an object key or an array index
Location = tuple[Token, ...]

_JSONPATH = jsonpath.JSONPathEnvironment(strict=True)


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

    def beyond(self, what: str) -> _NeedsDocument:
        return _NeedsDocument(what)

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
            raise self.beyond("a filter selector")
        elif char == ":":
            raise self.beyond("a slice")
        else:
            raise self.fail(f"expected a quoted name, an index or '*' in brackets, found {char!r}")
        self.blanks()
        if self.peek() == ",":
            raise self.beyond("a union")
        if self.peek() == ":":
            raise self.beyond("a slice")
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
            raise self.beyond("a negative index")  # a location does not know its array's length
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


class _NeedsDocument(Exception):
    """The pattern uses RFC 9535 beyond what a location can answer (a filter, a slice ...)."""


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled pattern. ``PathPattern("$..created")``; raises ``ValueError`` when invalid.

    ``steps`` is None for a pattern that is evaluated against documents only (:attr:`located`
    False): :meth:`matches` cannot answer for it, :meth:`locations` can.
    """

    text: str
    steps: tuple[_Step, ...] | None = field(init=False, repr=False, compare=False)
    _compiled: Any = field(init=False, repr=False, compare=False)
    #: member names and wildcards only (``$.data[*].code``): walked directly in documents
    _simple: tuple[str | None, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"a path pattern is a string, not {type(self.text).__name__}")
        object.__setattr__(self, "_compiled", None)
        try:
            object.__setattr__(self, "steps", _Parser(self.text).parse())
        except _NeedsDocument as exc:
            object.__setattr__(self, "steps", None)
            self._general(str(exc))  # RFC 9535 says whether it is valid
        steps = self.steps
        simple = steps is not None and all(not s.descendant and type(s.selector) is not int for s in steps)
        object.__setattr__(
            self, "_simple", tuple(cast(str | None, s.selector) for s in steps or ()) if simple else None
        )

    def _general(self, what: str = "") -> Any:
        """The pattern compiled by python-jsonpath (RFC 9535, strict), on first use."""
        compiled = self._compiled
        if compiled is None:
            try:
                compiled = _JSONPATH.compile(self.text)
            except jsonpath.JSONPathError as exc:
                detail = str(exc).splitlines()[0]
                raise ValueError(
                    f"invalid path pattern {self.text!r}{f' ({what})' if what else ''}: {detail}"
                ) from None
            object.__setattr__(self, "_compiled", compiled)
        return compiled

    @property
    def located(self) -> bool:
        """Whether the pattern can be matched against a location, without the document."""
        return self.steps is not None

    def locations(self, document: Any) -> Iterator[Location]:
        """The concrete locations the pattern selects in ``document``."""
        if self._simple is not None:
            yield from (location for location, _ in self._walk(document))
            return
        try:
            for match in self._general().finditer(document):
                yield tuple(match.parts)
        except (jsonpath.JSONPathError, TypeError):  # a document the filter cannot be applied to
            return

    def values(self, document: Any) -> list[Any]:
        """The values the pattern selects in ``document``."""
        if self._simple is not None:
            return [value for _, value in self._walk(document)]
        return [value_at(document, location) for location in self.locations(document)]

    def assign(self, document: Any, change: Callable[[Any], Any]) -> bool:
        """Replace each value the pattern selects by ``change(value)``; whether any changed. The
        root itself (``$``) is not assignable."""
        changed = False
        for location in list(self.locations(document)):
            if not location:
                continue
            parent: Any = value_at(document, location[:-1])  # a dict or a list: the path selected in it
            value = parent[location[-1]]
            new = change(value)
            if new is not value and new != value:
                parent[location[-1]] = new
                changed = True
        return changed

    def _walk(self, document: Any) -> list[tuple[Location, Any]]:
        """(location, value) of every node a simple pattern selects (``*`` on an object: its
        members). The identifier tables' paths are all this simple and are read for every answer
        of a flow operation: python-jsonpath's general evaluation cost about 7% of a fast replay."""
        found: list[tuple[Location, Any]] = [((), document)]
        for step in self._simple or ():
            following: list[tuple[Location, Any]] = []
            for location, node in found:
                if step is None:
                    if isinstance(node, list):
                        following.extend(((*location, i), item) for i, item in enumerate(node))
                    elif isinstance(node, dict):
                        following.extend(((*location, key), item) for key, item in node.items())
                elif isinstance(node, dict) and step in node:
                    following.append(((*location, step), node[step]))
            found = following
        return found

    def matches(self, location: Sequence[Token]) -> bool:
        """Whether the pattern selects this location (an NFA run; for one-off checks and tests).
        A pattern that needs the document (not :attr:`located`) matches no bare location."""
        steps = self.steps
        if steps is None:
            return False
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
        if not all(p.located for p in self.patterns):
            raise ValueError("a matcher takes located patterns only (see PathPattern.located)")
        self.ends = tuple(len(p.steps or ()) for p in self.patterns)
        self.names = frozenset(
            s.selector for p in self.patterns for s in p.steps or () if type(s.selector) is str
        )
        self.indexes = frozenset(
            s.selector for p in self.patterns for s in p.steps or () if type(s.selector) is int
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
            assert steps is not None  # only located patterns are given to a matcher
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


def value_at(document: Any, location: Sequence[Token]) -> Any:
    """The value at a location :meth:`PathPattern.locations` gave (it exists in ``document``)."""
    for token in location:
        document = document[token]
    return document
