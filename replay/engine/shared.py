"""Shared state, stated: which stories change what every story sees, and which are exposed to it.

On a target the replay does not own, a story's differences may come from another story of the run
(or from an earlier run): a repriced catalog, a coupon's counters, a linked card, a seeded profile
whose points were spent. A story is *exposed* when it reads an entity some story writes (the rows
of ``replay.talon.shared``; and any id kept from namespacing that a story changes: the seed's
profiles, ``--keep-id``). A difference in an exposed story that is not a change of type or media
type is classified ``shared-state``, with the entity and the story that changes it, instead of
``changed``.

Nothing is read until a run meets its first difference: a clean replay pays nothing. Then every
story's requests are read once (the writes), and a story's own file once more when it has a
difference (what it reads).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts.http import parse_json
from contracts.spec import Contract
from replay.cassettes import CassetteError, Interaction, read_interactions
from replay.cassettes.model import body_text, plain
from replay.engine.changes import Change, ExchangeDiff
from replay.engine.outcomes import Outcome
from replay.paths import PathPattern
from replay.talon.shared import ANY, SHARED_READS, SHARED_WRITES

__all__ = ["SharedState"]

Entity = tuple[str, str]  # (kind, key)

_WRITES: dict[str, list[tuple[str, str, PathPattern | None]]] = {}
for _row in SHARED_WRITES:
    _at = None if _row.at == ANY or _row.at.startswith("path:") else PathPattern(_row.at)
    _WRITES.setdefault(_row.operation, []).append((_row.entity, _row.at, _at))
_READS: dict[str, list[tuple[str, PathPattern]]] = {}
for _read in SHARED_READS:
    _READS.setdefault(_read.operation, []).append((_read.entity, PathPattern(_read.at)))


class SharedState:
    """The shared entities of a run's stories, learned on first use (thread-safe)."""

    def __init__(
        self, contract: Contract, files: Iterable[Path], keep_ids: frozenset[str] = frozenset()
    ) -> None:
        self.contract = contract
        self.files = list(files)
        self.keep_ids = keep_ids
        self._lock = threading.Lock()
        self._writers: dict[Entity, list[str]] | None = None
        self._reads: dict[str, dict[Entity, list[str]]] = {}  # story -> what it reads, and who writes that

    def classify(self, outcome: Outcome) -> None:
        """A ``changed`` outcome whose differences shared state explains becomes ``shared-state``
        (the pipeline's last word on an outcome; a distributed replay's master says it for its
        workers, which do not see every story)."""
        if outcome.kind == "changed" and outcome.diff is not None:
            reason = self.explain(outcome, outcome.diff)
            if reason is not None:
                outcome.kind, outcome.reason = "shared-state", reason

    def explain(self, outcome: Outcome, diff: ExchangeDiff) -> str | None:
        """Why the differences of ``outcome`` are shared state, or None when they are not (all of
        them must be: one that no shared entity explains makes the interaction ``changed``).

        What shared state explains depends on how close the entity is. An interaction that names a
        shared entity in its URL (``/coupon_reservations/WELCOME10``, a card's balances) is about
        it: any difference but one of JSON type or media type. Elsewhere in an exposed story, only
        what state changes: numbers (prices, totals, points, counters), members of lists gained or
        lost, and an id of an earlier replay's story where the recording has the bare id. A
        renamed field, a changed text or status, stays a change.
        """
        source = outcome.source
        with self._lock:
            if self._writers is None:
                self._writers = self._collect_writes()
            reads = self._reads.get(source)
            if reads is None:
                reads = self._reads[source] = self._story_reads(source, self._writers)
        if not reads or diff.headers:
            return None
        path = urlsplit(outcome.url).path
        direct = [entry for entry in reads.items() if entry[0][1] != ANY and entry[0][1] in path]
        if direct:
            if any(c.kind == "type_changed" for c in diff.real):
                return None
            (kind, key), stories = direct[0]
            return _reason(kind, key, stories, source)
        if diff.status is not None or not all(_state_like(c) for c in diff.real):
            return None
        read_here = {kind for kind, _ in _READS.get(outcome.operation_id or "", ())}
        mentioned = _mentioned(outcome)

        def likelihood(entry: tuple[Entity, list[str]]) -> tuple[int, bool]:
            (kind, key), stories = entry
            # read by this operation, named by this interaction, read elsewhere, named elsewhere
            rank = (0 if kind in read_here else 2) if key == ANY else (1 if key in mentioned else 3)
            return rank, stories == [source]  # another story's change before this one's earlier run

        (kind, key), stories = min(reads.items(), key=likelihood)
        return _reason(kind, None if key == ANY else key, stories, source)

    def phases(self, numbered: list[tuple[int, Path]]) -> list[list[tuple[int, Path]]]:
        """The stories in the order that lets readers see the state they recorded where possible:
        a story that changes what others read runs after them (in a later phase; the stories of a
        phase run together). Of stories that change what each other read (a cycle), the one the
        fewest others still wait for runs alone first; their differences are explained as shared
        state."""
        with self._lock:
            if self._writers is None:
                self._writers = self._collect_writes()
            writers = self._writers
            for _, path in numbered:
                if str(path) not in self._reads:
                    self._reads[str(path)] = self._story_reads(str(path), writers)
            reads = {str(path): self._reads[str(path)] for _, path in numbered}
        after: dict[str, set[str]] = {str(path): set() for _, path in numbered}  # story -> who must go first
        for reader, entities in reads.items():
            for stories in entities.values():
                for writer in stories:
                    if writer != reader and writer in after:
                        after[writer].add(reader)
        phases: list[list[tuple[int, Path]]] = []
        done: set[str] = set()
        left = list(numbered)
        while left:
            ready = [story for story in left if after[str(story[1])] <= done]
            if not ready:  # a cycle: the story fewest still wait for runs alone, then the rest again
                ready = [min(left, key=lambda story: len(after[str(story[1])] - done))]
            phases.append(ready)
            done |= {str(path) for _, path in ready}
            left = [story for story in left if str(story[1]) not in done]
        return phases

    def _collect_writes(self) -> dict[Entity, list[str]]:
        writers: dict[Entity, list[str]] = {}
        for path in self.files:
            for item, match, body in self._requests(path):
                if item.response is None or not 200 <= item.response.status < 300:
                    continue  # refused: it changed nothing
                for entity in self._writes(item, match, body):
                    story = writers.setdefault(entity, [])
                    if str(path) not in story:
                        story.append(str(path))
        return writers

    def _writes(self, item: Interaction, match: Any, body: Any) -> Iterator[Entity]:
        operation = match.operation.operation_id
        for kind, at, pattern in _WRITES.get(operation, ()):
            if at == ANY:
                yield kind, ANY
            elif pattern is None:
                value = match.path_params.get(at.removeprefix("path:"))
                if value:
                    yield kind, str(value)
            else:
                yield from ((kind, str(v)) for v in pattern.values(body) if isinstance(v, str))
        if item.request.method.upper() != "GET" and self.keep_ids:  # a seeded profile changed
            text = item.request.url + body_text(item.request.body)
            yield from (("profile", kept) for kept in self.keep_ids if kept in text)

    def _story_reads(self, source: str, writers: dict[Entity, list[str]]) -> dict[Entity, list[str]]:
        keyed = {entity: stories for entity, stories in writers.items() if entity[1] != ANY}
        reads: dict[Entity, list[str]] = {}
        for item, match, body in self._requests(Path(source)):
            for kind, pattern in _READS.get(match.operation.operation_id, ()):
                if (kind, ANY) in writers and pattern.values(body):
                    reads[kind, ANY] = writers[kind, ANY]
            if keyed:
                text = item.request.url + body_text(item.request.body)
                if item.response is not None:
                    text += body_text(plain(item.response.headers, item.response.body)[1])
                reads.update((entity, stories) for entity, stories in keyed.items() if entity[1] in text)
        return reads

    def _requests(self, path: Path) -> Iterator[tuple[Interaction, Any, Any]]:
        """(interaction, its operation's match, its parsed JSON body or None) of a story."""
        try:
            for item in read_interactions(path):
                if not isinstance(item, Interaction):
                    continue
                match = self.contract.find(item.request.method, item.request.url)
                if match is None:
                    continue
                _, raw = plain(item.request.headers, item.request.body)
                try:
                    body = parse_json(raw) if raw else None
                except ValueError:
                    body = None
                yield item, match, body
        except CassetteError:
            return


