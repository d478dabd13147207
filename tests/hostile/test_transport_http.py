"""Hostile input: malformed answers a server may send the replay transport (issue 16).

Each case is a misbehaving server on a real loopback socket (``tests/replay/engine/misbehaving.py``)
answering every request with it. Each runs through the :class:`Transport` (a body capped at 1 MiB,
a 1 s timeout) and through a full replay of one interaction by the :class:`Replayer` (the default
64 MiB cap): no exception escapes, the outcome is an ``error`` with a one-line reason that says what
was wrong, within a time bound, and for the answers that never end, within a memory bound.
"""

from __future__ import annotations

import itertools
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.client import RetryPolicy
from contracts.spec import Contract
from replay.cassettes import write_cassette
from replay.engine import Outcome, Replayer, ReplayOptions
from replay.engine.transport import Transport
from tests.replay.engine.misbehaving import Misbehaving, reset, trickle
from tests.replay.helpers import session_exchange

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
MIB = 1024 * 1024


def _forever(piece: bytes, first: bytes = b"") -> Callable[[], Iterator[bytes]]:
    def stream() -> Iterator[bytes]:
        yield first
        yield from itertools.repeat(piece)

    return stream


def _gzip_bomb() -> bytes:
    """50 MB of zeros in about 50 KB: past the 100x expansion cap of replay.cassettes.model (made
    1 MB at a time: never 50 MB in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    return b"".join([*(packer.compress(zeros) for _ in range(50)), packer.flush()])


BOMB = _gzip_bomb()


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    answer: bytes | Callable[[], Iterable[bytes]]  # what the server sends after reading a request
    then: str = "close"  # close (FIN), reset (RST), hold (keep the connection open, silent), trickle
    error: str = ""  # what the transport's error says (empty: the transport gives the answer)
    replayed: str = ""  # what the replay's error says (default: ``error``)
    seconds: float = 1.5  # the bound on one run
    streams: bool = False  # never ends: the memory bound applies


CASES = [
    Case("bad-status-line", b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", error="not an HTTP/1.x answer"),
    Case("status-99", b"HTTP/1.1 99 Odd\r\nContent-Length: 0\r\n\r\n", error="not an HTTP/1.x answer"),
    Case("status-1000", b"HTTP/1.1 1000 Big\r\nContent-Length: 0\r\n\r\n", error="not an HTTP/1.x answer"),
    Case(
        "status-600",
        b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
        error="status 600 is not an HTTP status",
    ),
    Case(
        "header-without-colon",
        OK_HEAD + b"NoColonHere\r\nContent-Length: 0\r\n\r\n",
        error="not a header line",
    ),
    Case(
        "101-headers",
        OK_HEAD + b"".join(b"X-%d: v\r\n" % n for n in range(100)) + b"Content-Length: 0\r\n\r\n",
        error="more than 100 header lines",
    ),
    Case(
        "100-kb-header-line",
        OK_HEAD + b"X-Long: " + b"a" * 100_000 + b"\r\n\r\n",
        error="headers are longer than 65,536 bytes",
    ),
    Case(
        "headers-never-end",
        _forever(b"X-More: yes\r\n", OK_HEAD),
        error="headers are longer than 65,536 bytes",
        streams=True,
    ),
    Case("content-length-not-numeric", OK_HEAD + b"Content-Length: twelve\r\n\r\n", error="is not a length"),
    Case("content-length-negative", OK_HEAD + b"Content-Length: -1\r\n\r\n", error="'-1' is not a length"),
    Case(
        "content-length-conflicting",
        OK_HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        error="'2, 3' is not a length",
    ),
    Case(
        "content-length-longer-than-body",
        OK_HEAD + b"Content-Length: 10\r\n\r\nshort",
        error="ended after 5 of 10",
    ),
    Case(
        "content-length-huge",
        OK_HEAD + b"Content-Length: 99999999999\r\n\r\n",
        then="hold",
        error="declares 99,999,999,999 bytes",
    ),
    Case(
        "content-length-and-chunked",
        OK_HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        error="both Content-Length and Transfer-Encoding",
    ),
    Case(
        "transfer-encoding-unknown",
        OK_HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        error="is not one a replay reads",
    ),
    Case(
        "chunk-size-not-hex",
        OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        error="is not hexadecimal",
    ),
    Case(
        "chunk-size-negative",
        OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n",
        error="b'-1' is not hexadecimal",
    ),
    Case(
        "chunk-without-crlf",
        OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        error="not followed by CRLF",
    ),
    Case(
        "final-chunk-missing",
        OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
        error="closed in a chunked answer's chunk size",
    ),
    Case(
        "chunks-never-end",
        _forever(b"10000\r\n" + b"x" * 65536 + b"\r\n", OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"),
        error="the answer is longer than",
        streams=True,
    ),
    Case(
        "chunk-line-never-ends",
        _forever(b"0" * 4096, OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n1;"),
        error="chunk size line longer than 4,096 bytes",
        streams=True,
    ),
    Case(
        "trailers-never-end",
        _forever(b"X-Trailer: t\r\n", OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\n"),
        error="more than 100 trailer lines",
        streams=True,
    ),
    Case(
        "body-never-ends",
        _forever(b"x" * 65536, OK_HEAD + b"\r\n"),
        error="the answer is longer than",
        streams=True,
    ),
    Case(
        "interim-answers-for-ever",
        _forever(b"HTTP/1.1 100 Continue\r\n\r\n"),
        error="more than 16 interim",
        streams=True,
    ),
    Case(
        "switching-protocols-unasked",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        error="101 Switching Protocols, though no upgrade was asked for",
    ),
    Case(
        "nul-in-a-header", OK_HEAD + b"X-Evil: a\x00b\r\nContent-Length: 0\r\n\r\n", error="a NUL character"
    ),
    Case(
        "bare-lf-line-ends",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        error="in the middle of the answer's headers",
    ),
    Case(
        "gzip-invalid",
        OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
        replayed="does not decode as Content-Encoding 'gzip'",
    ),
    Case(
        "gzip-bomb",
        OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(BOMB) + BOMB,
        replayed="does not decode as Content-Encoding 'gzip'",
        streams=True,
    ),
    Case("http-0.9", b"<html>an answer without a status line</html>", error="not an HTTP/1.x answer"),
    Case("ssh-banner", b"SSH-2.0-OpenSSH_9.6\r\n", then="hold", error="not an HTTP/1.x answer"),
    Case("immediate-close", b"", error="the server closed the connection without answering"),
    Case("reset", b"", then="reset", error="Connection reset by peer"),
    Case("never-answers", b"", then="hold", error="no answer within 1 s", seconds=2.5),
    Case(
        "one-byte-at-a-time",
        OK_HEAD + b"Content-Length: 2\r\n\r\n{}",
        then="trickle",
        error="not complete within 1 s",
        seconds=2.5,
    ),
]


def _behaviour(case: Case) -> Callable[[socket.socket, Misbehaving], None]:
    def behaviour(conn: socket.socket, server: Misbehaving) -> None:
        while server.read_request(conn) is not None:
            if case.then == "trickle":
                assert isinstance(case.answer, bytes)
                trickle(conn, server, case.answer, 0.25, 8)
                return
            pieces = [case.answer] if isinstance(case.answer, bytes) else case.answer()
            for piece in pieces:
                if server.stopped.is_set():
                    return
                conn.sendall(piece)
            if case.then == "reset":
                reset(conn)
                return
            if case.then == "hold":
                server.stopped.wait(10)
            return  # close

    return behaviour


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[Case, Misbehaving]]:
    case: Case = request.param
    server = Misbehaving(_behaviour(case))
    yield case, server
    server.stop()


def _measured(run: Callable[[], object]) -> tuple[object, float, int]:
    """(what ``run`` returns, its seconds, the peak of memory it allocated)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = run()
        return result, time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_transport_gives_an_error_that_says_what_was_wrong(hostile: tuple[Case, Misbehaving]) -> None:
    case, server = hostile
    transport = Transport(server.url, timeout=1, retry=RetryPolicy(retries=0), max_body=MIB)
    sent, seconds, peak = _measured(lambda: transport.send("GET", "/v2/customer_sessions/s", {}, None))
    assert seconds < case.seconds, seconds
    if case.streams:
        assert peak < 16 * MIB, peak  # a 1 MiB cap: a few times it at most (buffer, chunks, the body)
    if not case.error:  # well framed: the transport gives the answer; what it holds is judged later
        assert sent.response is not None  # type: ignore[attr-defined]
        return
    error = sent.error  # type: ignore[attr-defined]
    assert sent.response is None and error is not None  # type: ignore[attr-defined]
    assert case.error in error and "\n" not in error and " _" not in error, error  # no private class names


def test_a_replay_of_one_interaction_reports_it_as_an_error(
    hostile: tuple[Case, Misbehaving], contract: Contract, tmp_path: Path
) -> None:
    case, server = hostile
    path = tmp_path / "story.jsonl"
    write_cassette(path, [session_exchange("s")], fmt="jsonl")
    outcomes: list[Outcome] = []
    options = ReplayOptions(
        target=server.url, api_key="k", timeout=1, retry=RetryPolicy(retries=0), fresh_target=True
    )
    replayer = Replayer(contract, options, outcomes.append)
    summary, seconds, peak = _measured(lambda: replayer.run([path]))
    assert seconds < case.seconds + 0.5, seconds
    if case.streams:
        assert peak < 150 * MIB, peak  # the 64 MiB cap, with room for one copy of what was read
    (outcome,) = outcomes
    reason = outcome.reason or ""
    assert outcome.kind == "error", (outcome.kind, reason)  # a finding about the target, not our malfunction
    assert (case.replayed or case.error) in reason and "\n" not in reason, reason
    assert reason.startswith(f"{server.url}: ")
    assert replayer.summary.unreadable == [] and summary is replayer.summary


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 20 and len({case.id for case in CASES}) == len(CASES)
