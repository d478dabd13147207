"""JUnit XML: the one writer of talon-contracts' JUnit reports (replay, verify, diff and upgrade-check).

The output is valid against the junit-10 schema pytest's junitxml is checked against
(``tests/fixtures/junit-10.xsd``). That schema has no ``<error>`` in a test case: an error (no
answer, a malfunction of the tool, an unreadable file) is a ``<failure>`` whose type says which,
counted in the suite's ``errors``, never in its ``failures``.

Test case names are the caller's: keep them free of counts and other run-dependent values so that
CI history lines up run after run. One interaction is named alike in every report:
:func:`interaction_name` (classname: its file; name: its position and operation).

Two ways to write: :func:`junit_document` for a document built whole (the spec diff's, a few
hundred cases), :class:`JUnitWriter` for test cases streamed as they come (a replay or a verify of
100,000 interactions): they go to an anonymous temporary file, and the document, whose headers
need the totals, is assembled from it at the end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from xml.sax.saxutils import escape, quoteattr

from replay.printable import printable
from replay.reporting.findings import MALFUNCTION_NOTE, describe
from replay.reporting.streamed import StreamedFile

if TYPE_CHECKING:
    from replay.engine import Outcome, ReplaySummary
    from replay.verify import Checked, FileSummary, VerifyReport

__all__ = [
    "JUnitCase",
    "JUnitReport",
    "JUnitWriter",
    "Output",
    "VerifyJUnitReport",
    "interaction_name",
    "junit_document",
    "outcome_case",
]


class Output(Protocol):
    """Where a document goes: a binary file, or anything that takes bytes."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True)
class JUnitCase:
    classname: str
    name: str
    failure: str | None = None  # the failure's one-line message; None: the case passed
    failure_type: str | None = "failure"  # None: no type attribute
    text: str = ""  # the failure's body, or what a passing case prints
    skipped: str | None = None  # the reason, for a skipped case
    error: bool = False  # a failure counted in the suite's errors (the schema has no <error> element)
    time: float | None = None  # seconds; None: no time attribute


def _attr(text: str) -> str:
    return quoteattr(printable(text))


def case_xml(case: JUnitCase) -> str:
    """One ``<testcase>`` element, indented for a suite, with its line break."""
    time = f' time="{case.time:.6f}"' if case.time is not None else ""
    head = f"    <testcase classname={_attr(case.classname)} name={_attr(case.name)}{time}"
    if case.skipped is not None:
        return f"{head}>\n      <skipped message={_attr(case.skipped)}/>\n    </testcase>\n"
    if case.failure is not None:
        kind = f" type={_attr(case.failure_type)}" if case.failure_type is not None else ""
        return (f"{head}>\n      <failure{kind} message={_attr(case.failure)}>"
                f"{escape(printable(case.text))}</failure>\n    </testcase>\n")  # fmt: skip
    if case.text:
        return f"{head}>\n      <system-out>{escape(printable(case.text))}</system-out>\n    </testcase>\n"
    return head + "/>\n"


@dataclass(slots=True)
class _Totals:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def count(self, case: JUnitCase) -> None:
        self.tests += 1
        self.seconds += case.time or 0.0
        if case.skipped is not None:
            self.skipped += 1
        elif case.failure is not None and case.error:
            self.errors += 1
        elif case.failure is not None:
            self.failures += 1

    def add(self, other: _Totals) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped
        self.seconds += other.seconds


def _time(seconds: float | None) -> str:
    return f' time="{seconds:.3f}"' if seconds is not None else ""


def _suite_head(name: str, totals: _Totals, seconds: float | None) -> str:
    return (f'  <testsuite name={_attr(name)} tests="{totals.tests}" failures="{totals.failures}" '
            f'errors="{totals.errors}" skipped="{totals.skipped}"{_time(seconds)}>\n')  # fmt: skip


def _document_head(name: str, totals: _Totals, seconds: float | None) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuites name={_attr(name)} tests="{totals.tests}" failures="{totals.failures}" '
            f'errors="{totals.errors}"{_time(seconds)}>\n')  # fmt: skip


_SUITE_END, _DOCUMENT_END = "  </testsuite>\n", "</testsuites>\n"


def junit_document(name: str, suites: Iterable[tuple[str, Sequence[JUnitCase]]]) -> str:
    """``suites``: (suite name, its cases). Empty suites are left out."""
    parts: list[str] = []
    totals = _Totals()
    for suite, cases in suites:
        if not cases:
            continue
        mine = _Totals()
        for case in cases:
            mine.count(case)
        totals.add(mine)
        parts += [_suite_head(suite, mine, None), *(case_xml(c) for c in cases), _SUITE_END]
    return "".join([_document_head(name, totals, None), *parts, _DOCUMENT_END])


@dataclass(slots=True)
class _Segment:
    name: str
    totals: _Totals
    start: int
    end: int
    seconds: float | None