#: An id a replay's namespace made (``replay.engine.options.new_namespace``, then the story's number).
_NAMESPACED = re.compile(r"rp[0-9a-f]{6}-(?:[a-z]+-)?(?:[0-9]+-)?")  # "b-", "c-": a second side's


def _state_like(change: Change) -> bool:
    """A difference that state makes, seen away from the entity: a number, a member gained or lost,
    an earlier replay's id (namespaced) where the recording has the bare one."""
    before, after = change.before, change.after
    if change.kind in ("added", "removed"):
        return bool(change.location) and isinstance(change.location[-1], int)  # an item, not a field
    if change.kind != "changed":
        return False
    if type(before) in (int, float) and type(after) in (int, float):
        return True
    if isinstance(before, str) and isinstance(after, str):  # either side may hold the other replay's id
        short, long = (before, after) if len(before) <= len(after) else (after, before)
        return long.endswith(short) and _NAMESPACED.fullmatch(long[: len(long) - len(short)]) is not None
    return False


def _mentioned(outcome: Outcome) -> str:
    """What an interaction names: its URL and the bodies sent and recorded."""
    parts = [outcome.url]
    for message in (outcome.request, outcome.expected):
        if message is not None and message.body:
            parts.append(body_text(message.body))
    return "\n".join(parts)


def _reason(kind: str, key: str | None, stories: list[str], source: str) -> str:
    others = [s for s in stories if s != source]
    what = f"{kind} {key}" if key is not None else f"the {kind}"
    by = ", ".join(Path(s).name for s in others[:3]) + (" ..." if len(others) > 3 else "")
    if others:
        return f"shared state: {what} is changed by {by}" + (
            " (and by this story, in an earlier run)" if source in stories else ""
        )
    return f"shared state: {what} is changed by this story (an earlier run's change is still there)"
