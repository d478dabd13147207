"""The JSON replay report: every outcome, streamed as it happens, then the summary.

Each outcome is written as it arrives (to a temporary file, renamed into place when the run
ends, also after Ctrl-C), so a 100,000-interaction replay does not hold its outcomes in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from replay.engine import OUTCOMES, Outcome, ReplaySummary
from replay.reporting.findings import curl_command, labels
from replay.reporting.streamed import StreamedFile

__all__ = ["JsonReport", "outcome_dict", "summary_dict"]


def _json_value(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    before, after = labels(outcome)
    data: dict[str, Any] = {
        "sequence": outcome.sequence,  # story.index: stable over one set of files, run after run
        "file": outcome.source,
        "index": outcome.index,
        "line": outcome.line,
        "operation": outcome.operation_id,
        "method": outcome.method,
        "url": outcome.url,
        "outcome": outcome.kind,
        "reason": outcome.reason,
        "elapsed_ms": round(outcome.elapsed * 1000, 3),
        "attempts": outcome.attempts,
    }
    diff = outcome.diff
    if diff is not None:
        data["status"] = list(diff.status) if diff.status else None
        data["headers"] = [{"name": n, before: a, after: b} for n, a, b in diff.headers]
        data["changes"] = [
            {"pointer": c.pointer, "live_pointer": c.live_pointer, "kind": c.kind,
             before: _json_value(c.before), after: _json_value(c.after),
             "noise": c.noise.reason if c.noise else None, "additive": c.additive}
            for c in diff.body
        ]  # fmt: skip
    if outcome.violations:
        data["violations"] = [{k: _json_value(v) for k, v in x.to_dict().items()} for x in outcome.violations]
    if outcome.finding:
        data["curl"] = curl_command(outcome)
    return data


def summary_dict(summary: ReplaySummary) -> dict[str, Any]:
    return {
        "target": summary.target,
        **(
            {"baseline": summary.target, "candidate": summary.candidate}
            if summary.candidate is not None
            else {}
        ),
        "interactions": summary.done,
        "stories": summary.stories,
        "seconds": round(summary.seconds, 3),
        "outcomes": {kind: summary.counts.get(kind, 0) for kind in OUTCOMES},
        "by_operation": {op: dict(counts) for op, counts in sorted(summary.by_operation.items())},
        "problems": [str(p) for p in summary.problems],
        "unreadable": summary.unreadable,
        "interrupted": summary.interrupted,
    }


class JsonReport(StreamedFile):
    """``{"outcomes": [...], "summary": {...}}``; the outcomes come first, as they happen."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.write('{"outcomes": [')
        self.count = 0

    def add(self, outcome: Outcome) -> None:
        self.write(
            ("," if self.count else "") + "\n  " + json.dumps(outcome_dict(outcome), ensure_ascii=False)
        )
        self.count += 1

    def close(self, summary: ReplaySummary) -> None:
        self.write("\n],\n" + f'"summary": {json.dumps(summary_dict(summary), indent=2)}' + "}\n")
        self.finish()
