"""Comparing two schemas the way a client on one side of the wire sees them.

:class:`SchemaDiff` walks an old and a new schema object side by side, following ``$ref``s in
each document, and reports each difference as a :class:`~contracts.specdiff.walking.Found` under the rule of its facet
(``request-max-length-tightened``, ``response-enum-value-added`` ...; the facets themselves are in
``contracts.specdiff.facets``). It works on the OpenAPI schema objects as written (after our
overlay and the loader's repairs), not on the converted JSON Schema, so that every finding can
point at the line of each document where it sits.

The instance path of a finding (``("customerSession", "cartItems", "*", "quantity")``) says where
in a request or an answer the change applies; ``*`` stands for any array item or map value.

Recursive schemas (the vendor's are) are walked once per pair of schema pointers on the current
path: a pair met again below itself is not entered again. Subtrees that are the same in both
documents are skipped whole: a component whose text and whose references' texts did not change
is not walked at all, which is what keeps a whole-document diff fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import ContractLoadError
from ..schema import resolve_pointer
from .facets import Pair
from .walking import ANNOTATIONS, Found, SchemaSource

# ANNOTATIONS, Found and SchemaSource live in .walking, which the facets share with this walk; they
# are named here too, where the diff's callers have always found them.
__all__ = ["ANNOTATIONS", "Found", "SchemaDiff", "SchemaSource", "deep_recursion"]

#: Deep enough for any schema met so far (the vendor's nest about 12 levels); each level is a few frames.
RECURSION_LIMIT = 20_000


def _strict(value: Any) -> str:
    """A text that tells apart what ``==`` does not (``1`` and ``True``, ``0`` and ``False``)."""
    return json.dumps(value, default=str)


def _same_text(old: Any, new: Any) -> bool:
    return old == new and _strict(old) == _strict(new)


def _refs(node: Any) -> Iterator[str]:
    """Every local ``$ref`` target inside ``node`` (as pointers)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                yield ref[1:]
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


class deep_recursion:
    """Room for the walk's recursion on deeply nested schemas; a schema deeper still is reported as
    bad input, not as a crash."""

    def __enter__(self) -> None:
        self.limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.limit, RECURSION_LIMIT))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        sys.setrecursionlimit(self.limit)
        if kind is RecursionError:
            raise ContractLoadError("nested deeper than the diff can follow", source="a schema") from None


class SchemaDiff:
    """Compares schemas of two documents in one direction (``request`` or ``response``)."""

    def __init__(self, old: SchemaSource, new: SchemaSource) -> None:
        self.old = old
        self.new = new
        self._stable: dict[str, bool] = {}  # component pointer -> same text, all the way down
        self._equal: dict[str, bool] = {}  # component pointer -> same text at that pointer

    # -- the unchanged parts

    def _equal_at(self, pointer: str) -> bool:
        known = self._equal.get(pointer)
        if known is None:
            try:
                known = _same_text(
                    resolve_pointer(self.old.data, pointer), resolve_pointer(self.new.data, pointer)
                )
            except KeyError:
                known = False
            self._equal[pointer] = known
        return known

    def stable(self, pointer: str) -> bool:
        """Whether the schema at ``pointer`` reads the same in both documents, references included: every
        component it reaches has the same text in both."""
        known = self._stable.get(pointer)
        if known is not None:
            return known
        reached, todo, same = {pointer}, [pointer], True
        while todo and same:
            current = todo.pop()
            if self._stable.get(current) is True:
                continue  # its whole closure is known to be the same
            if not self._equal_at(current):
                same = False
                break
            for ref in _refs(resolve_pointer(self.old.data, current)):
                if ref not in reached:
                    reached.add(ref)
                    todo.append(ref)
        if same:
            for each in reached:  # every closure inside this one is the same too
                self._stable[each] = True
        else:
            self._stable[pointer] = False
        return same

    def same(self, old: Any, new: Any) -> bool:
        """Whether two (raw) schemas mean the same: same text, and every reference in them stable."""
        if self.old.legacy != self.new.legacy or not _same_text(old, new):
            return False
        return all(self.stable(ref) for ref in set(_refs(old)))

    # -- the walk

    def compare(
        self,
        direction: str,
        old: Any,
        old_pointer: str,
        new: Any,
        new_pointer: str,
        path: tuple[str, ...] = (),
        *,
        required: bool = False,
    ) -> list[Found]:
        """Every difference between ``old`` and ``new`` (schema objects, possibly ``$ref``s)."""
        out: list[Found] = []
        with deep_recursion():
            self.walk(
                direction, old, old_pointer, new, new_pointer, path, required, out, set(), (frozenset(),) * 2
            )
        return out

    def walk(
        self,
        direction: str,
        old: Any,
        old_pointer: str,
        new: Any,
        new_pointer: str,
        path: tuple[str, ...],
        required: bool,
        out: list[Found],
        active: set[tuple[str, str]],
        inherited: tuple[frozenset[str], frozenset[str]],
    ) -> None:
        """``inherited``: names the allOf siblings of each side hide in this direction (readOnly ...)."""
        if self.same(old, new) and inherited[0] == inherited[1]:
            return
        old, old_pointer = self.old.resolve(old, old_pointer)
        new, new_pointer = self.new.resolve(new, new_pointer)
        if self.same(old, new) and inherited[0] == inherited[1]:
            return  # two references to the same unchanged component, or an inline copy of it
        pair = (old_pointer, new_pointer)
        if pair in active:
            return  # recursive schema: this pair is being compared further up the path
        active.add(pair)
        try:
            Pair(
                self, direction, old, old_pointer, new, new_pointer, path, required, out, active, inherited
            ).run()
        finally:
            active.discard(pair)
