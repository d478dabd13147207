"""The replay's ``--report FORMAT:PATH`` files: which formats there are, and opening one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from replay.engine import Outcome, ReplaySummary
from replay.reporting.html import HtmlReport
from replay.reporting.json import JsonReport
from replay.reporting.junit import JUnitReport

__all__ = ["REPORT_FORMATS", "Report", "open_report"]

REPORT_FORMATS = ("json", "junit", "html")


class Report(Protocol):
    """A report written while the replay runs: each outcome as it comes, then the summary."""

    def add(self, outcome: Outcome) -> None: ...

    def close(self, summary: ReplaySummary) -> None: ...

    def abandon(self, exc: BaseException) -> None:
        """Leave nothing behind: the run never got to its end (its temporary file is removed)."""


def open_report(spec: str) -> tuple[Report, Callable[[], str | None]]:
    """``json:PATH`` / ``junit:PATH`` / ``html:PATH`` -> (report, how to describe where it went)."""
    kind, _, path = spec.partition(":")
    if kind not in REPORT_FORMATS or not path:
        raise ValueError(
            f"--report {spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}"
        )
    if Path(path).is_dir():
        raise ValueError(f"--report {spec!r}: {path} is a directory; give a file name")
    opener: dict[str, Callable[[str], Report]] = {
        "json": JsonReport,
        "junit": JUnitReport,
        "html": HtmlReport,
    }
    return opener[kind](path), lambda: f"{kind} report: {path}"
