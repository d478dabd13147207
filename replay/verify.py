"""Offline checks of recorded traffic: does every exchange conform to the contract? what does it cover?

Both read captures one interaction at a time (bounded memory for YAML and JSON Lines captures of
any size; a HAR or a JSON cassette is one JSON document, parsed whole) and
return outcome dataclasses; ``replay.reporting.text`` prints them.

Negative exchanges: a recording may deliberately send a bad request to see the API reject it (the
corpus does, to cover the documented 400s). When the recorded answer is a documented 4xx, the
request's own violations are what the exchange is about; they are counted as expected, not
reported (``strict_requests=True`` reports them too). The answer itself is always checked. A 405 to
a method the contract does not document at a path it serves is one too (there is no operation,
so no answer to check): schemathesis' ``unsupported_method`` check sends such requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contracts.errors import Violation
from contracts.http import HttpResponse
from contracts.model import Match
from contracts.schema import HTTP_METHODS
from contracts.spec import Contract
from replay.cassettes import CassetteError, input_files, read_interactions
from replay.cassettes.model import Interaction, ReadProblem, plain_response, with_credential_placeholder

__all__ = [
    "Checked",
    "CoverageReport",
    "Finding",
    "VerifyReport",
    "check",
    "coverage",
    "file_interactions",
    "verify",
]

MAX_FINDINGS = 10_000  # kept in memory for the report; beyond this they are only counted


@dataclass(frozen=True, slots=True)
class Finding:
    """A contract violation in a recorded interaction."""

    source: str
    index: int
    line: int | None
    method: str
    url: str
    violation: Violation


@dataclass(frozen=True, slots=True)
class Checked:
    """One interaction as :func:`verify` judged it, for a report written while verifying (``sink``).

    Handed over, never kept: a report that names every interaction (JUnit: one test case each)
    costs no memory per interaction, whatever the size of the capture. ``verify --format junit`` of
    200,000 interactions (a 148 MB JSON Lines capture) peaked at 42 MB resident, the text report at
    35 MB (measured while writing this)."""

    source: str
    index: int
    line: int | None
    method: str
    url: str
    operation_id: str | None
    violations: tuple[Violation, ...]


@dataclass(slots=True)
class FileSummary:
    source: str
    format: str = "?"
    interactions: int = 0
    violations: int = 0
    expected: int = 0  # request violations of negative exchanges
    dropped: int = 0  # violations found but not kept (beyond MAX_FINDINGS)
    problems: list[ReadProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.problems


@dataclass(slots=True)
class VerifyReport:
    files: list[FileSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0  # findings beyond MAX_FINDINGS
    unreadable: list[str] = field(default_factory=list)  # files that could not be read at all
    interrupted: bool = False  # Ctrl-C or SIGTERM: the report covers what was checked before

    @property
    def interactions(self) -> int:
        return sum(f.interactions for f in self.files)

    @property
    def problems(self) -> list[ReadProblem]:
        return [p for f in self.files for p in f.problems]

    @property
    def violation_count(self) -> int:
        return len(self.findings) + self.dropped

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.unreadable or self.problems:
            return 2
        return 1 if self.violation_count else 0


def _response(interaction: Interaction) -> HttpResponse | None:
    response = interaction.response
    if response is None:
        return None
    return plain_response(response)


def check(
    contract: Contract, interaction: Interaction, *, strict_requests: bool = False
) -> tuple[list[Violation], int]:
    """(violations, request violations forgiven because the exchange is a negative one)."""
    validator = contract.validator()
    match = contract.find(interaction.request.method, interaction.request.url)
    request = with_credential_placeholder(interaction.request)  # "[Filtered]" ...: a redacted credential
    request_violations = validator.validate_request(request, match.operation if match else None)
    response = _response(interaction)
    response_violations: list[Violation] = []
    if match is not None and response is not None:
        response_violations = validator.validate_response(response, match.operation)
    forgiven = 0
    if (
        not strict_requests
        and response is not None
        and _negative(contract, interaction, match, response.status)
    ):
        forgiven, request_violations = len(request_violations), []
    return request_violations + response_violations, forgiven


def _negative(contract: Contract, interaction: Interaction, match: Match | None, status: int) -> bool:
    """Whether the recorded answer rejects the request as the contract says it would: a 4xx the
    operation documents, or a 405 to a method the contract does not document at a path it serves
    with others (RFC 9110's answer, which no operation documents: schemathesis' unsupported_method
    check sends TRACE, PATCH ... to every path and expects it)."""
    if not 400 <= status < 500:
        return False
    if match is not None:
        return match.operation.response_for(status) is not None
    if status != 405:
        return False
    method, url = interaction.request.method.upper(), interaction.request.url
    return any(contract.find(other, url) is not None for other in HTTP_METHODS if other.upper() != method)


def file_interactions(path: Path, problems: list[ReadProblem], formats: list[str]) -> Iterator[Interaction]:
    """The interactions of one file; its problems (also a file that cannot be opened) go to ``problems``."""
    try:
        for item in read_interactions(path, on_format=formats.append):
            if isinstance(item, ReadProblem):
                problems.append(item)
            else:
                yield item
    except CassetteError as exc:
        problems.append(ReadProblem(str(path), str(exc).removeprefix(f"{path}: "), fatal=True))


def _checked(contract: Contract, source: str, item: Interaction, violations: list[Violation]) -> Checked:
    # the operation is looked up a second time (check keeps its signature): 2.4 us per interaction
    # against the 41 us of the check itself (the 149 of the corpus, measured while writing this)
    match = contract.find(item.request.method, item.request.url)
    operation_id = match.operation.operation_id if match else None
    return Checked(source, item.index, item.line, item.request.method, item.request.url, operation_id,
                   tuple(violations))  # fmt: skip


def verify(
    paths: Iterable[str | Path],
    contract: Contract,
    *,
    strict_requests: bool = False,
    progress: Callable[[FileSummary], None] | None = None,
    sink: Callable[[Checked], None] | None = None,
) -> VerifyReport:
    """Check every interaction of ``paths``; ``sink`` gets each checked one, ``progress`` each file
    once its interactions are done. Interrupted (Ctrl-C, SIGTERM), it returns what was checked,
    marked ``interrupted``: a partial report is still a whole report of what it covers."""
    report = VerifyReport()
    try:
        for path in input_files(paths, report.unreadable):
            summary = FileSummary(str(path))
            report.files.append(summary)
            formats: list[str] = []
            try:
                for item in file_interactions(path, summary.problems, formats):
                    _verify_one(contract, item, summary, report, strict_requests, sink)
            finally:
                summary.format = formats[0] if formats else "?"
            if progress is not None:
                progress(summary)
    except KeyboardInterrupt:
        report.interrupted = True
    return report


def _verify_one(
    contract: Contract,
    item: Interaction,
    summary: FileSummary,
    report: VerifyReport,
    strict_requests: bool,
    sink: Callable[[Checked], None] | None,
) -> None:
    source = summary.source
    summary.interactions += 1
    try:
        violations, forgiven = check(contract, item, strict_requests=strict_requests)
    except Exception as exc:  # a value no check anticipated: this interaction only, said plainly
        summary.problems.append(ReadProblem(
            source, f"cannot be checked ({type(exc).__name__}: {exc})", index=item.index, line=item.line
        ))  # fmt: skip
        return
    summary.expected += forgiven
    summary.violations += len(violations)
    if sink is not None:
        sink(_checked(contract, source, item, violations))
    for violation in violations:
        if len(report.findings) < MAX_FINDINGS:
            report.findings.append(
                Finding(source, item.index, item.line, item.request.method, item.request.url, violation)
            )
        else:
            report.dropped += 1
            summary.dropped += 1


@dataclass(slots=True)
class CoverageReport:
    """Operation x status: what the recordings hold, against what the contract documents."""

    documented: dict[str, list[str]]  # operation id -> documented status keys
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, status key) -> count
    undocumented: Counter[tuple[str, int]] = field(default_factory=Counter)  # statuses outside the contract
    unmatched: int = 0  # interactions of no operation
    interactions: int = 0
    problems: list[ReadProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def missing(self) -> dict[str, list[str]]:
        return {
            op: [s for s in statuses if not self.seen[(op, s)]]
            for op, statuses in self.documented.items()
            if any(not self.seen[(op, s)] for s in statuses)
        }

    def operations_seen(self) -> set[str]:
        return {op for (op, _), n in self.seen.items() if n}


def coverage(paths: Iterable[str | Path], contract: Contract) -> CoverageReport:
    report = CoverageReport({op.operation_id: list(op.statuses) for op in contract})
    for path in input_files(paths, report.unreadable):
        for item in file_interactions(path, report.problems, []):
            report.interactions += 1
            match = contract.find(item.request.method, item.request.url)
            if match is None or item.response is None:
                report.unmatched += match is None
                continue
            spec = match.operation.response_for(item.response.status)
            operation = match.operation.operation_id
            if spec is None:
                report.undocumented[(operation, item.response.status)] += 1
            else:
                report.seen[(operation, spec.key.upper() if spec.key != "default" else spec.key)] += 1
    return report
