"""replay.reporting.json: every outcome streamed, then the summary; a malfunction is marked as one."""

from __future__ import annotations

import json
from pathlib import Path

from replay.engine import OUTCOMES, Outcome, ReplaySummary
from replay.reporting.json import JsonReport


def test_outcomes_then_the_summary_with_every_kind_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    report = JsonReport(path)
    summary = ReplaySummary("http://localhost:9000")
    for index, kind in enumerate(("same", "malfunction")):
        outcome = Outcome("a.yaml", index, None, None, "GET", "http://localhost:9000/x", kind, "why")  # type: ignore[arg-type]
        summary.add(outcome)
        report.add(outcome)
    assert not path.exists()
    report.close(summary)
    payload = json.loads(path.read_text())
    assert [o["outcome"] for o in payload["outcomes"]] == ["same", "malfunction"]
    assert (
        "curl" not in payload["outcomes"][1]
    )  # not a finding about the API: nothing to reproduce against it
    assert list(payload["summary"]["outcomes"]) == list(OUTCOMES)
    assert payload["summary"]["outcomes"]["malfunction"] == 1
