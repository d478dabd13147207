"""Hostile HTTP sent to the sandbox over a real socket (issue 16, item 7, and the sandbox half of
the HTTP corpus).

Every case: the answer (a status, or a connection closed without one), a time bound, and the
server still answering a good request afterwards. The request deadline of the server under test
is set low (``DEADLINE``) so that the slow cases take a second, not the default 30.
"""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.sandbox import Sandbox
from tests.hostile.mutations import mutated

DEADLINE = 1.0  # the server's request deadline in these tests
KEY = "sandbox-api-key"
AUTH = f"Authorization: ApiKey-v1 {KEY}\r\n"
BOUND = 2.0  # seconds: a refusal is immediate; the margin is for a loaded 2-core machine
SLOW = DEADLINE + 1.5  # what waits for the deadline


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(request_deadline=DEADLINE) as sb:
        yield sb


@pytest.fixture(scope="module")
def address(sandbox: Sandbox) -> tuple[str, int]:
    return _address(sandbox.base_url)


Address = tuple[str, int]


def _address(base_url: str) -> Address:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes
    seconds: float
    closed: bool  # the server closed the connection after its answer
    count: int  # how many answers (other than 100 Continue) came


_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9]{2}) [^\r\n]*")


def parse_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every response in ``data``, which must be nothing but well-formed responses (the last may be
    cut short only when the connection closed mid-way: it is not, here)."""
    responses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"a response without the end of its head: {data[:200]!r}"
        lines = head.split(b"\r\n")
        found = _STATUS_LINE.fullmatch(lines[0])
        assert found is not None, f"not a status line: {lines[0][:200]!r}"
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b": ")
            assert colon and re.fullmatch(rb"[A-Za-z0-9-]+", name), f"malformed header {line!r}"
            headers[name.decode().lower()] = value.decode("latin-1")
        status = int(found[1])
        length = 0 if status == 100 else int(headers["content-length"])
        assert len(rest) >= length, "a body shorter than its Content-Length"
        responses.append((status, headers, rest[:length]))
        data = rest[length:]
    return responses


def exchange(
    address: Address,
    payload: bytes | Callable[[socket.socket], None],
    bound: float,
    *,
    half_close: bool = False,
) -> Answer:
    """Send ``payload`` (or let it write to the socket), read until the server closes or ``bound``
    seconds pass (then the connection counts as open)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=bound) as sock:
        try:
            payload(sock) if callable(payload) else sock.sendall(payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before reading everything: its answer may still be there
        data, closed = b"", False
        while (left := bound - (time.monotonic() - started)) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    seconds = time.monotonic() - started
    responses = [r for r in parse_responses(data) if r[0] != 100]
    if not responses:
        return Answer(None, {}, b"", seconds, closed, 0)
    return Answer(*responses[0], seconds, closed, len(responses))


def still_serves(address: Address) -> None:
    good = f"GET /v1/customer_profiles/seed-alice/inventory?profile=true HTTP/1.1\r\nHost: x\r\n{AUTH}"
    answer = exchange(address, (good + "Connection: close\r\n\r\n").encode(), BOUND)
    assert answer.status == 200 and answer.seconds < BOUND and b"seed-alice" in answer.body


def _request(head: str, body: bytes = b"", method: str = "POST /v2/audiences HTTP/1.1") -> bytes:
    return f"{method}\r\nHost: x\r\n{AUTH}{head}".encode("latin-1") + b"\r\n" + body


def _chunked(*chunks: bytes) -> bytes:
    return _request("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", b"".join(chunks))


def _json(body: bytes, method: str) -> bytes:
    head = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    return _request(head, body, method)


NAME = b'{"name": "ex"}'  # a good body for POST /v2/audiences (14 bytes)
DEEP = b'{"attributes": {"Tags": ' + b"[" * 300 + b"]" * 300 + b"}}"
HUGE_NUMBER = b'{"attributes": {"Tags": [' + b"9" * 5000 + b"]}}"
PROFILE = "PUT /v2/customer_profiles/hostile-1 HTTP/1.1"
LONG_PATH = "GET /v2/" + "x" * 16_000 + " HTTP/1.1"
MANY_SEGMENTS = "GET " + "/a" * 8_000 + " HTTP/1.1"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    payload: bytes
    status: int | None  # None: the server closes without an answer
    bound: float = BOUND
    says: str = ""  # a part of the answer's body
    half_close: bool = False  # the client closes its side once it has sent the payload


CASES = [
    # chunked framing
    Case("chunk size -1", _chunked(b"-1\r\n" + b"x" * 4096), 400, says="chunk size"),
    Case("chunk size 0x10", _chunked(b"0x10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"), 400),
    Case("chunk size +1", _chunked(b"+1\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk size with a leading space", _chunked(b" 1\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk size of 40 hex digits", _chunked(b"F" * 40 + b"\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk size beyond the body cap", _chunked(b"7FFFFFFF\r\nxx\r\n"), 413),
    Case("chunk extension bomb in one line", _chunked(b"1" + b";a=b" * 2000 + b"\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk extensions over many chunks", _chunked(b"1;" + b"e" * 1000 + b"\r\nx\r\n") * 1100, 400),
    Case("chunk extension with a NUL", _chunked(b"1;a=\x00\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk data longer than its size", _chunked(b"2\r\nxyz\r\n0\r\n\r\n"), 400),
    Case("missing final chunk", _chunked(b"e\r\n" + NAME + b"\r\n"), 408, SLOW),
    Case("a malformed trailer", _chunked(b"e\r\n" + NAME + b"\r\n0\r\nBad Trailer: x\r\n\r\n"), 400),
    Case(
        "chunked in HTTP/1.0",
        _request("Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", "POST /v2/audiences HTTP/1.0"),
        400,
    ),
    Case("chunked twice", _request("Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    Case("gzip, chunked", _request("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    Case("an unknown transfer coding", _request("Transfer-Encoding: rot13\r\n", b"0\r\n\r\n"), 501),
    # Content-Length
    Case(
        "Content-Length and Transfer-Encoding",
        _request("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        400,
        says="smuggling",
    ),
    Case("two differing Content-Length", _request("Content-Length: 14\r\nContent-Length: 15\r\n", NAME), 400),
    Case(
        "two equal Content-Length",
        _request("Content-Length: 14\r\nContent-Length: 14\r\nConnection: close\r\n", NAME),
        201,
    ),
    Case("a negative Content-Length", _request("Content-Length: -14\r\n", NAME), 400),
    Case("Content-Length with a plus", _request("Content-Length: +14\r\n", NAME), 400),
    Case("Content-Length in hex", _request("Content-Length: 0xe\r\n", NAME), 400),
    Case("Content-Length of 200 MB", _request(f"Content-Length: {200 * 2**20}\r\n", NAME), 413),
    Case("Content-Length of 40 digits", _request("Content-Length: " + "9" * 40 + "\r\n", NAME), 400),
    Case(
        "a body shorter than Content-Length, then close",
        _request("Content-Length: 100\r\n", NAME),
        None,
        half_close=True,
    ),
    Case(
        "a body shorter than Content-Length, kept open", _request("Content-Length: 100\r\n", NAME), 408, SLOW
    ),
    # header grammar and sizes
    Case("obs-fold", _request("X-Folded: a\r\n  b\r\n"), 400, says="folding"),
    Case("a space in a header name", _request("Bad Name: x\r\n"), 400),
    Case("a space before the colon", _request("Content-Type : application/json\r\n"), 400),
    Case("a header line without a colon", _request("NoColon\r\n"), 400),
    Case("a NUL in a header value", _request("X-Nul: a\x00b\r\n"), 400, says="control character"),
    Case("a bare CR in a header value", _request("X-Cr: a\rb\r\n"), 400),
    Case(
        "101 headers", _request("".join(f"X-H{i}: v\r\n" for i in range(99))), 431
    ),  # and Host, Authorization
    Case("a 17 KB header line", _request("X-Big: " + "v" * 17_000 + "\r\n"), 431),
    Case("headers of 80 KB together", _request("".join(f"X-{i}: {'v' * 15_000}\r\n" for i in range(6))), 431),
    # request line
    Case("a 17 KB request line", f"GET /{'x' * 17_000} HTTP/1.1\r\n\r\n".encode(), 414),
    Case("bad method characters", b"GE(T / HTTP/1.1\r\n\r\n", 400, says="method"),
    Case("HTTP/2.0", b"GET / HTTP/2.0\r\n\r\n", 505),
    Case("a garbage version", b"GET / HTTP/1.1x\r\n\r\n", 400),
    Case("a lower-case version", b"GET / http/1.1\r\n\r\n", 400),
    Case("two spaces in the request line", b"GET  / HTTP/1.1\r\n\r\n", 400),
    Case("a target not starting with /", b"GET x HTTP/1.1\r\n\r\n", 400),
    Case("a non-ASCII target", "GET /v2/caf\u00e9 HTTP/1.1\r\n\r\n".encode(), 400),
    Case("bare LF lines", f"GET / HTTP/1.1\nHost: x\n{AUTH.strip()}\n\n".encode(), 400, says="bare LF"),
    Case("many empty lines before a request", b"\r\n" * 50 + b"GET / HTTP/1.1\r\n\r\n", 400),
    Case("random bytes with a CRLF", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    # what the application reads
    Case("nested JSON 300 deep in a profile attribute", _json(DEEP, PROFILE), 400, says="deeper than 64"),
    Case("a 5,000-digit integer in a body", _json(HUGE_NUMBER, PROFILE), 400),
    Case(
        "an unauthenticated 16 KB unmatched path",
        f"{LONG_PATH}\r\nConnection: close\r\n\r\n".encode(),
        404,
        BOUND,
    ),
    Case(
        "an unauthenticated path of 8,000 segments",
        f"{MANY_SEGMENTS}\r\nConnection: close\r\n\r\n".encode(),
        404,
        BOUND,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request(address: Address, case: Case) -> None:
    answer = exchange(address, case.payload, case.bound, half_close=case.half_close)
    assert answer.status == case.status, (answer.status, answer.body[:300])
    assert answer.count <= 1
    assert answer.seconds < case.bound
    assert answer.closed, "the connection is closed after the answer"
    assert case.says.encode() in answer.body
    still_serves(address)


def test_a_header_trickled_in_is_cut_off_at_the_deadline(address: Address) -> None:
    def slowloris(sock: socket.socket) -> None:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        for _ in range(int(10 / 0.2)):  # 10 s if nothing stops it
            if select.select([sock], [], [], 0.2)[0]:
                return  # the server answered
            sock.sendall(b"a")  # a byte well within any per-read timeout; the request never ends

    answer = exchange(address, slowloris, 10)
    assert answer.status == 408 and answer.closed
    assert DEADLINE <= answer.seconds < DEADLINE + 0.8
    still_serves(address)


def test_pipelined_requests_after_a_stray_empty_line(address: Address) -> None:
    good = f"GET /v2/customer_sessions/none HTTP/1.1\r\nHost: x\r\n{AUTH}"
    payload = f"\r\n{good}\r\n{good}Connection: close\r\n\r\n".encode()
    answer = exchange(address, payload, BOUND)
    assert answer.status == 404 and answer.count == 2 and answer.closed and answer.seconds < BOUND


# -- the whole stream is never buffered: resident memory of a sandbox in a process of its own

_SERVER = """
import sys
from contracts.sandbox import Sandbox
with Sandbox(request_deadline=10.0) as sb:
    print(sb.base_url, flush=True)
    sys.stdin.read()
"""


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")  # pragma: no cover


def _stream(head: bytes, total: int, chunk: bytes) -> Callable[[socket.socket], None]:
    def send(sock: socket.socket) -> None:
        sock.sendall(head)
        for _ in range(total // len(chunk)):
            sock.sendall(chunk)

    return send


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("framing", ["size -1", "1 MB chunks"])
def test_200_mb_sent_is_not_200_mb_resident(framing: str) -> None:
    process = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert process.stdout is not None
        remote = _address(process.stdout.readline().strip())
        still_serves(remote)
        before = _peak_mb(process.pid)
        mb = 2**20
        if framing == "size -1":
            payload = _stream(_chunked(b"-1\r\n"), 200 * mb, b"x" * mb)
        else:
            payload = _stream(_chunked(), 200 * mb, b"%x\r\n" % mb + b"x" * mb + b"\r\n")
        answer = exchange(remote, payload, 15.0)
        assert answer.status == (400 if framing == "size -1" else 413)
        assert answer.seconds < 15.0
        assert _peak_mb(process.pid) - before < 100, "MB of growth"
        still_serves(remote)
    finally:
        process.kill()
        process.wait()


# -- anything at all: a well-formed answer or a closed connection, in time, and the server lives on

_TEMPLATES = [
    f"GET /v1/customer_profiles/seed-alice/inventory?profile=true HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode(),
    _json(NAME, "POST /v2/audiences HTTP/1.1"),
    _chunked(b"e\r\n" + NAME + b"\r\n0\r\n\r\n"),
]


@given(st.binary(max_size=400) | mutated(_TEMPLATES))
def test_anything_gets_a_well_formed_answer_or_a_close(address: Address, payload: bytes) -> None:
    # the client stops writing: what is not a whole request ends with the connection, not the deadline
    answer = exchange(address, payload, SLOW, half_close=True)  # (it parses every answer)
    assert answer.closed and answer.seconds < SLOW
    assert answer.status is None or 200 <= answer.status < 600
    still_serves(address)
