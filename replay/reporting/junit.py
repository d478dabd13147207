"""A JUnit XML document from test cases, valid against the junit-10 schema pytest's junitxml is checked
against. Test case names are the caller's: keep them free of counts so CI history lines up run after run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from replay.printable import printable

__all__ = ["JUnitCase", "junit_document"]


@dataclass(frozen=True, slots=True)
class JUnitCase:
    classname: str
    name: str
    failure: str | None = None  # the failure's one-line message; None: the case passed
    failure_type: str = "failure"
    text: str = ""  # the failure's body, or what a passing/skipped case prints
    skipped: str | None = None  # the reason, for a skipped case


def _case(case: JUnitCase) -> str:
    head = f"    <testcase classname={quoteattr(printable(case.classname))} name={quoteattr(printable(case.name))}"
    if case.skipped is not None:
        return f"{head}>\n      <skipped message={quoteattr(printable(case.skipped))}/>\n    </testcase>"
    if case.failure is not None:
        return (f"{head}>\n      <failure type={quoteattr(case.failure_type)} message={quoteattr(printable(case.failure))}>"
                f"{escape(printable(case.text))}</failure>\n    </testcase>")  # fmt: skip
    if case.text:
        return f"{head}>\n      <system-out>{escape(printable(case.text))}</system-out>\n    </testcase>"
    return head + "/>"


def junit_document(name: str, suites: Iterable[tuple[str, Sequence[JUnitCase]]]) -> str:
    """``suites``: (suite name, its cases). Empty suites are left out."""
    parts: list[str] = []
    tests = failures = 0
    for suite, cases in suites:
        if not cases:
            continue
        failed = sum(1 for c in cases if c.failure is not None and c.skipped is None)
        skipped = sum(1 for c in cases if c.skipped is not None)
        tests += len(cases)
        failures += failed
        parts.append(f'  <testsuite name={quoteattr(printable(suite))} tests="{len(cases)}" failures="{failed}" '
                     f'errors="0" skipped="{skipped}">')  # fmt: skip
        parts += [_case(c) for c in cases]
        parts.append("  </testsuite>")
    head = ['<?xml version="1.0" encoding="utf-8"?>',
            f'<testsuites name={quoteattr(name)} tests="{tests}" failures="{failures}" errors="0">']  # fmt: skip
    return "\n".join([*head, *parts, "</testsuites>"]) + "\n"
