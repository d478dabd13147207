"""Renderers: turn outcome dataclasses into text or JSON. No logic lives here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contracts import Contract, LoadIssue
from contracts.errors import short_text
from replay.verify import CoverageReport, VerifyReport

if TYPE_CHECKING:
    from replay.engine import ReplaySummary

__all__ = ["ContractCheck", "render_contract_check", "render_coverage", "render_replay", "render_verify"]


@dataclass(slots=True)
class ContractCheck:
    """Outcome of ``talon-contracts validate``."""

    source: str
    overlay: str | None
    title: str = ""
    version: str = ""
    openapi: str = ""
    operations: list[dict[str, Any]] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return 2 if self.error else 0

    @classmethod
    def of(cls, contract: Contract) -> ContractCheck:
        return cls(
            source=contract.source,
            overlay=contract.overlay.source if contract.overlay else None,
            title=contract.title,
            version=contract.version,
            openapi=contract.openapi_version,
            operations=[
                {
                    "operationId": op.operation_id,
                    "method": op.method,
                    "path": op.path,
                    "statuses": list(op.statuses),
                }
                for op in contract
            ],
            issues=list(contract.issues),
        )


def render_contract_check(check: ContractCheck, fmt: str = "text") -> tuple[str, str]:
    """(stdout, stderr) for a contract check."""
    if fmt == "json":
        payload = {
            "source": check.source,
            "overlay": check.overlay,
            "title": check.title,
            "version": check.version,
            "openapi": check.openapi,
            "operations": check.operations,
            "issues": [
                {"source": i.source, "pointer": i.pointer, "line": i.line, "message": i.message}
                for i in check.issues
            ],
            "error": check.error,
        }
        return json.dumps(payload, indent=2) + "\n", ""
    err = "".join(f"warning: {issue}\n" for issue in check.issues)
    if check.error:
        return "", err + f"error: {check.error}\n"
    lines = [
        f"{check.title or '(untitled)'} {check.version or ''}".rstrip()
        + f" — OpenAPI {check.openapi}, {len(check.operations)} operations",
        f"  contract: {check.source}",
        f"  overlay:  {check.overlay or '(none)'}",
        "",
    ]
    width_m = max((len(o["method"]) for o in check.operations), default=0)
    width_id = max((len(o["operationId"]) for o in check.operations), default=0)
    for o in check.operations:
        lines.append(
            f"  {o['method']:<{width_m}}  {o['operationId']:<{width_id}}  {o['path']}  [{' '.join(o['statuses'])}]"
        )
    if check.issues:
        lines += ["", f"{len(check.issues)} quirk(s) tolerated (details on stderr)."]
    return "\n".join(lines) + "\n", err


# --------------------------------------------------------------------------- verify


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def render_verify(report: VerifyReport, fmt: str = "text") -> str:
    """``text`` or ``json`` (the JUnit report is written while verifying: ``replay.reporting.junit``)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"verify renders text or json, not {fmt!r} (JUnit: VerifyJUnitReport)")
    if fmt == "json":
        payload = {
            "interactions": report.interactions,
            "violations": report.violation_count,
            "files": [
                {"file": f.source, "format": f.format, "interactions": f.interactions, "violations": f.violations,
                 "expected_request_violations": f.expected, "problems": [str(p) for p in f.problems]}
                for f in report.files
            ],
            "findings": [
                {"file": x.source, "index": x.index, "line": x.line, "method": x.method, "url": x.url,
                 **_json_safe(x.violation.to_dict())}
                for x in report.findings
            ],
            "findings_not_listed": report.dropped,
            "unreadable": report.unreadable,
            "interrupted": report.interrupted,
            "exit_code": report.exit_code,
        }  # fmt: skip
        return json.dumps(payload, indent=2) + "\n"
    return _verify_text(report)


