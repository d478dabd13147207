"""Structural comparison of a recorded response with a live one.

:func:`diff_responses` compares status, chosen headers and bodies; :func:`diff_json` compares two
JSON documents. Every difference becomes a :class:`Change` at a location inside the body; a
difference at a location that a noise rule (``replay.rules.noise``) explains carries that rule, so a
report can show the real changes and count the expected ones.

Semantics:

* JSON kinds are object, array, string, number, boolean and null. Numbers compare by value
  (``1`` and ``1.0`` are the same), but a boolean is not a number (``true`` vs ``1`` is a
  ``type_changed``). Different kinds at one location: ``type_changed``; same kind, different
  value: ``changed``; a member or element on one side only: ``removed`` / ``added``.
* A location that a noise rule selects is not descended into: an object ``id`` that changed, or a
  whole sub-document under a rule, is one change with ``noise`` set.
* Arrays are compared by position unless an :class:`ArrayRule` says otherwise. ``by_key`` rules
  pair items by a key (``replay.talon.arrays``: effects, triggered campaigns, coupons, loyalty
  and audience memberships), so a reordering is not a change; unpaired items are ``removed`` at
  their recorded index or ``added`` at their live index; paired items are compared at their
  recorded index. Items with equal keys are paired in order.
* Defaults: ``noise=None`` is *no* noise rules (every difference is real; the engine passes
  ``replay.talon.noise.builtin_noise()`` plus the user's), while ``arrays=None`` is the built-in array rules:
  pairing effects by identity is not a judgement about what matters, only about what "the same
  effect" is. Pass ``ArrayRules()`` to compare every array by position.

Speed: the walk descends only into subtrees that differ (``==`` on containers is C-level), and
noise and array rules are compiled automata stepped one token per level (see ``replay.rules.noise``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import orjson

from contracts.http import HttpResponse, has_content, media_type, normalize_headers, parse_json
from replay.cassettes.model import body_text
from replay.engine.changes import NO_DIFFERENCE, NUMBERS, Change, ExchangeDiff, Location, value_kind
from replay.paths import MatcherState
from replay.rules.arrays import ArrayRule, ArrayRules, ItemKey
from replay.rules.noise import NoiseRule, NoiseRules
from replay.talon.arrays import builtin_arrays

__all__ = ["diff_json", "diff_responses"]

# --------------------------------------------------------------------------- array rules

_NO_NOISE = NoiseRules()

# --------------------------------------------------------------------------- the walk


def _strict_equal(a: Any, b: Any) -> bool:
    """JSON equality in Python, for what orjson cannot serialize (integers beyond 64 bits, deep nesting)."""
    kind_a, kind_b = type(a), type(b)
    if kind_a is not kind_b:
        return kind_a in NUMBERS and kind_b in NUMBERS and bool(a == b)
    if kind_a is dict:
        return a.keys() == b.keys() and all(_strict_equal(v, b[k]) for k, v in a.items())
    if kind_a is list:
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _exact(a: Any, b: Any) -> bool:
    """Whether two containers that ``==`` calls equal are the same JSON.

    ``==`` is C-level and so the way to skip identical subtrees, but it says ``True == 1``: a
    boolean swapped for a number deep inside would go unseen. Equal serializations settle it at C
    speed too; when they differ (that swap, ``1`` vs ``1.0``, or members in another order) the walk
    descends and reports exactly what, if anything, differs.
    """
    if not a:
        return True  # [] or {}
    try:
        return orjson.dumps(a) == orjson.dumps(b)
    except orjson.JSONEncodeError:
        return _strict_equal(a, b)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value across int/float, never a boolean for a number."""
    if a is b:
        return True
    kind = type(a)
    if kind is type(b):
        return bool(a == b) and ((kind is not dict and kind is not list) or _exact(a, b))
    return kind in NUMBERS and type(b) in NUMBERS and bool(a == b)


