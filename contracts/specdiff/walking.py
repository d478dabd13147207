"""What the schema walk and its facets share: one document's schemas (:class:`SchemaSource`), one
difference (:class:`Found`), the keywords never compared (:data:`ANNOTATIONS`), and what a facet
may ask of the walk (:class:`Walker`, which ``schemas.SchemaDiff`` is).

The walk (``contracts.specdiff.schemas``) hands each pair of schemas to the facets
(``contracts.specdiff.facets``), which descend through the walk again. The walk imports the
facets; the facets know the walk only as a :class:`Walker`, so the two modules form no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..schema import resolve_pointer

__all__ = ["ANNOTATIONS", "Found", "SchemaSource", "Walker"]

#: Keywords that carry no validation meaning (prose, examples, tooling hints): never compared.
ANNOTATIONS = frozenset(
    {"description", "title", "example", "examples", "externalDocs", "xml", "$comment", "summary"}
)


@dataclass(frozen=True, slots=True)
class Found:
    """One difference, before it is placed in an operation (``operations`` makes a Change of it)."""

    rule_id: str
    path: tuple[str, ...]
    old_pointer: str | None
    new_pointer: str | None
    message: str
    before: Any = None
    after: Any = None
    touch: str = "present"  # see contracts.specdiff.model.Touch
    values: tuple[Any, ...] = ()
    bound: tuple[str, Any] | None = None


class SchemaSource:
    """One document's schemas: ``$ref`` resolution, in the document's own dialect."""

    def __init__(self, data: dict[str, Any], openapi_version: str) -> None:
        self.data = data
        self.legacy = not openapi_version.startswith("3.1")  # 3.0: nullable, boolean exclusive bounds

    def resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains: (the schema, its pointer). Boolean schemas become schema objects
        (``false``: no type at all). In OpenAPI 3.1 the keywords beside a ``$ref`` apply too, and are
        laid over the target (3.0 ignores them, as the validator does)."""
        siblings: dict[str, Any] = {}
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not self.legacy:
                siblings = {
                    **{k: v for k, v in node.items() if k != "$ref" and k not in ANNOTATIONS},
                    **siblings,
                }
            if not ref.startswith("#") or seen > 32:
                return {}, pointer
            try:
                node, pointer = resolve_pointer(self.data, ref[1:]), ref[1:]
            except KeyError:
                return {}, pointer
            seen += 1
        if node is False:
            node = {"type": []}
        elif not isinstance(node, dict):
            node = {}
        if siblings:
            node = {**node, **siblings}
        return node, pointer


class Walker(Protocol):
    """What :class:`~contracts.specdiff.facets.Pair` needs of the walk that made it."""

    @property
    def old(self) -> SchemaSource: ...

    @property
    def new(self) -> SchemaSource: ...

    def same(self, old: Any, new: Any) -> bool: ...

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
    ) -> None: ...
