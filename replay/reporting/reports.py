"""Replay reports: JSON, JUnit XML and a self-contained HTML page, plus the reproduction of a finding.

JSON and JUnit stream: each outcome is written as it arrives (to a temporary file, renamed into
place when the run ends, also after Ctrl-C), so a 100,000-interaction replay does not hold its
outcomes in memory. The HTML page shows the findings the summary kept (the first 1,000), side
by side, with a curl command each. Every report names the credential ``$TALON_API_KEY``, never
its value.
"""

from __future__ import annotations

import html
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from contracts.http import normalize_headers

from replay.cassettes.reading import atomic_write
from replay.engine import OUTCOMES, Outcome, ReplaySummary
from replay.printable import printable

__all__ = [
    "REPORT_FORMATS",
    "HtmlReport",
    "JUnitReport",
    "JsonReport",
    "curl_command",
    "outcome_dict",
    "summary_dict",
]

REPORT_FORMATS = ("json", "junit", "html")


def escape(text: str) -> str:
    return _xml_escape(printable(text))


def quoteattr(text: str) -> str:
    return _xml_quoteattr(printable(text))


def curl_command(outcome: Outcome) -> str | None:
    """A shell command that sends the request again (the key taken from ``$TALON_API_KEY``)."""
    request = outcome.request
    if request is None:
        return None
    parts = ["curl", "-sS", "-X", request.method, shlex.quote(request.url)]
    for name, value in normalize_headers(request.headers).items():
        if name == "authorization":
            key = "invalid-key" if value.endswith("-OTHER") else "$TALON_API_KEY"
            parts += ["-H", f'"Authorization: ApiKey-v1 {key}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)


def _text(body: bytes | str | None, limit: int | None = None) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if limit is None or len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _json_value(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = {
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
        data["headers"] = [{"name": n, "recorded": a, "live": b} for n, a, b in diff.headers]
        data["changes"] = [
            {"pointer": c.pointer, "kind": c.kind, "recorded": _json_value(c.before), "live": _json_value(c.after),
             "noise": c.noise.reason if c.noise else None}
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
        "interactions": summary.done,
        "stories": summary.stories,
        "seconds": round(summary.seconds, 3),
        "outcomes": {kind: summary.counts.get(kind, 0) for kind in OUTCOMES},
        "by_operation": {op: dict(counts) for op, counts in sorted(summary.by_operation.items())},
        "problems": [str(p) for p in summary.problems],
        "unreadable": summary.unreadable,
        "interrupted": summary.interrupted,
    }


class _Streamed:
    """A report written while the replay runs and renamed into place when it is closed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._context = atomic_write(self.path)
        self.stream: IO[bytes] = self._context.__enter__()

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8"))

    def finish(self) -> None:
        self._context.__exit__(None, None, None)

    def abandon(self, exc: BaseException) -> None:
        self._context.__exit__(type(exc), exc, exc.__traceback__)


class JsonReport(_Streamed):
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


class JUnitReport:
    """One test case per interaction; failures carry the differences or violations, errors the cause.

    The test cases are written to a temporary file as they come; the document (whose header needs
    the totals) is assembled from it at the end.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.cases = _Streamed(self.path.with_name(self.path.name + ".cases"))
        self.tests = self.failures = self.errors = self.skipped = 0
        self.seconds = 0.0

    def add(self, outcome: Outcome) -> None:
        self.tests += 1
        self.seconds += outcome.elapsed
        name = f"{outcome.index} {outcome.operation_id or outcome.method}"
        head = f'  <testcase classname={quoteattr(outcome.source)} name={quoteattr(name)} time="{outcome.elapsed:.6f}"'
        if outcome.kind in ("same", "noise"):
            self.cases.write(head + "/>\n")
            return
        if outcome.kind == "skipped":
            self.skipped += 1
            body = f"<skipped message={quoteattr(outcome.reason or 'skipped')}/>"
        elif outcome.kind == "error":
            # the Jenkins junit-10 schema (pytest's reference) has no <error> in a test case: a failure
            # of type "error", counted in the suite's errors
            self.errors += 1
            body = (f'<failure type="error" message={quoteattr(outcome.reason or "error")}>'
                    f"{escape(describe(outcome))}</failure>")  # fmt: skip
        else:
            self.failures += 1
            first = describe(outcome).splitlines()[0]
            body = f"<failure message={quoteattr(first)}>{escape(describe(outcome))}</failure>"
        self.cases.write(f"{head}>\n    {body}\n  </testcase>\n")

    def close(self, summary: ReplaySummary) -> None:
        self.cases.finish()
        with atomic_write(self.path) as out, self.cases.path.open("rb") as cases:
            out.write(b'<?xml version="1.0" encoding="utf-8"?>\n')
            out.write(f'<testsuites name="talon-contracts replay" tests="{self.tests}" failures="{self.failures}" '
                      f'errors="{self.errors}" time="{summary.seconds:.3f}">\n'.encode())  # fmt: skip
            out.write(f'<testsuite name={quoteattr("replay against " + summary.target)} tests="{self.tests}" '
                      f'failures="{self.failures}" errors="{self.errors}" skipped="{self.skipped}" '
                      f'time="{self.seconds:.3f}">\n'.encode())  # fmt: skip
            while chunk := cases.read(1 << 20):
                out.write(chunk)
            out.write(b"</testsuite>\n</testsuites>\n")
        self.cases.path.unlink(missing_ok=True)


def describe(outcome: Outcome, limit: int = 40) -> str:
    """The lines that explain a finding: what differed, what broke the contract, how to reproduce it."""
    lines: list[str] = []
    if outcome.kind == "error":
        lines.append(f"no answer: {outcome.reason}")
    diff = outcome.diff
    if diff is not None:
        if diff.status:
            lines.append(f"status {diff.status[0]} -> {diff.status[1]}")
        lines += [f"header {n}: {a!r} -> {b!r}" for n, a, b in diff.headers]
        real = diff.real
        lines += [str(c) for c in real[:limit]]
        if len(real) > limit:
            lines.append(f"... and {len(real) - limit} more change(s)")
    lines += [f"contract: {v}" for v in outcome.violations[:limit]]
    command = curl_command(outcome)
    if command:
        lines.append(f"reproduce: {command}")
    return "\n".join(lines) or outcome.kind


class HtmlReport(_Streamed):
    """A single self-contained page: the summary, then each finding with recorded and live side by side.

    The file is opened (as a temporary file beside it) at once, so an unwritable path is found
    before replaying, not after."""

    def add(self, outcome: Outcome) -> None:  # the findings are taken from the summary at the end
        return None

    def close(self, summary: ReplaySummary) -> None:
        self.stream.write(render_html(summary).encode("utf-8", "replace"))
        self.finish()


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.finding{border:1px solid #ccc;border-radius:4px;margin:1.5em 0;padding:0 1em 1em}
.changed{border-left:6px solid #d97706}.violation{border-left:6px solid #dc2626}.error{border-left:6px solid #7c3aed}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em;white-space:pre-wrap;word-break:break-all}
ul.changes li.noise{color:#888} code{background:#f6f8fa;padding:0 3px}
"""


def _pretty(body: bytes | str | None) -> str:
    text = _text(body)
    try:
        return printable(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
    except (ValueError, RecursionError):
        return printable(text)


def render_html(summary: ReplaySummary) -> str:
    kinds = ("same", "noise", "changed", "violation", "error", "skipped")
    rows = "".join(
        f"<tr><td>{html.escape(op)}</td>"
        + "".join(f"<td>{counts.get(k, 0) or ''}</td>" for k in kinds)
        + "</tr>"
        for op, counts in sorted(summary.by_operation.items())
    )
    totals = " · ".join(f"{k} {summary.counts.get(k, 0)}" for k in kinds)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>talon-contracts replay</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Replay against {html.escape(summary.target)}</h1>",
        f"<p>{summary.done} interaction(s) from {summary.stories} file(s) in {summary.seconds:.1f} s: {totals}"
        + (" · <strong>interrupted</strong>" if summary.interrupted else "")
        + "</p>",
        "<table><tr><th>operation</th>" + "".join(f"<th>{k}</th>" for k in kinds) + f"</tr>{rows}</table>",
    ]
    if summary.problems or summary.unreadable:
        items = [str(p) for p in summary.problems] + summary.unreadable
        parts.append(
            "<h2>Unreadable input</h2><ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
        )
    parts.append(f"<h2>Findings ({len(summary.findings)} shown)</h2>")
    for number, outcome in enumerate(summary.findings, start=1):
        changes = ""
        if outcome.diff is not None:
            items = []
            if outcome.diff.status:
                items.append(f"<li>status {outcome.diff.status[0]} → {outcome.diff.status[1]}</li>")
            items += [
                f"<li>header {html.escape(n)}: {html.escape(repr(a))} → {html.escape(repr(b))}</li>"
                for n, a, b in outcome.diff.headers
            ]
            items += [
                f"<li class='{'noise' if c.noise else 'real'}'>{html.escape(str(c))}"
                + (f" <em>(noise: {html.escape(c.noise.reason)})</em>" if c.noise else "") + "</li>"
                for c in outcome.diff.body[:200]
            ]  # fmt: skip
            changes = "<ul class='changes'>" + "".join(items) + "</ul>"
        violations = "".join(f"<li>{html.escape(str(v))}</li>" for v in outcome.violations)
        command = curl_command(outcome)
        parts.append(
            f"<section class='finding {outcome.kind}' id='finding-{number}'>"
            f"<h3>{number}. {html.escape(outcome.kind)}: {html.escape(outcome.operation_id or '')} "
            f"<code>{html.escape(outcome.method)} {html.escape(outcome.url)}</code></h3>"
            f"<p>{html.escape(outcome.where)}" + (f" — {html.escape(outcome.reason)}" if outcome.reason else "") + "</p>"
            + changes
            + (f"<p>Contract violations:</p><ul>{violations}</ul>" if violations else "")
            + "<div class='sides'>"
            f"<div><h4>recorded{f' ({outcome.expected.status})' if outcome.expected else ''}</h4>"
            f"<pre>{html.escape(_pretty(outcome.expected.body if outcome.expected else None))}</pre></div>"
            f"<div><h4>live{f' ({outcome.live.status})' if outcome.live else ''}</h4>"
            f"<pre>{html.escape(_pretty(outcome.live.body if outcome.live else None))}</pre></div></div>"
            + (f"<p>Reproduce:</p><pre>{html.escape(command)}</pre>" if command else "")
            + "</section>"
        )  # fmt: skip
    parts.append("</body></html>\n")
    return "".join(parts)


def open_report(spec: str) -> tuple[Any, Callable[[], str | None]]:
    """``json:PATH`` / ``junit:PATH`` / ``html:PATH`` -> (report, how to describe where it went)."""
    kind, _, path = spec.partition(":")
    if kind not in REPORT_FORMATS or not path:
        raise ValueError(
            f"--report {spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(REPORT_FORMATS)}"
        )
    if Path(path).is_dir():
        raise ValueError(f"--report {spec!r}: {path} is a directory; give a file name")
    report = {"json": JsonReport, "junit": JUnitReport, "html": HtmlReport}[kind](path)
    return report, lambda: f"{kind} report: {path}"
