"""A capture proxy served on a thread of its own, for tests that talk to it over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import load_contract
from replay.capture import CaptureProxy, CaptureWriter, Recorder, Rotation, Sampler, Stories
from replay.capture.run import CaptureOutcome, new_loop, serve
from replay.recording.redaction import Redactor


@dataclass(slots=True)
class Running:
    url: str
    recorder: Recorder
    writer: CaptureWriter
    outcome: CaptureOutcome | None = None


@contextlib.contextmanager
def capturing(
    target: str, out: Path, *, rotation: Rotation | None = None, compress: bool = False,
    share: float = 1.0, key: bytes | None = None, **options: Any,
) -> Iterator[Running]:  # fmt: skip
    """The proxy in front of ``target``, writing to ``out``; stopped (gracefully) on leaving."""
    key = key or secrets.token_bytes(16)
    writer = CaptureWriter(out, rotation or Rotation(), compress)
    writer.check()
    timeout = options.pop("timeout", 30.0)
    ca_bundle = options.pop("ca_bundle", None)
    recorder = Recorder(load_contract(), writer, Redactor(salt=key), Stories(key), Sampler(share), **options)
    proxy = CaptureProxy(target, recorder, ("127.0.0.1", 0), timeout, ca_bundle)
    loop = new_loop()
    started = threading.Event()
    stop: list[asyncio.Event] = []
    running = Running("", recorder, writer)
    failure: list[BaseException] = []

    async def main() -> CaptureOutcome:
        stop.append(asyncio.Event())
        return await serve(proxy, recorder, stop=stop[0], tick=0.05,
                           on_start=lambda where: started.set())  # fmt: skip

    def run() -> None:
        try:
            running.outcome = loop.run_until_complete(main())
        except BaseException as exc:  # shown by the test that waits for it
            failure.append(exc)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the proxy did not start"
    if failure:
        raise failure[0]
    assert proxy.address is not None
    running.url = f"http://{proxy.address[0]}:{proxy.address[1]}"
    try:
        yield running
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        assert not thread.is_alive(), "the proxy did not stop"
        if failure:
            raise failure[0]