class _Walker:
    """One diff: the rules of the operation and the changes found so far."""

    __slots__ = ("array_rules", "changes", "noise_rules")

    def __init__(self, noise_rules: tuple[NoiseRule, ...], array_rules: tuple[ArrayRule, ...]) -> None:
        self.noise_rules = noise_rules
        self.array_rules = array_rules
        self.changes: list[Change] = []

    def explain(self, accept: tuple[int, ...], *values: Any) -> NoiseRule | None:
        for index in accept:
            rule = self.noise_rules[index]
            if rule.values is None or all(rule.covers(v) for v in values):
                return rule
        return None

    def differ(
        self,
        a: Any,
        b: Any,
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
    ) -> None:
        """``a`` and ``b`` are not the same; ``noise``/``arrays`` are the matchers' states here;
        ``live``: where ``b`` is in the live answer when not at ``location``."""
        if noise.accept and value_kind(a) == value_kind(b):  # a change of type is never noise
            rule = self.explain(noise.accept, a, b)
            if rule is not None:
                self.changes.append(Change(location, "changed", a, b, rule, False, live))
                return
        kind_a, kind_b = type(a), type(b)
        if kind_a is dict and kind_b is dict:
            self.objects(a, b, location, noise, arrays, live)
        elif kind_a is list and kind_b is list:
            self.arrays(a, b, location, noise, arrays, live)
        else:
            json_a = value_kind(a)
            if json_a != value_kind(b):
                self.changes.append(Change(location, "type_changed", a, b, None, False, live))
            elif json_a == "object":  # dict subclasses (a parser's OrderedDict ...)
                self.objects(a, b, location, noise, arrays, live)
            elif json_a == "array":
                self.arrays(a, b, location, noise, arrays, live)
            else:
                self.changes.append(Change(location, "changed", a, b, None, False, live))

    def alone(
        self,
        kind: str,
        value: Any,
        location: Location,
        noise: MatcherState,
        additive: bool = False,
        live: Location | None = None,
    ) -> None:
        """A member or element on one side only; ``additive``: an addition no client relies on the
        absence of (a new member of an object, a new item of an array that is a set)."""
        rule = self.explain(noise.accept, value) if noise.accept else None
        if kind == "added":
            self.changes.append(Change(location, kind, None, value, rule, additive, live))
        else:
            self.changes.append(Change(location, kind, value, None, rule))

    def objects(
        self,
        a: dict[str, Any],
        b: dict[str, Any],
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
    ) -> None:
        shared = 0
        for key, value_a in a.items():
            if key in b:
                shared += 1
                value_b = b[key]
                if value_a is value_b:
                    continue
                kind = type(value_a)  # _same(), inlined: this loop is the hot path
                if kind is type(value_b):
                    if value_a == value_b and (
                        (kind is not dict and kind is not list) or _exact(value_a, value_b)
                    ):
                        continue
                elif kind in NUMBERS and type(value_b) in NUMBERS and value_a == value_b:
                    continue
                self.differ(
                    value_a,
                    value_b,
                    (*location, key),
                    noise if noise.dead else noise.step(key),
                    arrays if arrays.dead else arrays.step(key),
                    None if live is None else (*live, key),
                )
            else:
                self.alone("removed", value_a, (*location, key), noise if noise.dead else noise.step(key))
        if shared != len(b):
            for key, value_b in b.items():
                if key not in a:
                    state = noise if noise.dead else noise.step(key)
                    self.alone(
                        "added",
                        value_b,
                        (*location, key),
                        state,
                        True,
                        None if live is None else (*live, key),
                    )

    def arrays(
        self,
        a: list[Any],
        b: list[Any],
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
    ) -> None:
        rule = self.array_rules[arrays.accept[-1]] if arrays.accept else None
        key = rule.key_function if rule is not None else None
        if key is None:
            self.ordered(a, b, location, noise, arrays, live)
        else:
            self.keyed(a, b, key, location, noise, arrays, live, rule.same_item if rule is not None else None)

    def pair(
        self,
        a: Any,
        b: Any,
        index: int,
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
    ) -> None:
        """``a`` at ``index`` of the recorded array, ``b`` at ``live`` in the live answer when that
        is not the same place."""
        if _same(a, b):
            return
        self.differ(
            a,
            b,
            (*location, index),
            noise if noise.dead else noise.step(index),
            arrays if arrays.dead else arrays.step(index),
            live,
        )

    def ordered(
        self,
        a: list[Any],
        b: list[Any],
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
    ) -> None:
        common = min(len(a), len(b))
        for index in range(common):
            self.pair(
                a[index], b[index], index, location, noise, arrays, None if live is None else (*live, index)
            )
        self.leftovers(
            a, b, range(common, len(a)), range(common, len(b)), location, noise, live, additive=False
        )

    def keyed(
        self,
        a: list[Any],
        b: list[Any],
        key: ItemKey,
        location: Location,
        noise: MatcherState,
        arrays: MatcherState,
        live: Location | None = None,
        same_item: ItemKey | None = None,
    ) -> None:
        """Items paired by key: a change inside a paired item is reported where it is in the
        recording and, when the server moved it, where it is in the live answer; an item left
        unpaired on both sides with the same ``same_item`` is one change of the whole item."""
        waiting: dict[Hashable, list[int]] = {}  # key -> live indexes not yet paired, last first
        for index in range(len(b) - 1, -1, -1):
            waiting.setdefault(key(b[index]), []).append(index)
        base = location if live is None else live
        unpaired: list[int] = []  # recorded indexes no live item shares a key with
        for index, item in enumerate(a):
            candidates = waiting.get(key(item))
            if candidates:
                at = candidates.pop()
                moved = None if at == index and live is None else (*base, at)
                self.pair(item, b[at], index, location, noise, arrays, moved)
            else:
                unpaired.append(index)
        left = sorted(i for indexes in waiting.values() for i in indexes)
        if same_item is not None and unpaired and left:
            left = self.rekeyed(a, b, unpaired, left, same_item, location, base, noise)
        self.leftovers(a, b, unpaired, left, location, noise, live, additive=True)

    def leftovers(
        self,
        a: list[Any],
        b: list[Any],
        removed: Iterable[int],
        added: Iterable[int],
        location: Location,
        noise: MatcherState,
        live: Location | None,
        *,
        additive: bool,
    ) -> None:
        """Items of one side only: recorded ones removed, live ones added (``additive`` in a set)."""
        for index in removed:
            self.alone("removed", a[index], (*location, index), noise if noise.dead else noise.step(index))
        for index in added:
            state = noise if noise.dead else noise.step(index)
            self.alone(
                "added",
                b[index],
                (*location, index),
                state,
                additive,
                None if live is None else (*live, index),
            )

    def rekeyed(
        self,
        a: list[Any],
        b: list[Any],
        unpaired: list[int],
        left: list[int],
        same_item: ItemKey,
        location: Location,
        base: Location,
        noise: MatcherState,
    ) -> list[int]:
        """Pair what is left on both sides by ``same_item``, in order: each pair is one change of the
        whole item (an effect whose type changed). ``unpaired`` keeps the recorded indexes still
        alone; the live indexes still alone are returned."""
        waiting: dict[Hashable, list[int]] = {}
        for index in reversed(left):
            waiting.setdefault(same_item(b[index]), []).append(index)
        alone: list[int] = []
        for index in unpaired:
            candidates = waiting.get(same_item(a[index]))
            if not candidates:
                alone.append(index)
                continue
            at = candidates.pop()
            moved = None if at == index and base is location else (*base, at)
            self.changes.append(Change((*location, index), "changed", a[index], b[at], None, False, moved))
        unpaired[:] = alone
        return sorted(i for indexes in waiting.values() for i in indexes)


