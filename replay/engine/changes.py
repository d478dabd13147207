"""What a diff finds: one :class:`Change` at a location, the :class:`ExchangeDiff` of one answer.

JSON kinds are object, array, string, number, boolean and null (:func:`value_kind`); a boolean is
not a number. Locations are tuples of object keys and array indexes, as ``replay.paths`` matches
them; a change also says where it is in the live answer when the server moved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.documents import join_pointer
from contracts.errors import short_json
from replay.paths import Token
from replay.rules.noise import NoiseRule

__all__ = ["CHANGE_KINDS", "NO_DIFFERENCE", "NUMBERS", "Change", "ExchangeDiff", "Location", "value_kind"]

CHANGE_KINDS = ("added", "removed", "changed", "type_changed")
Location = tuple[Token, ...]

# --------------------------------------------------------------------------- JSON kinds

_KINDS: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
NUMBERS = (int, float)  # exact types: bool is deliberately not one


def value_kind(value: Any) -> str:
    """``object``, ``array``, ``string``, ``number``, ``boolean`` or ``null`` (bool is not a number)."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    # subclasses (a parser's OrderedDict, an IntEnum ...): the slow way, bool before int
    for base, name in (
        (bool, "boolean"),
        (dict, "object"),
        (list, "array"),
        (str, "string"),
        (int, "number"),
        (float, "number"),
    ):
        if isinstance(value, base):
            return name
    return type(value).__name__


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Change:
    """One difference inside a body. ``before`` is the recorded value, ``after`` the live one."""

    location: Location  # () is the body as a whole
    kind: str  # one of CHANGE_KINDS
    before: Any
    after: Any
    noise: NoiseRule | None = None
    #: an addition no client can rely on the absence of: a new member of an object, a new item of
    #: an array that is a set (``replay.rules.arrays``). Breaking: removed, changed, type changed.
    additive: bool = False
    #: where it is in the live answer, when not at ``location`` (an item of a set the server
    #: reordered); None: the same place
    live_location: Location | None = None

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer of the location in the recording ("" for the whole body)."""
        return join_pointer("", *self.location)

    @property
    def live_pointer(self) -> str:
        """RFC 6901 JSON pointer of the location in the live answer."""
        return join_pointer("", *(self.live_location if self.live_location is not None else self.location))

    def __str__(self) -> str:
        where = self.pointer or "/"
        if self.live_location is not None and self.kind != "added":  # moved by the server: both places
            where += f" (live {self.live_pointer or '/'})"
        limit = 200 if not self.location else 80  # a whole body (often a text) gets more room
        if self.kind == "added":
            detail = short_json(self.after, limit)
        elif self.kind == "removed":
            detail = short_json(self.before, limit)
        else:
            detail = f"{short_json(self.before, limit)} -> {short_json(self.after, limit)}"
        return f"{self.kind} {where}: {detail}"  # the noise reason is the report's to show


@dataclass(frozen=True, slots=True)
class ExchangeDiff:
    """How a live exchange differs from its recording."""

    status: tuple[int, int] | None  # (recorded, live) when they differ
    headers: tuple[
        tuple[str, str | None, str | None], ...
    ]  # (name, recorded, live) of compared headers that differ
    body: tuple[Change, ...]  # every change, noise included

    @property
    def real(self) -> tuple[Change, ...]:
        """Body changes that no noise rule explains."""
        return tuple(c for c in self.body if c.noise is None)

    @property
    def same(self) -> bool:
        return self.status is None and not self.headers and not self.body

    @property
    def only_noise(self) -> bool:
        """Something differs and every difference is explained (status and headers never are)."""
        return (
            self.status is None
            and not self.headers
            and bool(self.body)
            and all(c.noise is not None for c in self.body)
        )


#: What ``diff_responses`` returns when nothing differs.
NO_DIFFERENCE = ExchangeDiff(None, (), ())
