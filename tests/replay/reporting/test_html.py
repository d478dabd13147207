"""replay.reporting.html: findings side by side, malfunctions of the tool listed apart."""

from __future__ import annotations

from pathlib import Path

from replay.engine import Kind, Outcome, ReplaySummary
from replay.reporting.html import HtmlReport, render_html


def _summary(*kinds: Kind) -> ReplaySummary:
    summary = ReplaySummary("http://localhost:9000")
    for index, kind in enumerate(kinds):
        summary.add(Outcome("a.yaml", index, None, "getCustomerSession", "GET",
                            "http://localhost:9000/v2/customer_sessions/s<1>", kind, f"reason {index}"))  # fmt: skip
    return summary


def test_malfunctions_are_listed_apart_from_the_findings() -> None:
    page = render_html(_summary("same", "changed", "malfunction"))
    findings, _, malfunctions = page.partition("Malfunctions of talon-contracts (1 shown)")
    assert "Findings (1 shown)" in findings and "section class='finding changed'" in findings
    assert "section class='malfunction'" not in findings
    assert "section class='malfunction'" in malfunctions and "a bug of talon-contracts" in malfunctions
    assert "<th>malfunction</th>" in page and "s&lt;1&gt;" in page


def test_without_a_malfunction_there_is_no_such_column_or_section(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    report = HtmlReport(path)
    report.close(_summary("same", "violation"))
    page = path.read_text()
    assert (
        page.startswith("<!DOCTYPE html>")
        and "malfunction" not in page.split("<style>")[1].split("</style>")[1]
    )