def _walker(
    operation_id: str | None, noise: NoiseRules | None, arrays: ArrayRules | None
) -> tuple[_Walker, MatcherState, MatcherState]:
    noise_matcher, noise_rules = (noise if noise is not None else _NO_NOISE).matcher(operation_id)
    array_rules = arrays if arrays is not None else builtin_arrays()
    walker = _Walker(noise_rules, array_rules.rules)
    return walker, noise_matcher.start, array_rules.matcher.start


def diff_json(
    before: Any,
    after: Any,
    *,
    operation_id: str | None = None,
    noise: NoiseRules | None = None,
    arrays: ArrayRules | None = None,
) -> list[Change]:
    """The changes from ``before`` (recorded) to ``after`` (live), noise marked."""
    try:
        if _same(before, after):
            return []
        walker, noise_state, array_state = _walker(operation_id, noise, arrays)
        walker.differ(before, after, (), noise_state, array_state)
        if noise is not None:
            return _document_noise(walker.changes, before, after, noise.document_rules(operation_id))
    except RecursionError:
        # deeper than Python's stack (parse_json accepts such documents): C-level == is the only
        # judge left of sameness, and a difference is one change for the whole
        try:
            if before == after:
                return []
        except RecursionError:
            pass
        walker, noise_state, _ = _walker(operation_id, noise, arrays)
        rule = walker.explain(noise_state.accept, before, after) if noise_state.accept else None
        return [Change((), "changed", before, after, rule)]
    return walker.changes


