"""Recording on a process of its own, so that the proxy's event loop only proxies.

Recording one exchange (story, redaction, the secret check, a line) costs about 0.5 ms of Python
CPU, most of it the walk that finds personal data; on the proxy's loop it is time no other
exchange is served, and the most a core can then proxy and record is the sum of both costs. On a
process of its own, forked when the capture starts (the recorder and its contract are inherited,
not copied), it runs on the other core: the loop hands each exchange over (a pickle and a pipe
write, on a thread, ~20 us) and goes on.

If the recorder falls behind by :data:`MAX_BEHIND` exchanges, newer ones are dropped (counted,
said once) rather than held without bound: the proxy must not run out of memory for a slow disk.
What the child has done is in shared memory, read by the status line and the summary.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import pickle
import signal
import threading
from dataclasses import fields
from multiprocessing.connection import Connection
from typing import Any

from replay.capture.recorder import CaptureStats, Exchange, Recorder

__all__ = ["CHILD_COUNTS", "MAX_BEHIND", "MAX_BEHIND_BYTES", "RecordingProcess"]

log = logging.getLogger("replay.capture")

#: Exchanges handed over and not yet recorded before newer ones are dropped (~60 MB at ~3 KB each),
#: and the bytes of their bodies (one exchange may carry up to 16 MiB): whichever comes first.
MAX_BEHIND = 20_000
MAX_BEHIND_BYTES = 256 * 1024 * 1024
_BATCH_BYTES = 4 * 1024 * 1024  # a pipe message carries at most this much body (and _BATCH exchanges)
#: What the child counts (the rest of CaptureStats is the proxy's).
CHILD_COUNTS = ("recorded", "sampled_out", "violations", "refused", "malfunctions")
_WRITER = ("lines_written", "bytes_written", "segments")
_BATCH = 256  # exchanges a pipe message carries at most


def _child(recorder: Recorder, pipe: Connection, sending: Connection, counts: Any, failure: Any) -> None:
    """The recorder's loop: batches of exchanges until an empty message, then the files closed.

    Signals are the proxy's to handle (Ctrl-C reaches the whole process group): the child goes on
    until the proxy has handed over the exchanges in flight and says it is the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sending.close()  # the fork copied the proxy's end: closed, a proxy that dies (kill -9) is an EOF here
    stats, writer = recorder.stats, recorder.writer

    def publish() -> None:
        for n, name in enumerate(CHILD_COUNTS):
            counts[n] = getattr(stats, name)
        counts[len(CHILD_COUNTS)] = writer.lines_written
        counts[len(CHILD_COUNTS) + 1] = writer.bytes_written
        counts[len(CHILD_COUNTS) + 2] = len(writer.segments)
        if writer.failed is not None and not failure.value:
            failure.value = writer.failed.encode("utf-8", "replace")[: len(failure) - 1]

    try:
        while True:
            if not pipe.poll(1.0):  # quiet: a segment may have come of age all the same
                writer.tick()
                publish()
                continue
            data = pipe.recv_bytes()
            if not data:
                break
            for exchange in pickle.loads(data):
                match = recorder.contract.find(exchange.method, exchange.url)
                if match is not None:
                    recorder.safely(match, exchange)
            publish()
    except EOFError:  # the proxy went away (killed): what was handed over is written, the files closed
        pass
    finally:
        writer.close()
        publish()


class RecordingProcess:
    """Records exchanges on a forked child: :meth:`submit` from the loop, :meth:`close` at the end.

    Fork it before any thread is started (the CLI does, before the event loop): a child forked
    from a process with threads may inherit a lock another thread held."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder  # the proxy's counts stay in its stats; the child's come back shared
        context = multiprocessing.get_context("fork")
        receiving, self._sending = context.Pipe(duplex=False)
        self._counts = context.Array("q", len(CHILD_COUNTS) + len(_WRITER), lock=False)
        self._failure = context.Array("c", 1024, lock=False)
        self._process = context.Process(target=_child, name="capture-recorder", daemon=True,
                                        args=(recorder, receiving, self._sending, self._counts,
                                              self._failure))  # fmt: skip
        self._process.start()
        receiving.close()
        self._queue: collections.deque[Exchange] = collections.deque()
        self._ready = threading.Condition()
        self._closing = False
        self._queued = 0  # body bytes waiting
        self.dropped = 0
        self._thread = threading.Thread(target=self._send, name="capture-handover", daemon=True)
        self._thread.start()

    def submit(self, match: object, exchange: Exchange) -> None:
        """Hand ``exchange`` over (``match`` is found again by the child: it cannot be pickled cheaply)."""
        size = len(exchange.request_body) + len(exchange.response_body)
        with self._ready:
            if len(self._queue) >= MAX_BEHIND or self._queued + size > MAX_BEHIND_BYTES:
                self.dropped += 1
                self.recorder.once("behind", "recording falls behind the traffic: exchanges past %d (or %d MB) "
                                   "waiting are not recorded (a slow disk?)", MAX_BEHIND, MAX_BEHIND_BYTES >> 20)  # fmt: skip
                return
            self._queue.append(exchange)
            self._queued += size
            self._ready.notify()

    def _send(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                batch: list[Exchange] = []
                size = 0
                while self._queue and len(batch) < _BATCH and (not batch or size < _BATCH_BYTES):
                    exchange = self._queue.popleft()
                    batch.append(exchange)
                    size += len(exchange.request_body) + len(exchange.response_body)
                self._queued -= size
                closing = self._closing and not self._queue
            try:
                if batch:
                    self._sending.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                if closing:
                    self._sending.send_bytes(b"")
                    return
            except OSError:  # the child is gone (killed): nothing more can be recorded
                return

    def close(self, timeout: float = 60.0) -> None:
        """Hand over what is waiting, let the child record it and close the files."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
        self._sending.close()

    def tick(self) -> None:
        """(The child rotates an idle segment itself, between batches.)"""

    @property
    def failed(self) -> str | None:
        text = bytes(self._failure.value).decode("utf-8", "replace")
        return text or None

    def counts(self) -> tuple[CaptureStats, int, int, int]:
        """(the stats, the proxy's and the child's together; lines, bytes and segments written)."""
        merged = CaptureStats(**{f.name: getattr(self.recorder.stats, f.name) for f in fields(CaptureStats)})
        for n, name in enumerate(CHILD_COUNTS):
            setattr(merged, name, self._counts[n])
        merged.dropped = self.dropped
        lines, written, segments = (self._counts[len(CHILD_COUNTS) + k] for k in range(3))
        return merged, lines, written, segments
