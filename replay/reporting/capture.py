"""What ``talon-contracts capture`` prints: the banner, the status line and the summary."""

from __future__ import annotations

from replay.capture.recorder import CaptureStats
from replay.capture.run import CaptureOutcome

__all__ = ["banner", "status_line", "summary"]


def _size(count: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def banner(address: tuple[str, int], target: str, out: str) -> str:
    host, port = address
    shown = f"[{host}]" if ":" in host else host
    return (f"capturing: point the shop's Talon.One base URL at http://{shown}:{port} "
            f"(-> {target}), writing {out} (Ctrl-C stops)")  # fmt: skip


def status_line(stats: CaptureStats, bytes_written: int) -> str:
    parts = [f"{stats.proxied:,} proxied", f"{stats.recorded:,} recorded"]
    for count, what in (
        (stats.sampled_out, "sampled out"),
        (stats.filtered_out, "filtered out"),
        (stats.passed_through, "not Integration API"),
        (stats.violations, "violating the contract"),
        (stats.upstream_errors, "upstream errors"),
        (stats.refused, "refused (a credential survived)"),
        (stats.too_large, "too large to record"),
        (stats.aborted, "aborted by the client"),
        (stats.malfunctions, "not recorded (internal errors)"),
        (stats.dropped, "not recorded (recording fell behind)"),
    ):
        if count:
            parts.append(f"{count:,} {what}")
    parts.append(f"{_size(bytes_written)} written")
    return ", ".join(parts)


def summary(outcome: CaptureOutcome) -> str:
    how = {"SIGINT": "interrupted", "SIGTERM": "stopped (SIGTERM)"}.get(outcome.stopped_by or "", "stopped")
    lines = [f"capture {how}: {status_line(outcome.stats, outcome.bytes_written)}",
             f"{outcome.lines:,} line(s) in {outcome.segments} segment(s)"]  # fmt: skip
    if outcome.failed is not None:
        lines.append(f"error: {outcome.failed}; the proxy kept forwarding, what came after was not recorded")
    return "\n".join(lines) + "\n"
