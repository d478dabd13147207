"""The HTML replay report: one self-contained page, the summary, then each finding with recorded and
live side by side and a curl command; malfunctions of the tool are listed apart from the findings.

The page shows the findings the summary kept (the first 1,000).
"""

from __future__ import annotations

import html
import json

from replay.engine import Outcome, ReplaySummary
from replay.printable import printable
from replay.reporting.findings import MALFUNCTION_NOTE, body_text, curl_command, labels, where
from replay.reporting.streamed import StreamedFile

__all__ = ["HtmlReport", "render_html"]


class HtmlReport(StreamedFile):
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
.finding,section.malfunction{border:1px solid #ccc;border-radius:4px;margin:1.5em 0;padding:0 1em 1em}
.changed{border-left:6px solid #d97706}.violation{border-left:6px solid #dc2626}.error{border-left:6px solid #7c3aed}
.malfunction{border-left:6px solid #6b7280}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em;white-space:pre-wrap;word-break:break-all}
ul.changes li.noise{color:#888} code{background:#f6f8fa;padding:0 3px}
"""

_KINDS = ("same", "noise", "changed", "violation", "error", "skipped")


def _pretty(body: bytes | str | None) -> str:
    text = body_text(body)
    try:
        return printable(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
    except (ValueError, RecursionError):
        return printable(text)


def render_html(summary: ReplaySummary) -> str:
    # a malfunction is the tool's failure: its column shows only when there is one
    kinds = (*_KINDS, "malfunction") if summary.counts.get("malfunction") else _KINDS
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
        f"<h1>Replay {html.escape(where(summary))}</h1>",
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
    findings = [o for o in summary.findings if o.kind != "malfunction"]
    malfunctions = [o for o in summary.findings if o.kind == "malfunction"]
    parts.append(f"<h2>Findings ({len(findings)} shown)</h2>")
    parts += [_section(outcome, number, "finding") for number, outcome in enumerate(findings, start=1)]
    if malfunctions:
        parts.append(f"<h2 id='malfunctions'>Malfunctions of talon-contracts ({len(malfunctions)} shown)</h2>"
                     f"<p>Interactions the tool failed on: {html.escape(MALFUNCTION_NOTE)}.</p>")  # fmt: skip
        parts += [_section(o, number, "malfunction") for number, o in enumerate(malfunctions, start=1)]
    parts.append("</body></html>\n")
    return "".join(parts)


def _changes(outcome: Outcome) -> str:
    if outcome.diff is None:
        return ""
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
    return "<ul class='changes'>" + "".join(items) + "</ul>"


def _section(outcome: Outcome, number: int, anchor: str) -> str:
    before, after = labels(outcome)
    """One finding (or malfunction): what differed, the contract's verdict, both answers, the curl command."""
    violations = "".join(f"<li>{html.escape(str(v))}</li>" for v in outcome.violations)
    command = curl_command(outcome)
    classes = anchor if anchor == outcome.kind else f"{anchor} {outcome.kind}"
    return (
        f"<section class='{classes}' id='{anchor}-{number}'>"
        f"<h3>{number}. {html.escape(outcome.kind)}: {html.escape(outcome.operation_id or '')} "
        f"<code>{html.escape(outcome.method)} {html.escape(outcome.url)}</code></h3>"
        f"<p>{html.escape(outcome.where)} · sequence {outcome.sequence}"
        + (f" — {html.escape(outcome.reason)}" if outcome.reason else "") + "</p>"
        + _changes(outcome)
        + (f"<p>Contract violations:</p><ul>{violations}</ul>" if violations else "")
        + "<div class='sides'>"
        f"<div><h4>{before}{f' ({outcome.expected.status})' if outcome.expected else ''}</h4>"
        f"<pre>{html.escape(_pretty(outcome.expected.body if outcome.expected else None))}</pre></div>"
        f"<div><h4>{after}{f' ({outcome.live.status})' if outcome.live else ''}</h4>"
        f"<pre>{html.escape(_pretty(outcome.live.body if outcome.live else None))}</pre></div></div>"
        + (f"<p>Reproduce:</p><pre>{html.escape(command)}</pre>" if command else "")
        + "</section>"
    )  # fmt: skip