def _document_noise(
    changes: list[Change], before: Any, after: Any, rules: tuple[NoiseRule, ...]
) -> list[Change]:
    """Real changes at (or under) a location that a document rule selects in either body, marked
    with that rule. Only rules with a filter or the like get here: they are evaluated against the
    two documents once per diff, and only when something real is left to explain."""
    if not rules or all(c.noise is not None for c in changes):
        return changes
    selected: dict[Location, NoiseRule] = {}
    for rule in rules:
        for document in (before, after):
            for location in rule.compiled.locations(document):
                selected.setdefault(location, rule)
    if not selected:
        return changes
    marked: list[Change] = []
    for change in changes:
        explained: NoiseRule | None = None
        if change.noise is None:
            location = change.location
            values = (
                (change.after,)
                if change.kind == "added"
                else (change.before,)
                if change.kind == "removed"
                else (change.before, change.after)
            )
            for depth in range(len(location), -1, -1):
                found = selected.get(location[:depth])
                if found is not None and all(found.covers(v) for v in values):
                    explained = found
                    break
        marked.append(dataclasses.replace(change, noise=explained) if explained is not None else change)
    return marked


# --------------------------------------------------------------------------- responses


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
_EMPTY = object()


def _bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def _value(body: bytes | str | None, given: Any) -> tuple[Any, bool]:
    """(the body's value, whether it is JSON): a parsed document, ``_EMPTY``, or the text."""
    if given is not _UNSET:
        return given, True
    if not has_content(body):
        return _EMPTY, False
    assert body is not None
    try:
        return parse_json(body), True
    except ValueError:
        return body_text(body), False


def _header_changes(
    recorded: dict[str, str], live: dict[str, str], names: Sequence[str]
) -> tuple[tuple[str, str | None, str | None], ...]:
    changes: list[tuple[str, str | None, str | None]] = []
    for raw in names:
        name = raw.lower()
        before, after = recorded.get(name), live.get(name)
        if name == "content-type":
            # the media type is the contract; parameters (charset=utf-8) are the server's taste
            differ = (before is None) != (after is None) or media_type(before) != media_type(after)
        else:
            differ = before != after
        if differ:
            changes.append((name, before, after))
    return tuple(changes)


def diff_responses(
    recorded: HttpResponse,
    live: HttpResponse,
    *,
    operation_id: str | None = None,
    noise: NoiseRules | None = None,
    arrays: ArrayRules | None = None,
    headers: Sequence[str] = ("content-type",),
    recorded_json: Any = _UNSET,
    live_json: Any = _UNSET,
) -> ExchangeDiff:
    """Compare a live response with its recording: status, the ``headers`` named, and the bodies.

    Bodies are compared as given: decoded by the caller (``replay.cassettes.model.plain``, where a
    message enters the engine), so a compressed body is compared as bytes. Identical bytes are the same without
    parsing. Otherwise both are parsed (or taken from ``recorded_json``/``live_json`` when the
    caller already has them) and diffed structurally; when either is not JSON, a single change at
    the body as a whole holds both texts. A body on one side only is ``added``/``removed``.
    """
    status = None if recorded.status == live.status else (recorded.status, live.status)
    recorded_headers = normalize_headers(recorded.headers)
    live_headers = normalize_headers(live.headers)
    header_changes = _header_changes(recorded_headers, live_headers, headers)
    body_a, body_b = recorded.body, live.body
    body: tuple[Change, ...] = ()
    if _bytes(body_a) != _bytes(body_b):
        body = tuple(_body_changes(body_a, body_b, recorded_json, live_json, operation_id, noise, arrays))
    if status is None and not header_changes and not body:
        return NO_DIFFERENCE  # the usual answer, shared (frozen)
    return ExchangeDiff(status, header_changes, body)


def _body_changes(
    body_a: bytes | str | None,
    body_b: bytes | str | None,
    given_a: Any,
    given_b: Any,
    operation_id: str | None,
    noise: NoiseRules | None,
    arrays: ArrayRules | None,
) -> list[Change]:
    value_a, json_a = _value(body_a, given_a)
    value_b, json_b = _value(body_b, given_b)
    if value_a is _EMPTY and value_b is _EMPTY:
        return []  # whitespace against nothing
    if json_a and json_b:
        return diff_json(value_a, value_b, operation_id=operation_id, noise=noise, arrays=arrays)
    walker, noise_state, _ = _walker(operation_id, noise, arrays)
    if value_a is _EMPTY:
        walker.alone("added", value_b, (), noise_state)
    elif value_b is _EMPTY:
        walker.alone("removed", value_a, (), noise_state)
    else:
        text_a, text_b = body_text(body_a), body_text(body_b)
        rule = walker.explain(noise_state.accept, text_a, text_b) if noise_state.accept else None
        walker.changes.append(Change((), "changed", text_a, text_b, rule))
    return walker.changes