def _verify_text(report: VerifyReport) -> str:
    lines: list[str] = []
    by_file: dict[str, list[Any]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.source, []).append(finding)
    for summary in report.files:
        mark = "ok" if summary.ok else "FAIL"
        extra = (
            f", {summary.expected} expected request violation(s) in negative exchanges"
            if summary.expected
            else ""
        )
        lines.append(f"{mark:4} {summary.source} [{summary.format}]: {summary.interactions} interaction(s), "
                     f"{summary.violations} violation(s){extra}")  # fmt: skip
        for problem in summary.problems:
            lines.append(f"     unreadable: {problem}")
        previous = None
        for finding in by_file.get(summary.source, []):
            v = finding.violation
            if finding.index != previous:  # one heading per interaction, then its violations
                previous = finding.index
                at = f" (line {finding.line})" if finding.line else ""
                lines.append(
                    f"     #{finding.index}{at} {short_text(finding.method, 20)} {short_text(finding.url)} -> {v.operation_id or 'no operation'}"
                )
            lines.append(
                f"        {v.phase}{f' {v.status}' if v.status else ''}: {v.where or '/'}: {v.message}"
            )
            if v.expected not in (None, [], {}) and v.keyword not in ("required",):
                lines.append(f"          expected: {json.dumps(_json_safe(v.expected))[:200]}")
    for message in report.unreadable:
        lines.append(f"error: {message}")
    if report.dropped:
        lines.append(f"... and {report.dropped} more violation(s) not listed")
    parts = []
    if report.violation_count:
        parts.append(f"{report.violation_count} violation(s)")
    if report.problems or report.unreadable:
        parts.append(f"{len(report.problems) + len(report.unreadable)} unreadable part(s)")
    verdict = "; ".join(parts) or "all conform"
    if report.interrupted:
        verdict += " (interrupted: the files after these were not checked)"
    lines.append(f"\n{len(report.files)} file(s), {report.interactions} interaction(s): {verdict}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- coverage


def render_coverage(report: CoverageReport, fmt: str = "text") -> str:
    missing = report.missing()
    if fmt == "json":
        payload = {
            "interactions": report.interactions,
            "operations": {
                op: {status: report.seen[(op, status)] for status in statuses}
                for op, statuses in report.documented.items()
            },
            "missing": missing,
            "undocumented": [{"operation": op, "status": status, "count": n} for (op, status), n in report.undocumented.items()],
            "unmatched": report.unmatched,
            "problems": [str(p) for p in report.problems],
            "unreadable": report.unreadable,
        }  # fmt: skip
        return json.dumps(payload, indent=2) + "\n"
    statuses = sorted({s for values in report.documented.values() for s in values})
    width = max((len(op) for op in report.documented), default=10)
    lines = [f"{'operation':<{width}}  " + "  ".join(f"{s:>4}" for s in statuses)]
    for op, documented in report.documented.items():
        cells = []
        for status in statuses:
            if status not in documented:
                cells.append(f"{'':>4}")
            else:
                count = report.seen[(op, status)]
                cells.append(f"{count:>4}" if count else f"{'-':>4}")
        lines.append(f"{op:<{width}}  " + "  ".join(cells))
    lines.append("")
    covered = len(report.operations_seen())
    lines.append(
        f"{report.interactions} interaction(s); {covered} of {len(report.documented)} operations covered."
    )
    if missing:
        lines.append("Documented but not recorded:")
        lines += [f"  {op}: {', '.join(values)}" for op, values in missing.items()]
    for (op, code), count in sorted(report.undocumented.items()):
        lines.append(f"Recorded but undocumented: {op} answered {code} ({count}x)")
    if report.unmatched:
        lines.append(f"{report.unmatched} interaction(s) match no operation of the contract.")
    for problem in report.problems:
        lines.append(f"unreadable: {problem}")
    for message in report.unreadable:
        lines.append(f"error: {message}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- replay


def render_replay(summary: ReplaySummary, findings: int = 10) -> str:
    """The terminal summary: outcomes per operation, then the first findings with what differed."""
    from replay.engine import KEPT, OUTCOMES
    from replay.printable import printable
    from replay.reporting.findings import describe, where

    lines = []
    ops = sorted(summary.by_operation.items())
    # a malfunction (the tool's failure), shared state (a target the replay does not own) and
    # additive changes are columns only when there is one: most runs have none
    kinds = [
        k for k in OUTCOMES if k not in ("malfunction", "shared-state", "additive") or summary.counts.get(k)
    ]
    if ops:
        width = max(len("operation"), *(len(op) for op, _ in ops))
        lines.append(f"{'operation':<{width}}  " + "  ".join(f"{k:>9}" for k in kinds))
        for op, counts in ops:
            lines.append(f"{op:<{width}}  " + "  ".join(f"{counts.get(k, 0) or '':>9}" for k in kinds))
        lines.append("")
    shown = summary.findings[:findings]
    for number, outcome in enumerate(shown, start=1):
        lines.append(
            f"{number}. {outcome.kind.upper()} {outcome.where}: {outcome.operation_id or '?'} {short_text(outcome.method, 20)} {short_text(outcome.url)}"
        )
        lines += [f"     {printable(line)}" for line in describe(outcome, limit=10).splitlines()]
    more = sum(summary.counts.get(k, 0) for k in KEPT) - len(shown)
    if more > 0:
        lines.append(f"... and {more} more finding(s) (see --report json:PATH or html:PATH)")
    for problem in summary.problems[:20]:
        lines.append(f"unreadable: {problem}")
    for message in summary.unreadable:
        lines.append(f"error: {message}")
    totals = ", ".join(f"{summary.counts[k]} {k}" for k in OUTCOMES if summary.counts.get(k))
    rate = summary.done / summary.seconds if summary.seconds > 0 else 0.0
    verdict = "interrupted: " if summary.interrupted else ""
    lines.append(
        f"\n{verdict}{summary.done} interaction(s) from {summary.stories} file(s) {where(summary)} "
        f"in {summary.seconds:.1f} s ({rate:,.0f}/s): {totals or 'nothing replayed'}"
    )
    return "\n".join(lines) + "\n"