class JUnitWriter:
    """A document streamed case by case: :meth:`add` the cases of a suite, :meth:`end_suite` to name
    them, then :meth:`write` the document. The cases wait in an anonymous temporary file (in
    ``spool_dir``: beside the report, on the disk the user chose for it), never in memory."""

    def __init__(self, name: str, spool_dir: str | Path | None = None) -> None:
        self.name = name
        self.spool: IO[bytes] = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 (closed by write)
        self.current = _Totals()
        self.segments: list[_Segment] = []
        self.start = 0

    def add(self, case: JUnitCase) -> None:
        self.current.count(case)
        self.spool.write(case_xml(case).encode("utf-8"))

    def end_suite(self, name: str, *, keep_empty: bool = False, seconds: float | None = None) -> None:
        """The cases added since the last suite ended form suite ``name``; an empty one is left out
        unless ``keep_empty``. ``seconds``: the suite's time attribute (default: none)."""
        end = self.spool.tell()
        if self.current.tests or keep_empty:
            self.segments.append(_Segment(name, self.current, self.start, end, seconds))
        self.current, self.start = _Totals(), end

    def write(self, out: Output, *, seconds: float | None = None) -> None:
        """The document to ``out`` (then the temporary file is gone); cases added since the last
        :meth:`end_suite` are left out."""
        totals = _Totals()
        for segment in self.segments:
            totals.add(segment.totals)
        out.write(_document_head(self.name, totals, seconds).encode("utf-8"))
        for segment in self.segments:
            out.write(_suite_head(segment.name, segment.totals, segment.seconds).encode("utf-8"))
            self.spool.seek(segment.start)
            left = segment.end - segment.start
            while left > 0 and (chunk := self.spool.read(min(left, 1 << 20))):
                out.write(chunk)
                left -= len(chunk)
            out.write(_SUITE_END.encode())
        out.write(_DOCUMENT_END.encode())
        self.spool.close()


# --------------------------------------------------------------------------- interactions


def interaction_name(index: int, operation_id: str | None, method: str) -> str:
    """The test case name of one recorded interaction, alike in the replay and the verify report (whose
    classname is the interaction's file): its position and operation (``3 updateCustomerSessionV2``;
    the method when no operation matched), nothing that changes from run to run."""
    return f"{index} {operation_id or method}"


def outcome_case(outcome: Outcome) -> JUnitCase:
    """A replay outcome as a test case: findings fail with what differed, errors and malfunctions are
    errors (of type ``error`` / ``malfunction``), skipped interactions are skipped."""
    source, name = outcome.source, interaction_name(outcome.index, outcome.operation_id, outcome.method)
    if outcome.kind in ("same", "noise"):
        return JUnitCase(source, name, time=outcome.elapsed)
    if outcome.kind == "skipped":
        return JUnitCase(source, name, skipped=outcome.reason or "skipped", time=outcome.elapsed)
    # which run of which story: the case's name stays what it always is, the body says the rest
    described = describe(outcome)
    text = f"sequence {outcome.sequence}, attempts {outcome.attempts}\n{described}"
    if outcome.kind in ("shared-state", "additive"):  # reported, not failed (--fail-on decides the exit code)
        return JUnitCase(source, name, text=text, time=outcome.elapsed)
    if outcome.kind == "error":
        return JUnitCase(
            source, name, outcome.reason or "error", "error", text, error=True, time=outcome.elapsed
        )
    if outcome.kind == "malfunction":
        message = f"{MALFUNCTION_NOTE}: {outcome.reason or 'malfunction'}"
        return JUnitCase(source, name, message, "malfunction", text, error=True, time=outcome.elapsed)
    first = described.splitlines()[0] if described else outcome.kind
    return JUnitCase(source, name, first, None, text, time=outcome.elapsed)


class JUnitReport:
    """The replay's JUnit report: one test case per interaction, in one suite; failures carry the
    differences or violations, errors the cause.

    The report file is opened (as a temporary file beside it) at once, so an unwritable path is
    found before replaying; it is renamed into place when the run ends, also after Ctrl-C."""

    def __init__(self, path: str | Path) -> None:
        self.file = StreamedFile(path)
        self.writer = JUnitWriter("talon-contracts replay", spool_dir=self.file.path.parent)

    @property
    def path(self) -> Path:
        return self.file.path

    def add(self, outcome: Outcome) -> None:
        self.writer.add(outcome_case(outcome))

    def close(self, summary: ReplaySummary) -> None:
        suite = self.writer.current
        self.writer.end_suite("replay against " + summary.target, keep_empty=True, seconds=suite.seconds)
        self.writer.write(self.file.stream, seconds=summary.seconds)
        self.file.finish()

    def abandon(self, exc: BaseException) -> None:
        self.file.abandon(exc)


class VerifyJUnitReport:
    """verify's JUnit report, written while verifying (nothing is kept per interaction): one suite per
    file, one test case per interaction (a violation fails it, with every violation it has), an
    error per part that could not be read, and a suite for the paths that could not be read at all."""

    def __init__(self, spool_dir: str | Path | None = None) -> None:
        self.writer = JUnitWriter("talon-contracts verify", spool_dir=spool_dir)

    def add(self, checked: Checked) -> None:
        name = interaction_name(checked.index, checked.operation_id, checked.method)
        if not checked.violations:
            self.writer.add(JUnitCase(checked.source, name))
            return
        text = "\n".join(str(v) for v in checked.violations)
        self.writer.add(JUnitCase(checked.source, name, str(checked.violations[0]), None, text))

    def end_file(self, summary: FileSummary) -> None:
        """After the interactions of a file: its read problems, and the suite is complete."""
        for problem in summary.problems:
            label = f"unreadable {'file' if problem.index is None else f'interaction {problem.index}'}"
            self.writer.add(
                JUnitCase(summary.source, label, problem.message, "error", str(problem), error=True)
            )
        self.writer.end_suite(summary.source, keep_empty=True)

    def write(self, report: VerifyReport, out: Output) -> None:
        for message in report.unreadable:
            self.writer.add(JUnitCase("unreadable", message, message, "error", error=True))
        self.writer.end_suite("unreadable")
        self.writer.write(out)
