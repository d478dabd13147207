"""The replay's progress line and the quick count behind its ETA."""

from __future__ import annotations

from replay import engine
from replay.cli.progress import Progress, estimate

from ..helpers import CORPUS


def test_progress_line_and_estimate() -> None:
    assert estimate((CORPUS,)) == 149
    summary = engine.ReplaySummary("t")
    summary.estimated_total = 200
    summary.counts.update({"same": 40, "noise": 10})
    line = Progress(summary, enabled=False).line()
    assert line.startswith("replayed 50/~200 (25%) at ") and "ETA" in line and "same 40 noise 10" in line
