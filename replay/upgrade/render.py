"""Renderers of an :class:`~replay.upgrade.report.UpgradeReport`: text, json, junit, markdown, github, html.

No decisions are made here: the report orders and judges, a renderer only lays out. Every renderer
takes the report and returns the whole text.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from contracts.specdiff.model import Change, Side
from contracts.specdiff.policy import IgnoreEntry, entry_dict
from contracts.specdiff.rules import RULES, Level
from contracts.specdiff.sources import git_parts
from replay.printable import one_line, printable
from replay.reporting.junit import JUnitCase, junit_document
from replay.upgrade.report import COMPARE_LEVEL, UpgradeReport
from replay.upgrade.traffic import MAX_REJECTED

__all__ = ["FORMATS", "render", "render_rules"]

_LISTED = 20  # rejected interactions shown in text; the JSON report has them all (up to MAX_REJECTED)


def _counts(report: UpgradeReport) -> Counter[str]:
    counts: Counter[str] = Counter()
    for change in report.judgement.diff.changes:
        counts["ignored" if change.ignored else str(change.level)] += 1
    return counts


def _verdict(report: UpgradeReport) -> str:
    counts = _counts(report)
    parts = [f"{counts.get(level, 0)} {level}" for level in ("ERR", "WARN", "INFO")]
    if counts.get("ignored"):
        parts.append(f"{counts['ignored']} ignored")
    return ", ".join(parts)


def _traffic_note(report: UpgradeReport, index: int, change: Change) -> str | None:
    if report.traffic is None:
        return None
    if not report.in_traffic(change.operation_id, change.old_operation_id):
        return "not in your traffic"
    hit = report.traffic.hits(index)
    if not hit.count:
        return "touches none of your recorded interactions"
    return f"{hit.count} recorded interaction(s), e.g. {', '.join(hit.examples)}"


def _shown(source: str) -> str:
    """A path under the working directory, relative to it (the shipped contract's path is absolute)."""
    if os.path.isabs(source):
        try:
            relative = os.path.relpath(source)
        except ValueError:  # another drive
            return source
        return source if relative.startswith("..") else relative
    return source


def _label(source: str, version: str) -> str:
    return f"{_shown(source)} (version {version})" if version else _shown(source)


def _at(side: Side) -> str:
    return f"{_shown(side.source)}:{side.line}" if side.line is not None else _shown(side.source)


def _sides(change: Change) -> str:
    parts = []
    if change.old is not None:
        parts.append(f"old {_at(change.old)}")
    if change.new is not None:
        parts.append(f"new {_at(change.new)}")
    return ", ".join(parts)


def _ignore_lines(expired: list[IgnoreEntry], unused: list[IgnoreEntry]) -> Iterator[str]:
    for entry in expired:
        yield f"ignore entry {entry.where} ({entry.rule}) expired on {entry.until}: no longer ignoring"
    for entry in unused:
        yield f"ignore entry {entry.where} ({entry.rule}) matches no change"


# --------------------------------------------------------------------------- text


def render_text(report: UpgradeReport) -> str:
    diff = report.judgement.diff
    lines = [
        f"talon-contracts {report.command}: {_label(diff.old_source, diff.old_version)} -> "
        f"{_label(diff.new_source, diff.new_version)}",
        f"{diff.operations} operation(s) compared: {_verdict(report)} (fail on {report.fail_on})",
    ]
    if report.traffic is not None:
        t = report.traffic
        lines.append(f"traffic: {t.interactions} recorded interaction(s) in {t.files} file(s)"
                     + (f", {t.unmatched} of no operation" if t.unmatched else ""))  # fmt: skip
    lines.append("")
    for operation, items in report.ordered():
        first = items[0][1]
        head = "(every operation)" if operation == "*" else f"{operation}  {first.method} {first.path}"
        if first.old_operation_id:
            head += f"  (was {first.old_operation_id})"
        if not report.in_traffic(operation, first.old_operation_id):
            head += "  [not in your traffic]"
        lines.append(head)
        for index, change in items:
            level = "ignored" if change.ignored else str(change.level)
            lines.append(f"  {level:<5} {change.rule_id}")
            lines.append(f"        {one_line(change.location)}: {one_line(change.message)}")
            if change.ignored:
                lines.append(f"        ignored: {one_line(change.ignored)}")
            if sides := _sides(change):
                lines.append(f"        {sides}")
            note = _traffic_note(report, index, change)
            if note and report.in_traffic(change.operation_id, change.old_operation_id):
                lines.append(f"        traffic: {note}")
        lines.append("")
    if not diff.changes:
        lines += ["no changes in the operations compared", ""]
    lines += _ignore_lines(report.judgement.expired, report.judgement.unused)
    if report.traffic is not None:
        lines += _text_rejected(report)
    if report.overlay is not None:
        lines += _text_overlay(report)
    if report.compare is not None:
        from replay.reporting.text import render_replay

        lines += [
            "",
            f"replay compare ({COMPARE_LEVEL} per finding):",
            render_replay(report.compare).rstrip(),
        ]
    lines.append("")
    lines.append(f"{report.failing} finding(s) at or above {report.fail_on}" + (
        f"; incomplete: {len(report.broken)} problem(s)" if report.broken else ""))  # fmt: skip
    for reason in report.broken[:20]:
        lines.append(f"problem: {printable(reason)}")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"  # sections end and start with a blank line


def _text_rejected(report: UpgradeReport) -> list[str]:
    assert report.traffic is not None
    t = report.traffic
    if not t.rejected_count:
        return ["", f"re-verified {t.interactions} recorded interaction(s): the new contract rejects none that the old "
                    "one accepts"]  # fmt: skip
    lines = ["", f"re-verified: {t.rejected_count} recorded interaction(s) the old contract accepts, the new one "
                 "rejects (each counts as the worst change that explains it, ERR when none does):"]  # fmt: skip
    for rejected in t.rejected[:_LISTED]:
        level = "ignored" if rejected.level is None else str(rejected.level)
        lines.append(f"  {level:<5} {rejected.interaction}: {rejected.operation_id} {rejected.method} "
                     f"{one_line(rejected.url)}")  # fmt: skip
        for violation, rule_id in zip(rejected.violations, rejected.explained_by, strict=True):
            lines.append(f"      {one_line(str(violation))}" + (f"  [{rule_id}]" if rule_id else ""))
    if t.rejected_count > _LISTED:
        lines.append(
            f"  ... and {t.rejected_count - _LISTED} more (--format json lists up to {MAX_REJECTED})"
        )
    return lines


def _text_overlay(report: UpgradeReport) -> list[str]:
    results = report.overlay or []
    status = Counter(r.status for r in results)
    lines = ["", f"our overlay ({_shown(str(report.overlay_source))}) on the new document: {len(results)} action(s), "
                 f"{status['applied']} apply, {status['redundant']} redundant, {status['unmatched']} unmatched"]  # fmt: skip
    for level, result in report.overlay_findings:
        where = _shown(str(report.overlay_source)) + (f":{result.line}" if result.line else "")
        what = ("the vendor states the same now: the action can go" if result.status == "redundant"
                else "its target selects nothing: the vendor moved or removed what it corrects")  # fmt: skip
        lines.append(f"  {level!s:<5} {result.status:<9} {where} {result.action.target}")
        lines.append(f"        {what}")
    return lines


# --------------------------------------------------------------------------- json


def _compare_dict(report: UpgradeReport) -> dict[str, Any] | None:
    if report.compare is None:
        return None
    from replay.reporting.json import summary_dict  # the replay engine loads only when a replay ran

    return summary_dict(report.compare)


def render_json(report: UpgradeReport) -> str:
    diff = report.judgement.diff
    changes = []
    for index, change in enumerate(diff.changes):
        item = change.to_dict()
        item["in_traffic"] = report.in_traffic(change.operation_id, change.old_operation_id)
        if report.traffic is not None:
            hit = report.traffic.hits(index)
            item["traffic"] = {"count": hit.count, "examples": hit.examples}
        changes.append(item)
    payload: dict[str, Any] = {
        "command": report.command,
        "old": {"source": diff.old_source, "version": diff.old_version},
        "new": {"source": diff.new_source, "version": diff.new_version},
        "operations": diff.operations,
        "fail_on": str(report.fail_on),
        "counts": dict(_counts(report)),
        "changes": changes,
        "ignore": {
            "expired": [entry_dict(e) for e in report.judgement.expired],
            "unused": [entry_dict(e) for e in report.judgement.unused],
        },
        "traffic": None,
        "overlay": None,
        "compare": _compare_dict(report),
        "warnings": report.warnings,
        "problems": report.broken,
        "findings": report.failing,
        "exit_code": report.exit_code,
    }
    if report.traffic is not None:
        t = report.traffic
        payload["traffic"] = {
            "paths": list(report.traffic_paths), "interactions": t.interactions, "files": t.files,
            "unmatched": t.unmatched, "per_operation": dict(t.per_operation), "rejected_count": t.rejected_count,
            "rejected": [
                {"interaction": r.interaction, "operation": r.operation_id, "method": r.method, "url": r.url,
                 "violations": [{**v.to_dict(), "explained_by": rule_id}
                                for v, rule_id in zip(r.violations, r.explained_by, strict=True)]}
                for r in t.rejected
            ],
        }  # fmt: skip
    if report.overlay is not None:
        payload["overlay"] = {
            "source": report.overlay_source,
            "actions": [{"pointer": r.action.pointer, "line": r.line, "target": r.action.target, "status": r.status,
                         "targets": r.targets, "changed": r.changed} for r in report.overlay],
        }  # fmt: skip
    return json.dumps(payload, indent=2, default=str, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- junit


def render_junit(report: UpgradeReport) -> str:
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in report.judgement.diff.changes:
        groups.setdefault((change.operation_id, change.rule_id), []).append(change)
    spec_cases = []
    for (operation, rule_id), changes in sorted(groups.items()):
        text = "\n".join(
            f"{c.location}: {c.message}" + (f" ({_sides(c)})" if _sides(c) else "") for c in changes
        )
        counted = [c for c in changes if not c.ignored]
        if not counted:
            spec_cases.append(
                JUnitCase(operation, rule_id, skipped=f"ignored: {changes[0].ignored}", text=text)
            )
            continue
        level = max(c.level for c in counted)
        if level >= report.fail_on:
            message = f"{level} {rule_id}: {counted[0].location}: {counted[0].message}"
            spec_cases.append(
                JUnitCase(operation, rule_id, failure=message, failure_type=str(level), text=text)
            )
        else:
            spec_cases.append(JUnitCase(operation, rule_id, text=f"{level}\n{text}"))
    suites: list[tuple[str, list[JUnitCase]]] = [("spec diff", spec_cases)]
    if report.traffic is not None:
        cases = []
        for r in report.traffic.rejected:
            text = "\n".join(f"{v}" + (f" [{rule_id}]" if rule_id else "")
                             for v, rule_id in zip(r.violations, r.explained_by, strict=True))  # fmt: skip
            name = r.interaction.split(" (line", 1)[0]
            if r.level is None:
                cases.append(
                    JUnitCase(r.operation_id or "(no operation)", name, skipped="ignored", text=text)
                )
                continue
            failure = f"the new contract rejects it: {r.violations[0]}" if r.level >= report.fail_on else None
            cases.append(JUnitCase(r.operation_id or "(no operation)", name, failure=failure,
                                   failure_type=str(r.level), text=text))  # fmt: skip
        suites.append(("traffic under the new contract", cases))
    if report.overlay is not None:
        cases = []
        for level, result in report.overlay_findings:
            message = f"{level} overlay action {result.status}: {result.action.target}"
            cases.append(JUnitCase("overlay", result.action.target, failure=message if level >= report.fail_on else None,
                                   failure_type=str(level), text=message))  # fmt: skip
        suites.append(("overlay on the new document", cases))
    if report.compare is not None:
        from replay.reporting.findings import describe

        cases = [
            JUnitCase(o.operation_id or o.method, f"{o.source}#{o.index}",
                      failure=f"{o.kind}: {describe(o).splitlines()[0] if describe(o) else o.kind}"
                      if report.fail_on <= COMPARE_LEVEL or not o.finding else None, failure_type=o.kind,
                      text=describe(o), error=not o.finding)  # a malfunction of the tool: an error, always
            for o in report.compare.findings
        ]  # fmt: skip
        suites.append(("replay compare", cases))
    return junit_document(f"talon-contracts {report.command}", suites)


# --------------------------------------------------------------------------- markdown


_MARKDOWN = re.compile(r"([\\`*_\[\]|#~])")


def _cell(text: Any) -> str:
    """Text in a table cell or a list item: shown as written, never read as markdown or HTML."""
    return _MARKDOWN.sub(r"\\\1", html.escape(one_line(str(text)), quote=False))


def _code(text: Any) -> str:
    """Text as code: an HTML code element (a markdown code span can neither escape a backtick nor a pipe)."""
    return "<code>" + html.escape(one_line(str(text))).replace("|", "&#124;") + "</code>"


def render_markdown(report: UpgradeReport) -> str:
    diff = report.judgement.diff
    lines = [
        f"### API upgrade check: {_cell(diff.old_version or diff.old_source)} → {_cell(diff.new_version or diff.new_source)}",
        "",
        f"{_verdict(report)} across {diff.operations} operation(s); fails on **{report.fail_on}**: "
        f"**{report.failing} finding(s)**"
        + (f" · traffic: {report.traffic.interactions} recorded interaction(s)" if report.traffic else ""),
        "",
    ]
    if diff.changes:
        head = "| Level | Rule | Operation | Where | Change |" + (" Your traffic |" if report.traffic else "")
        lines += [head, "|" + "---|" * (6 if report.traffic else 5)]
        for operation, items in report.ordered():
            for index, change in items:
                level = (
                    "ignored"
                    if change.ignored
                    else f"**{change.level}**"
                    if change.level >= report.fail_on
                    else str(change.level)
                )
                row = f"| {level} | `{change.rule_id}` | {_cell(operation)} | {_code(change.location)} | {_cell(change.message)} |"
                if report.traffic is not None:
                    note = _traffic_note(report, index, change) or ""
                    hits = report.hits(index)
                    row += f" {hits if hits and report.in_traffic(operation, change.old_operation_id) else _cell(note)} |"
                lines.append(row)
        lines.append("")
    else:
        lines += ["No changes in the operations compared.", ""]
    notes = list(_ignore_lines(report.judgement.expired, report.judgement.unused))
    if report.traffic is not None and report.traffic.rejected_count:
        lines += [f"**{report.traffic.rejected_count} recorded interaction(s)** the old contract accepts are rejected by "
                  "the new one:", ""]  # fmt: skip
        for r in report.traffic.rejected[:20]:
            first = r.violations[0]
            lines.append(f"- {_code(r.interaction)} {_cell(r.operation_id)}: {_cell(first)}"
                         + (f" (`{r.explained_by[0]}`)" if r.explained_by[0] else ""))  # fmt: skip
        lines.append("")
    for overlay_level, result in report.overlay_findings:
        notes.append(f"{overlay_level} overlay action {result.status}: {result.action.target}")
    if report.compare is not None:
        notes.append(
            f"replay compare: {report.compare_findings} finding(s) in {report.compare.done} interaction(s)"
        )
    if notes:
        lines += [
            "<details><summary>Notes</summary>",
            "",
            *(f"- {_cell(n)}" for n in notes),
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- github


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _file_of(side: Side | None, fallback: str) -> str:
    """The file an annotation points at: for ``REV:path`` read from git, the path."""
    source = side.source if side is not None else fallback
    parts = git_parts(source)
    return _shown(parts[1] if parts is not None else source)


def render_github(report: UpgradeReport) -> str:
    """GitHub workflow commands: one annotation per change, on the new document's line."""
    kinds = {Level.ERR: "error", Level.WARN: "warning", Level.INFO: "notice"}
    lines = []
    new_source = report.judgement.diff.new_source
    for _, items in report.ordered():
        for index, change in items:
            if change.ignored:
                continue
            side = change.new or change.old
            props = [f"file={_gh_property(_file_of(side, new_source))}"]
            if side is not None and side.line is not None and change.new is not None:
                props.append(f"line={side.line}")
            props.append(f"title={_gh_property(f'{change.rule_id} ({change.operation_id})')}")
            note = _traffic_note(report, index, change)
            message = f"{change.location}: {change.message}" + (f" [{note}]" if note else "")
            lines.append(f"::{kinds[change.level]} {','.join(props)}::{_gh_data(printable(message))}")
    if report.traffic is not None and report.traffic.rejected_count:
        lines.append(f"::error title=recorded traffic::{report.traffic.rejected_count} recorded interaction(s) "
                     "are rejected by the new contract")  # fmt: skip
    return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------- html


def render_html(report: UpgradeReport) -> str:
    diff = report.judgement.diff
    e = html.escape
    rows = []
    for operation, items in report.ordered():
        for index, change in items:
            level = "ignored" if change.ignored else str(change.level)
            note = _traffic_note(report, index, change) or ""
            rows.append(f'<tr class="{e(level)}"><td>{e(level)}</td><td><code>{e(change.rule_id)}</code></td>'
                        f"<td>{e(operation)}</td><td><code>{e(printable(change.location))}</code></td>"
                        f"<td>{e(printable(change.message))}</td><td>{e(_sides(change))}</td><td>{e(note)}</td></tr>")  # fmt: skip
    sections = [
        f"<h1>API upgrade check</h1><p>{e(diff.old_source)} ({e(diff.old_version or '?')}) &rarr; "
        f"{e(diff.new_source)} ({e(diff.new_version or '?')})</p>",
        f"<p>{e(_verdict(report))} across {diff.operations} operation(s); fail on {report.fail_on}: "
        f"<strong>{report.failing} finding(s)</strong></p>",
        "<table><thead><tr><th>Level</th><th>Rule</th><th>Operation</th><th>Where</th><th>Change</th>"
        "<th>Documents</th><th>Your traffic</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
    ]
    if report.traffic is not None and report.traffic.rejected:
        listed = "".join(
            f"<li><code>{e(r.interaction)}</code> {e(r.operation_id or '')}<ul>"
            + "".join(f"<li>{e(str(v))}{' [' + e(k) + ']' if k else ''}</li>"
                      for v, k in zip(r.violations, r.explained_by, strict=True))
            + "</ul></li>"
            for r in report.traffic.rejected
        )  # fmt: skip
        sections.append(f"<h2>Recorded interactions the new contract rejects</h2><ul>{listed}</ul>")
    if report.overlay_findings:
        listed = "".join(f"<li>{e(str(level))} {e(r.status)}: <code>{e(r.action.target)}</code></li>"
                         for level, r in report.overlay_findings)  # fmt: skip
        sections.append(f"<h2>Our overlay on the new document</h2><ul>{listed}</ul>")
    if report.compare is not None:
        from replay.reporting.findings import describe

        listed = "".join(f"<li><code>{e(o.where)}</code> {e(o.kind)}<pre>{e(describe(o))}</pre></li>"
                         for o in report.compare.findings[:200])  # fmt: skip
        sections.append(f"<h2>Replay compare</h2><p>{report.compare.done} interaction(s), "
                        f"{report.compare_findings} finding(s)</p><ul>{listed}</ul>")  # fmt: skip
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:4px;vertical-align:top;text-align:left}tr.ERR td:first-child{color:#b00;font-weight:bold}"
             "tr.WARN td:first-child{color:#a60}tr.ignored{color:#888}")  # fmt: skip
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>API upgrade check</title>'
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>\n")  # fmt: skip


FORMATS: dict[str, Callable[[UpgradeReport], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
    "github": render_github,
    "html": render_html,
}


def render(report: UpgradeReport, fmt: str) -> str:
    return FORMATS[fmt](report)


def render_rules(fmt: str = "text") -> str:
    """The rule table: id, level, what it means, why it breaks a client or not."""
    if fmt == "json":
        return json.dumps([{"id": r.id, "level": str(r.level), "meaning": r.meaning, "why": r.why,
                            "mirror": r.mirror, "no_mirror": r.no_mirror or None} for r in RULES.values()], indent=2) + "\n"  # fmt: skip
    if fmt == "markdown":
        lines = ["| Rule | Level | What changed | Why it breaks a client, or not |", "|---|---|---|---|"]
        lines += [f"| `{r.id}` | {r.level} | {_cell(r.meaning)} | {_cell(r.why)} |" for r in RULES.values()]
        return "\n".join(lines) + "\n"
    width = max(len(r.id) for r in RULES.values())
    return "\n".join(f"{r.id:<{width}}  {r.level!s:<4}  {r.meaning}: {r.why}" for r in RULES.values()) + "\n"
