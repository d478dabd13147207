"""OpenAPI Overlay 1.0: our corrections to the vendor's facts, kept in a document of their own.

An overlay is a list of actions; each selects nodes of the target document with an RFC 9535
JSONPath expression and either merges ``update`` into them or removes them. Keeping our
corrections in an overlay means a new vendor release can be dropped in unchanged: actions
whose target no longer matches anything are reported (the vendor may have fixed the problem,
or moved it), not silently lost.

Merge rules (Overlay 1.0.0, "Action Object"): an object ``update`` is merged recursively into
an object target (its keys replace or add); when the target is an array, ``update`` is
appended to it as one entry.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpath
from jsonpath.exceptions import JSONPathError

from .documents import Document, join_pointer, read_document
from .errors import OverlayError

__all__ = [
    "ActionResult",
    "Overlay",
    "OverlayAction",
    "apply_overlay",
    "check_overlay",
    "load_overlay",
    "run_overlay",
]

_JSONPATH = jsonpath.JSONPathEnvironment(strict=True)  # RFC 9535, no extensions
_NO_UPDATE = object()


@dataclass(frozen=True, slots=True)
class OverlayAction:
    target: str
    pointer: str  # where the action sits in the overlay document
    description: str = ""
    update: Any = _NO_UPDATE
    remove: bool = False


@dataclass(frozen=True, slots=True)
class Overlay:
    source: str
    title: str
    version: str
    actions: tuple[OverlayAction, ...]
    document: Document


def load_overlay(source: str | Path | dict[str, Any] | Document) -> Overlay:
    """Read and check an Overlay 1.x document (from a path, a dict or a parsed document)."""
    if isinstance(source, Document):
        doc = source
    elif isinstance(source, dict):
        doc = Document(data=copy.deepcopy(source), source="<overlay dict>")
    else:
        doc = read_document(source)
    data = doc.data
    name = doc.source
    if not isinstance(data, dict):
        raise OverlayError("an overlay must be a mapping with 'overlay', 'info' and 'actions'", source=name)
    version = data.get("overlay")
    if not isinstance(version, str) or not version.startswith("1."):
        raise OverlayError(
            f"'overlay' must be a 1.x version string, got {version!r}", source=name, pointer="/overlay"
        )
    raw_info = data.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError("'actions' must be a non-empty list", source=name, pointer="/actions")
    parsed = tuple(_action(doc, action, join_pointer("/actions", i)) for i, action in enumerate(actions))
    return Overlay(
        source=name,
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        actions=parsed,
        document=doc,
    )


def _action(doc: Document, action: Any, pointer: str) -> OverlayAction:
    """One checked action of the overlay ``doc`` (the one at ``pointer``)."""
    name = doc.source
    line = doc.line_of(pointer)
    if not isinstance(action, dict):
        raise OverlayError("an action must be a mapping", source=name, pointer=pointer, line=line)
    target = action.get("target")
    if not isinstance(target, str):
        raise OverlayError("an action needs a string 'target'", source=name, pointer=pointer, line=line)
    try:
        _JSONPATH.compile(target)
    except JSONPathError as exc:
        raise OverlayError(
            f"target {target!r} is not a valid JSONPath (RFC 9535): {str(exc).splitlines()[0]}",
            source=name,
            pointer=join_pointer(pointer, "target"),
            line=line,
        ) from None
    remove = action.get("remove", False)
    if not isinstance(remove, bool):
        raise OverlayError("'remove' must be a boolean", source=name, pointer=pointer, line=line)
    update = action.get("update", _NO_UPDATE)
    if not remove and update is _NO_UPDATE:
        raise OverlayError(
            "an action needs 'update' or 'remove: true'", source=name, pointer=pointer, line=line
        )
    return OverlayAction(
        target=target,
        pointer=pointer,
        description=str(action.get("description", "")),
        update=update,
        remove=remove,
    )


def _matches(target: str, data: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    for match in _JSONPATH.finditer(target, data):
        yield tuple(match.parts), match.obj


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _sort_key(parts: tuple[str | int, ...]) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts]


def _parent(data: Any, parts: tuple[str | int, ...]) -> Any:
    node = data
    for part in parts[:-1]:
        node = node[part]
    return node


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What one action did to a document: ``applied`` (it changed something), ``unmatched`` (its
    target selects nothing: the vendor moved or removed that part) or ``redundant`` (it selects
    something, and every node already says what the action would write: the vendor states the fact
    itself now)."""

    action: OverlayAction
    status: str
    targets: int = 0
    changed: int = 0
    line: int | None = None  # of the action in the overlay document


def _run_action(document: Document, overlay: Overlay, action: OverlayAction) -> ActionResult:
    line = overlay.document.line_of(action.pointer)
    hits = list(_matches(action.target, document.data))
    where = f"{overlay.source}{action.pointer}"
    if not hits:
        document.issue(
            "",
            f"overlay action {where} ({action.target}) matched nothing; "
            "the vendor document may have changed"
            + (f" ({action.description})" if action.description else ""),
        )
        return ActionResult(action, "unmatched", 0, 0, line)
    changed = 0
    if action.remove:
        # Remove deepest/last first so that earlier list indices stay valid.
        for parts, _ in sorted(hits, key=lambda hit: _sort_key(hit[0]), reverse=True):
            if not parts:
                document.issue("", f"overlay action {where} cannot remove the document root; skipped")
                continue
            try:
                del _parent(document.data, parts)[parts[-1]]
            except (KeyError, IndexError):
                continue  # already gone with an ancestor selected by the same action
            changed += 1
        return ActionResult(action, "applied", len(hits), changed, line)
    for parts, node in hits:
        pointer = join_pointer("", *parts)
        if isinstance(node, dict) and isinstance(action.update, dict):
            before = copy.deepcopy(node)
            _merge(node, action.update)
            changed += node != before
        elif isinstance(node, list):
            if action.update not in node:
                changed += 1
            node.append(copy.deepcopy(action.update))
        else:
            document.issue(
                pointer,
                f"overlay action {where} cannot update a {type(node).__name__} with a "
                f"{type(action.update).__name__}; skipped",
            )
    return ActionResult(action, "applied" if changed else "redundant", len(hits), changed, line)


def run_overlay(document: Document, overlay: Overlay) -> list[ActionResult]:
    """Apply ``overlay`` to ``document.data`` in place; what each action did, in order.

    Actions that select nothing, or select a node they cannot change, become issues of the
    *document* (so that ``talon-contracts validate`` shows them next to the vendor quirks).
    """
    return [_run_action(document, overlay, action) for action in overlay.actions]


def apply_overlay(document: Document, overlay: Overlay) -> int:
    """:func:`run_overlay`, counting the nodes changed."""
    return sum(result.changed for result in run_overlay(document, overlay))


def check_overlay(document: Document, overlay: Overlay) -> list[ActionResult]:
    """What each action of ``overlay`` would do to ``document`` (left unchanged), in order: an
    upgrade check reports the actions a new vendor release made unmatched or redundant."""
    return run_overlay(Document(copy.deepcopy(document.data), document.source, [], document.lines), overlay)
