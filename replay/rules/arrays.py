"""Arrays that are sets: how the diff pairs the items of two arrays (:class:`ArrayRule`).

By default an array is compared by position. A ``by_key`` rule pairs items by a key (field names,
or a function of the item), so that a reordering is not a change. Which arrays of this API are
sets, and what identifies their items, is ``replay.talon.arrays``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from replay.paths import PathMatcher, PathPattern, Token

__all__ = ["ArrayRule", "ArrayRules", "ItemKey", "hashable_key"]

ItemKey = Callable[[Any], Hashable]

_ARRAY_MODES = ("ordered", "by_key")


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value used in a key."""
    if type(value) in (dict, list):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # integers beyond 64 bits, deep nesting
            return repr(value)
    return cast(Hashable, value)


def hashable_key(key: tuple[Any, ...]) -> Hashable:
    """``key`` itself when all its parts are scalars (the usual case, checked at C speed), else frozen."""
    try:
        hash(key)
    except TypeError:
        return tuple(_freeze(part) for part in key)
    return key


def _fields_key(fields: tuple[str, ...]) -> ItemKey:
    paths = tuple(tuple(f.split(".")) for f in fields)
    if all(len(path) == 1 for path in paths):
        names = tuple(path[0] for path in paths)

        def flat_key(item: Any) -> Hashable:
            if type(item) is not dict:
                return None  # not an object: such items share a key, i.e. they pair in order
            return hashable_key(tuple(map(item.get, names)))

        return flat_key

    def nested_key(item: Any) -> Hashable:
        if type(item) is not dict:
            return None
        values: list[Any] = []
        for path in paths:
            value: Any = item
            for part in path:
                value = value.get(part) if type(value) is dict else None
            values.append(value)
        return hashable_key(tuple(values))

    return nested_key


@dataclass(frozen=True, slots=True)
class ArrayRule:
    """How the items of the arrays at ``pattern`` are paired.

    ``match``: ``"ordered"`` (by position) or ``"by_key"``; ``key`` is then a tuple of field names
    (dotted for nested fields: ``"props.name"``; a name that contains a dot needs a function) or a
    function of an item returning a hashable key. Key functions must not raise.

    ``same_item`` (optional, a function like ``key``): what still identifies an item whose key
    changed (an effect of the same rule whose type changed). Items left unpaired on both sides that
    share it are one change of the whole item, not one removed and one added.
    """

    name: str
    pattern: str
    match: str = "ordered"
    key: tuple[str, ...] | ItemKey | None = None
    same_item: ItemKey | None = None
    _compiled: PathPattern = field(init=False, repr=False, compare=False)
    _key_function: ItemKey | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", PathPattern(self.pattern))
        if self.match not in _ARRAY_MODES:
            raise ValueError(f"array rule {self.name!r}: match must be one of {', '.join(_ARRAY_MODES)}")
        function: ItemKey | None = None
        if self.match == "by_key":
            if self.key is None:
                raise ValueError(f"array rule {self.name!r}: by_key needs a key (field names or a function)")
            if isinstance(self.key, str):
                object.__setattr__(self, "key", (self.key,))  # a single field name is a common slip
            if isinstance(self.key, tuple):
                if not self.key or not all(isinstance(f, str) and f for f in self.key):
                    raise ValueError(f"array rule {self.name!r}: key fields must be non-empty names")
                function = _fields_key(self.key)
            elif callable(self.key):
                function = self.key
            else:
                raise TypeError(f"array rule {self.name!r}: key is a tuple of field names or a function")
        object.__setattr__(self, "_key_function", function)

    @property
    def compiled(self) -> PathPattern:
        return self._compiled

    @property
    def key_function(self) -> ItemKey | None:
        """None for positional matching."""
        return self._key_function


class ArrayRules:
    """A registry of array rules by name. Where several select an array, the *last* one wins, so
    ``builtin_arrays() + ArrayRules([...])`` lets yours override; a rule with a name already
    present replaces it in place."""

    __slots__ = ("_matcher", "_rules")

    def __init__(self, rules: Iterable[ArrayRule] = ()) -> None:
        by_name: dict[str, ArrayRule] = {}
        for rule in rules:
            if not isinstance(rule, ArrayRule):
                raise TypeError(f"ArrayRules holds ArrayRule objects, not {type(rule).__name__}")
            by_name[rule.name] = rule
        self._rules = tuple(by_name.values())
        self._matcher = PathMatcher(r.compiled for r in self._rules)

    @property
    def matcher(self) -> PathMatcher:
        return self._matcher

    @property
    def rules(self) -> tuple[ArrayRule, ...]:
        return self._rules

    def rule_for(self, location: Sequence[Token]) -> ArrayRule | None:
        accept = self._matcher.match(location)
        return self._rules[accept[-1]] if accept else None

    def __getitem__(self, name: str) -> ArrayRule:
        for rule in self._rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def without(self, *names: str) -> ArrayRules:
        return ArrayRules(r for r in self._rules if r.name not in names)

    def __add__(self, other: ArrayRules) -> ArrayRules:
        if not isinstance(other, ArrayRules):
            return NotImplemented
        return ArrayRules(self._rules + other._rules)

    def __iter__(self) -> Iterator[ArrayRule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"ArrayRules({', '.join(r.name for r in self._rules)})"
