"""A capture from start to end: the proxy served until a signal, then every exchange in flight
finished, files flushed and closed; the outcome for the renderer (``replay.reporting.capture``).

SIGINT (Ctrl-C) and SIGTERM both end a capture gracefully: stop accepting connections, let the
exchanges in flight finish and be recorded, close the files (compressing the last segment if
asked). SIGINT exits 130, as every command interrupted does; SIGTERM exits 0, because that is how
a service manager or a container runtime stops a long-running proxy, and a capture that ended
that way is complete. A disk that fills up stops the recording but not the proxying: the shop
keeps working, the failure is said at once and again at the end, and the exit code is 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from replay.capture.proxy import CaptureProxy
from replay.capture.recorder import CaptureStats

__all__ = ["CaptureOutcome", "Recording", "new_loop", "serve"]


@dataclass(slots=True)
class CaptureOutcome:
    stats: CaptureStats
    lines: int
    bytes_written: int
    segments: int
    failed: str | None  # why recording stopped early
    stopped_by: str | None  # "SIGINT", "SIGTERM" or None

    @property
    def exit_code(self) -> int:
        if self.failed is not None:
            return 2
        return 130 if self.stopped_by == "SIGINT" else 0


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (``pip install talon-contracts[fast]``), else asyncio's
    (also when ``TALON_CONTRACTS_NO_UVLOOP`` is set: bench/bench_capture.py compares the two)."""
    if os.environ.get("TALON_CONTRACTS_NO_UVLOOP"):
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Recording(Protocol):
    """Where exchanges are recorded: the :class:`~replay.capture.recorder.Recorder` itself (on the
    proxy's loop), or a :class:`~replay.capture.background.RecordingProcess`."""

    @property
    def failed(self) -> str | None: ...

    def close(self) -> None: ...

    def tick(self) -> None: ...

    def counts(self) -> tuple[CaptureStats, int, int, int]: ...


async def serve(
    proxy: CaptureProxy,
    recording: Recording,
    *,
    on_start: Callable[[tuple[str, int]], None] | None = None,
    on_tick: Callable[[], None] | None = None,
    on_failure: Callable[[str], None] | None = None,
    tick: float = 1.0,
    stop: asyncio.Event | None = None,
) -> CaptureOutcome:
    """Serve until ``stop`` is set (SIGINT or SIGTERM set it), then end gracefully."""
    stop = stop or asyncio.Event()
    stopped_by: list[str] = []
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:
        stopped_by.append(signal.Signals(signum).name)
        stop.set()

    installed: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(signum, stopping, signum)
            installed.append(signum)
    await proxy.start()
    said_failure = False
    try:
        if on_start is not None and proxy.address is not None:
            on_start(proxy.address)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
            failed = recording.failed
            if failed is not None and not said_failure and on_failure is not None:
                said_failure = True
                on_failure(failed)
            recording.tick()  # a segment may come of age while nothing is written
            if on_tick is not None:
                on_tick()
    finally:
        await proxy.stop()
        await loop.run_in_executor(None, recording.close)  # (compressing the last segment takes a while)
        for number in installed:
            loop.remove_signal_handler(number)
    stats, lines, written, segments = recording.counts()
    return CaptureOutcome(
        stats, lines, written, segments, recording.failed, stopped_by[0] if stopped_by else None
    )
