"""What happened to each replayed interaction, and the counts of a run."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.model import ReadProblem
from replay.engine.changes import ExchangeDiff

__all__ = ["FINDINGS", "KEPT", "MAX_FINDINGS_KEPT", "OUTCOMES", "Kind", "Outcome", "ReplaySummary", "Silence"]

#: What happened to one interaction, most severe first: ``malfunction`` (the tool failed on it: a
#: bug of ours, never a finding about the API), ``error`` (no answer), ``violation`` (the answer
#: breaks the contract), ``changed`` (status, content type or a body field differs beyond noise),
#: ``shared-state`` (on a target the replay does not own, a difference explained by state another
#: story, or an earlier run, changed: ``replay.engine.shared``), ``noise`` (only what the noise
#: rules explain differs), ``same``; ``skipped``: not sent.
#: ``additive`` (only additions no client relies on the absence of: a new member, a new item of
#: a set; a finding only with ``--fail-on additive``).
Kind = Literal[
    "same", "noise", "shared-state", "additive", "changed", "violation", "error", "malfunction", "skipped"
]
OUTCOMES: tuple[Kind, ...] = (
    "same", "noise", "shared-state", "additive", "changed", "violation", "error", "malfunction", "skipped"
)  # fmt: skip
FINDINGS: frozenset[Kind] = frozenset({"changed", "violation", "error"})  # findings about the target
#: Outcomes kept with their bodies (and sent whole between processes): the findings and malfunctions.
KEPT: frozenset[Kind] = FINDINGS | {"malfunction"}
#: Why the target said nothing to a request: its connection was ``refused`` (or its name does not
#: resolve), or nothing complete came back within the timeout (``timeout``). An ``error`` outcome
#: either way; repeated, the run gives up on the target (``StoryPlayer.emit``).
Silence = Literal["refused", "timeout"]
MAX_FINDINGS_KEPT = 1_000  # findings with their bodies kept for the summary and the HTML report


@dataclass(slots=True)
class Outcome:
    """What happened to one recorded interaction."""

    source: str
    index: int
    line: int | None
    operation_id: str | None
    method: str
    url: str  # as sent (as recorded when not sent)
    kind: Kind
    reason: str | None = None  # why skipped / what failed / what was not compared
    diff: ExchangeDiff | None = None
    violations: tuple[Violation, ...] = ()
    request: HttpRequest | None = None  # as sent, with the credential replaced by its placeholder
    #: What the live answer was compared with: the recording, or in compare mode the baseline's
    #: answer. Kept for findings and malfunctions only, like ``live``.
    expected: HttpResponse | None = None
    live: HttpResponse | None = None  # kept for findings only
    elapsed: float = 0.0
    attempts: int = 0
    story: int = 0  # the story's number in the run (files in order, from 1): (story, index) is stable
    compared: bool = False  # compare mode: ``expected`` is the baseline's answer, ``live`` the candidate's
    #: an ``error`` where the target said nothing at all: its connection ``refused``, or no answer
    #: within the timeout (``timeout``); repeated, the run gives up on the target (StoryPlayer.emit)
    silent: Silence | None = None

    @property
    def sequence(self) -> str:
        """``story.index``: which interaction of which story, stable from run to run over one set of files."""
        return f"{self.story}.{self.index}"

    @property
    def finding(self) -> bool:
        """A finding about the target (not a malfunction of the tool: see :data:`Kind`)."""
        return self.kind in FINDINGS

    @property
    def where(self) -> str:
        return f"{self.source}#{self.index}" + (f" (line {self.line})" if self.line else "")


@dataclass(slots=True)
class ReplaySummary:
    """Counts, the first findings, and what could not be read."""

    target: str  # in compare mode, the baseline
    candidate: str | None = None  # compare mode: what the baseline's answers are compared with
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    counts: Counter[str] = field(default_factory=Counter)
    by_operation: dict[str, Counter[str]] = field(default_factory=dict)
    findings: list[Outcome] = field(
        default_factory=list
    )  # the first MAX_FINDINGS_KEPT findings and malfunctions
    problems: list[ReadProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    stories: int = 0
    interrupted: bool = False
    estimated_total: int | None = None

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def add(self, outcome: Outcome) -> None:
        kind = outcome.kind
        self.tally(outcome.operation_id, kind)
        if kind in KEPT and len(self.findings) < MAX_FINDINGS_KEPT:
            self.findings.append(outcome)

    def tally(self, operation_id: str | None, kind: str, count: int = 1) -> None:
        """Count outcomes without keeping them (a distributed load run counts on its workers)."""
        self.counts[kind] += count
        operation = operation_id or "(no operation)"
        counts = self.by_operation.get(operation)
        if counts is None:
            counts = self.by_operation[operation] = Counter()
        counts[kind] += count
