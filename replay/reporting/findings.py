"""What a finding (or a malfunction) says: the lines that explain it, and the command that reproduces it.

Every report and the terminal summary take these, so a finding reads the same everywhere; the
credential is always ``$TALON_API_KEY``, never its value.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from contracts.errors import short_text
from contracts.http import normalize_headers
from replay.cassettes.model import body_text as as_text
from replay.talon.policies import authorization

if TYPE_CHECKING:
    from replay.engine import Outcome, ReplaySummary

__all__ = ["MALFUNCTION_NOTE", "body_text", "curl_command", "describe", "labels", "where"]

#: What a malfunction is, wherever one is shown.
MALFUNCTION_NOTE = (
    "a bug of talon-contracts, not a finding about the API: please report it (with this message)"
)


def curl_command(outcome: Outcome) -> str | None:
    """A shell command that sends the request again (the key taken from ``$TALON_API_KEY``)."""
    request = outcome.request
    if request is None:
        return None
    parts = ["curl", "-sS", "-X", request.method, shlex.quote(request.url)]
    for name, value in normalize_headers(request.headers).items():
        if name == "authorization":
            key = "invalid-key" if value.endswith("-OTHER") else "$TALON_API_KEY"
            parts += ["-H", f'"Authorization: {authorization(key)}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)


def body_text(body: bytes | str | None, limit: int | None = None) -> str:
    """A recorded or live body as text (undecodable bytes replaced), cut at ``limit`` characters."""
    text = as_text(body)
    return text if limit is None or len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def describe(outcome: Outcome, limit: int = 40) -> str:
    """The lines that explain a finding: what differed, what broke the contract, how to reproduce it."""
    lines: list[str] = []
    if outcome.kind == "error":
        lines.append(f"no answer: {outcome.reason}")
    elif outcome.kind == "malfunction":
        lines.append(f"{MALFUNCTION_NOTE}: {outcome.reason}")
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
    lines = [short_text(line, LONGEST_LINE) for line in lines]
    command = curl_command(outcome)
    if command and len(command) > LONGEST_LINE:  # cut, it would not reproduce anything
        lines.append(f"reproduce: a curl command of {len(command):,} characters, too long to print")
    elif command:
        lines.append(f"reproduce: {command}")
    return "\n".join(lines) or outcome.kind


#: No line of an explanation is longer: a recorded 1 MB URL or value is not echoed whole.
LONGEST_LINE = 2000


def labels(outcome: Outcome) -> tuple[str, str]:
    """What the two sides of a difference are: the recording and the live answer, or in compare mode
    the baseline's answer and the candidate's."""
    return ("baseline", "candidate") if outcome.compared else ("recorded", "live")


def where(summary: ReplaySummary) -> str:
    """``against TARGET``, or in compare mode ``baseline TARGET vs candidate CANDIDATE``."""
    if summary.candidate is not None:
        return f"baseline {summary.target} vs candidate {summary.candidate}"
    return f"against {summary.target}"
