"""Offline checks of recorded traffic: does every exchange conform to the contract? what does it cover?

Both read captures one interaction at a time (bounded memory, whatever the capture's size) and
return outcome dataclasses; ``replay.render`` prints them.

Negative exchanges: a recording may deliberately send a bad request to see the API reject it (the
corpus does, to cover the documented 400s). When the recorded answer is a documented 4xx, the
request's own violations are what the exchange is about; they are counted as expected, not
reported (``strict_requests=True`` reports them too). The answer itself is always checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from contracts.errors import Violation
from contracts.http import HttpResponse
from contracts.spec import Contract

from .cassettes import CassetteError, cassette_files, read_interactions
from .interactions import Interaction, ReadProblem, decoded_body

__all__ = ["CoverageReport", "Finding", "VerifyReport", "coverage", "verify"]

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


@dataclass(slots=True)
class FileSummary:
    source: str
    format: str = "?"
    interactions: int = 0
    violations: int = 0
    expected: int = 0  # request violations of negative exchanges
    problems: list[ReadProblem] = field(default_factory=list)


@dataclass(slots=True)
class VerifyReport:
    files: list[FileSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0  # findings beyond MAX_FINDINGS
    unreadable: list[str] = field(default_factory=list)  # files that could not be read at all

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
        if self.unreadable or self.problems:
            return 2
        return 1 if self.violation_count else 0


def _response(interaction: Interaction) -> HttpResponse | None:
    response = interaction.response
    if response is None:
        return None
    return HttpResponse(response.status, response.headers, decoded_body(response.headers, response.body))


def check(
    contract: Contract, interaction: Interaction, *, strict_requests: bool = False
) -> tuple[list[Violation], int]:
    """(violations, request violations forgiven because the exchange is a negative one)."""
    validator = contract.validator()
    match = contract.find(interaction.request.method, interaction.request.url)
    request_violations = validator.validate_request(interaction.request, match.operation if match else None)
    response = _response(interaction)
    response_violations: list[Violation] = []
    if match is not None and response is not None:
        response_violations = validator.validate_response(response, match.operation)
    forgiven = 0
    if (
        not strict_requests
        and match is not None
        and response is not None
        and 400 <= response.status < 500
        and match.operation.response_for(response.status) is not None
    ):
        forgiven, request_violations = len(request_violations), []
    return request_violations + response_violations, forgiven


def verify(
    paths: Iterable[str | Path],
    contract: Contract,
    *,
    strict_requests: bool = False,
    progress: Callable[[FileSummary], None] | None = None,
) -> VerifyReport:
    report = VerifyReport()
    try:
        files = cassette_files(paths)
    except CassetteError as exc:
        report.unreadable.append(str(exc))
        return report
    for path in files:
        summary = FileSummary(str(path))
        report.files.append(summary)
        formats: list[str] = []
        try:
            for item in read_interactions(path, on_format=formats.append):
                if isinstance(item, ReadProblem):
                    summary.problems.append(item)
                    continue
                summary.interactions += 1
                violations, forgiven = check(contract, item, strict_requests=strict_requests)
                summary.expected += forgiven
                summary.violations += len(violations)
                for violation in violations:
                    if len(report.findings) < MAX_FINDINGS:
                        report.findings.append(
                            Finding(
                                str(path),
                                item.index,
                                item.line,
                                item.request.method,
                                item.request.url,
                                violation,
                            )
                        )
                    else:
                        report.dropped += 1
        except CassetteError as exc:
            report.unreadable.append(str(exc))
        summary.format = formats[0] if formats else "?"
        if progress is not None:
            progress(summary)
    return report


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
    try:
        files = cassette_files(paths)
    except CassetteError as exc:
        report.unreadable.append(str(exc))
        return report
    for path in files:
        try:
            for item in read_interactions(path):
                if isinstance(item, ReadProblem):
                    report.problems.append(item)
                    continue
                report.interactions += 1
                match = contract.find(item.request.method, item.request.url)
                if match is None or item.response is None:
                    report.unmatched += match is None
                    continue
                spec = match.operation.response_for(item.response.status)
                if spec is None:
                    report.undocumented[(match.operation.operation_id, item.response.status)] += 1
                else:
                    report.seen[
                        (
                            match.operation.operation_id,
                            spec.key.upper() if spec.key != "default" else spec.key,
                        )
                    ] += 1
        except CassetteError as exc:
            report.unreadable.append(str(exc))
    return report
