"""The progress line of a replay (counts, rate, ETA on stderr) and the quick count behind its ETA."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click

from contracts.errors import TalonContractsError
from replay.engine import OUTCOMES, ReplaySummary

__all__ = ["Progress", "estimate"]


class Progress:
    """Counts, rate and ETA on stderr while the replay runs: one line rewritten on a terminal, else a line every 10 s."""

    def __init__(self, summary: ReplaySummary, enabled: bool) -> None:
        self.summary = summary
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def __enter__(self) -> Progress:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.enabled:
            self.thread.join()
            if self.tty:
                click.echo("", err=True)

    def line(self) -> str:
        summary = self.summary
        done, seconds = summary.done, max(summary.seconds, 1e-9)
        rate = done / seconds
        total = summary.estimated_total
        position = f"{done:,}" + (f"/~{total:,} ({min(100, 100 * done // max(total, 1))}%)" if total else "")
        eta = f", ETA {max(0.0, (total - done) / rate):.0f} s" if total and rate > 0 and done < total else ""
        counts = " ".join(f"{k} {summary.counts[k]}" for k in OUTCOMES if summary.counts.get(k))
        return f"replayed {position} at {rate:,.0f}/s{eta} · {counts}"

    def _loop(self) -> None:
        interval = 0.5 if self.tty else 10.0
        while not self.done.wait(interval):
            text = self.line()
            click.echo(f"\r\x1b[2K{text}" if self.tty else text, err=True, nl=not self.tty)


def _count(path: Path, markers: tuple[bytes, ...]) -> int:
    """Occurrences of ``markers`` in a file, read in chunks (bounded memory)."""
    count, tail = 0, b""
    overlap = max(len(m) for m in markers) - 1  # too short to hold a whole marker: none is counted twice
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            count += sum(data.count(m) for m in markers)
            tail = data[-overlap:]
    return count


def estimate(paths: tuple[Path, ...]) -> int | None:
    """A quick count of the interactions to replay, for the ETA (a guess: nothing is parsed)."""
    from replay.cassettes import cassette_files

    total = 0
    try:
        files = cassette_files(paths)
    except TalonContractsError:
        return None
    started = time.monotonic()
    for path in files:
        try:
            with path.open("rb") as stream:
                head = stream.read(4096).lstrip()
            if head.startswith(b"{") and b'"log"' in head:
                total += _count(path, (b'"startedDateTime"',))
            elif head.startswith((b"{", b"[")):
                total += _count(path, (b'"request"',))
            else:
                total += _count(path, (b"\n- request:", b"\n- id:"))
        except OSError:
            continue
        if time.monotonic() - started > 2:  # a guess must not cost more than the replay
            return None
    return total or None
