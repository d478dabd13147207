"""What ``capture`` prints: the status line names only what happened, the summary how it ended."""

from __future__ import annotations

from replay.capture.recorder import CaptureStats
from replay.capture.run import CaptureOutcome
from replay.reporting.capture import banner, status_line, summary


def test_the_status_line_names_what_happened_only() -> None:
    assert (
        status_line(CaptureStats(proxied=12, recorded=10), 2_500) == "12 proxied, 10 recorded, 2.5 KB written"
    )
    busy = CaptureStats(
        proxied=1_200, recorded=900, sampled_out=250, violations=3, upstream_errors=2, refused=1
    )
    assert status_line(busy, 3_400_000) == (
        "1,200 proxied, 900 recorded, 250 sampled out, 3 violating the contract, 2 upstream errors, "
        "1 refused (a credential survived), 3.4 MB written"
    )


def test_the_summary_says_how_the_capture_ended() -> None:
    stats = CaptureStats(proxied=5, recorded=5)
    assert summary(CaptureOutcome(stats, 5, 900, 1, None, "SIGINT")).startswith(
        "capture interrupted: 5 proxied"
    )
    assert CaptureOutcome(stats, 5, 900, 1, None, "SIGINT").exit_code == 130
    assert CaptureOutcome(stats, 5, 900, 1, None, "SIGTERM").exit_code == 0
    failed = CaptureOutcome(
        stats, 2, 300, 1, "recording stopped: cannot write to out: No space left on device", "SIGTERM"
    )
    assert failed.exit_code == 2
    assert (
        "error: recording stopped: cannot write to out: No space left on device; the proxy kept forwarding"
        in summary(failed)
    )


def test_the_banner_says_where_to_point_the_shop() -> None:
    assert "http://127.0.0.1:8080 (-> https://x.talon.one)" in banner(
        ("127.0.0.1", 8080), "https://x.talon.one", "out"
    )
    assert "http://[::1]:8080" in banner(("::1", 8080), "https://x.talon.one", "out")
