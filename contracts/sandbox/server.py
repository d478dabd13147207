"""A small multi-threaded HTTP/1.1 server for the sandbox, and the :class:`Sandbox` context manager.

One thread per connection does the I/O (keep-alive; one buffered write per response, headers and
body together, with TCP_NODELAY: a response written in two small writes would wait ~40 ms for
the peer's delayed ACK on every keep-alive request). The requests themselves run on a single
worker thread, one after the other: the store serialises them anyway, and handing them to one
thread avoids the convoy of many threads contending for the GIL and the store's lock (measured
with 8 clients: 840 -> 1,240 session updates/s, p99 20 -> 13 ms).

Requests are read strictly (RFC 9110/9112), as a server facing hostile input must (issue 16):
the method and header names are tokens, the target and values hold no control character, lines
end in CRLF (a bare LF is refused: it is how requests are smuggled past a lenient proxy), no
obs-fold, Content-Length is digits (duplicates must agree), Transfer-Encoding with Content-Length
is refused, chunk sizes are hex digits only, and the body cap holds for the total of the chunks
before any of them is read. A request must arrive whole within ``request_deadline`` seconds of
its first byte (a per-read timeout alone lets a client trickle a header in forever). Every
refusal is answered (400, 408, 413, 414, 431, 501, 505) and the connection closed.

Why not a WSGI server from PyPI (the app is one, see ``make_app``)? Measured with
``bench/bench_sandbox_servers.py --seconds 5`` (keep-alive session updates, 2 cores, load
average ~1.5 from other work), waitress 3.0.2 against this server: 1 client 762 vs 1,076
updates/s; 4 clients 628 (threads=4) or 910 (threads=1) vs 975; 8 clients 819 (threads=1) vs
1,080. Again later, on a busier machine (4 s each, in one run): 1 client 206 vs 171 (threads=1)
or 144 (threads=4); 8 clients 375 vs 266 or 175. waitress also has no per-request deadline (its
channel_timeout is per read: a header trickled in one byte per 0.2 s keeps a connection
forever), so it fails the slow-client case of tests/hostile/test_sandbox_http.py. This server is
kept.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..spec import Contract
from .app import SandboxApp, reason
from .seed import Seed, load_seed
from .store import Store

__all__ = ["Sandbox", "SandboxServer", "make_app"]

log = logging.getLogger("contracts.sandbox")

MAX_LINE = 16 * 1024  # a request line (414 beyond) or a header line (431 beyond)
MAX_HEAD = 64 * 1024  # all header lines together (431 beyond)
MAX_HEADERS = 100
MAX_BODY = 32 * 1024 * 1024  # the body, or the total of its chunks (413 beyond)
#: a chunk-size line (size and extensions), and all of them in one body: extension bombs are
#: refused, and a body cut in one-byte chunks costs at most this much framing to read
MAX_CHUNK_LINE = 1024
MAX_CHUNK_FRAMING = 1024 * 1024
REQUEST_DEADLINE = 30.0  # seconds from a request's first byte to its last
IDLE_TIMEOUT = 120.0  # an idle keep-alive connection is closed after this many seconds
_LINGER = 1.0  # after a refusal, what the client still sends is read (and dropped) this long

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_METHOD = re.compile(_TOKEN)
_TARGET = re.compile(rb"/[\x21-\x7e]*|https?://[\x21-\x7e]+|\*")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_FIELD = re.compile(rb"(" + _TOKEN + rb"):([\t\x20-\x7e\x80-\xff]*)")
#: all the header lines of a head at once, each ending in CRLF: one pass in C for the usual request
#: (checking line by line cost 39 us a request against 12 for the old lenient reading)
_HEADER_BLOCK = re.compile(rb"(?:" + _TOKEN + rb":[\t\x20-\x7e\x80-\xff]*\r\n)*")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_DIGITS = re.compile(r"[0-9]{1,18}")
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
_EXTENSION = rb"[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?"
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})((?:" + _EXTENSION + rb")*)[ \t]*")
_REASONS = {408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
            417: "Expectation Failed", 431: "Request Header Fields Too Large", 501: "Not Implemented",
            505: "HTTP Version Not Supported"}  # fmt: skip


class _Refused(Exception):
    """A request the server will not read further: answered ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _PeerGone(Exception):
    """The client closed the connection (or reset it) before its request was whole."""


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    version: tuple[int, int]
    headers: dict[str, str]
    body: bytes = b""


@dataclass(slots=True)
class _Reader:
    """Buffered reads from the socket, each within the current deadline (a monotonic instant)."""

    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    deadline: float = 0.0
    timeout_status: int = 408  # what running out of time is answered

    def fill(self, size: int = 65536) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Refused(self.timeout_status, "the request did not arrive in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            raise _Refused(self.timeout_status, "the request did not arrive in time") from None
        except OSError as exc:
            raise _PeerGone() from exc
        if not data:
            raise _PeerGone()
        self.buf += data

    def line(self, limit: int, status: int, what: str) -> bytes:
        """The next line without its CRLF; ``status`` if it is longer than ``limit``."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                if end == 0 or self.buf[end - 1] != 0x0D:
                    raise _Refused(400, f"a bare LF ends a line of the {what}: lines end in CRLF")
                if end - 1 > limit:
                    break
                with memoryview(self.buf) as view:
                    line = bytes(view[: end - 1])
                del self.buf[: end + 1]
                return line
            if len(self.buf) > limit + 1:
                break
            start = len(self.buf)
            self.fill()
        raise _Refused(status, f"a line of the {what} is longer than {limit:,} bytes")

    def head(self) -> bytes:
        """The request line and header lines, each ending in CRLF (the empty line is dropped)."""
        buf = self.buf
        for _ in range(4):  # RFC 9112 2.2: empty lines before a request are ignored (a few)
            while len(buf) < 2:
                self.fill()
            if buf[:2] != b"\r\n":
                break
            del buf[:2]
        start = 0
        while True:
            end = buf.find(b"\r\n\r\n", start)
            if end >= 0:
                with memoryview(buf) as view:
                    head = bytes(view[: end + 2])
                del buf[: end + 4]
                if head.count(b"\n") != head.count(b"\r\n"):
                    raise _Refused(400, "a bare LF ends a line of the head: lines end in CRLF")
                return head
            if _BARE_LF.search(buf, max(0, start - 1)):  # (answered now, not at the deadline)
                raise _Refused(400, "a bare LF ends a line of the head: lines end in CRLF")
            if len(buf) > MAX_LINE + 2 and buf.find(b"\r\n", 0, MAX_LINE + 2) < 0:
                raise _Refused(414, f"the request line is longer than {MAX_LINE:,} bytes")
            if len(buf) > MAX_LINE + MAX_HEAD + 4:
                raise _Refused(431, f"the header fields are longer than {MAX_HEAD:,} bytes together")
            start = max(0, len(buf) - 3)
            self.fill()

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill(min(max(n - len(self.buf), 65536), 1 << 20))
        with memoryview(self.buf) as view:
            data = bytes(view[:n])
        del self.buf[:n]
        return data


def _request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
    parts = line.split(b" ")
    if len(parts) != 3:
        raise _Refused(400, "malformed request line: method, target and version, one space apart")
    method, target, version = parts
    if not _METHOD.fullmatch(method):
        raise _Refused(400, "malformed request line: the method is not a token")
    if not _TARGET.fullmatch(target):
        raise _Refused(400, "malformed request line: the target is not an origin-form path")
    found = _VERSION.fullmatch(version)
    if found is None:
        raise _Refused(400, "malformed request line: the version is not HTTP/x.y")
    number = (int(found[1]), int(found[2]))
    if number not in ((1, 0), (1, 1)):
        raise _Refused(505, f"HTTP/{number[0]}.{number[1]} is not supported: HTTP/1.1 is")
    return method.decode("ascii").upper(), target.decode("ascii"), number


def _parse_head(head: bytes) -> _Request:
    line_end = head.index(b"\r\n")
    if line_end > MAX_LINE:
        raise _Refused(414, f"the request line is longer than {MAX_LINE:,} bytes")
    method, target, version = _request_line(head[:line_end])
    block = head[line_end + 2 :]
    if len(block) > MAX_HEAD:
        raise _Refused(431, f"the header fields are longer than {MAX_HEAD:,} bytes together")
    if block.count(b"\r\n") > MAX_HEADERS:
        raise _Refused(431, f"more than {MAX_HEADERS} header fields")
    if not _HEADER_BLOCK.fullmatch(block):
        for line in block.split(b"\r\n")[:-1]:
            _field(line, "header")  # raises, saying what is wrong
        raise _Refused(400, "malformed header fields")  # pragma: no cover - _field raised
    headers: dict[str, str] = {}
    for text in block.decode("latin-1").split("\r\n")[:-1]:
        if len(text) > MAX_LINE:
            raise _Refused(431, f"a header line is longer than {MAX_LINE:,} bytes")
        name, _, value = text.partition(":")
        _add(headers, name.lower(), value.strip(" \t"))
    return _Request(method, target, version, headers)


def _field(line: bytes, what: str) -> tuple[str, str]:
    """One header (or trailer) field: (lower-cased name, value without surrounding whitespace)."""
    found = _FIELD.fullmatch(line)
    if found is not None:
        return found[1].decode("ascii").lower(), found[2].strip(b" \t").decode("latin-1")
    if line[:1] in (b" ", b"\t"):
        raise _Refused(400, f"obsolete line folding in the {what}")
    name, colon, _ = line.partition(b":")
    if not colon:
        raise _Refused(400, f"a line of the {what} has no colon")
    if not _METHOD.fullmatch(name):
        raise _Refused(400, f"a field name of the {what} is not a token (no space before the colon)")
    raise _Refused(400, f"a control character in the value of {name.decode('ascii')!r}")


def _add(fields: dict[str, str], name: str, value: str) -> None:
    fields[name] = f"{fields[name]}, {value}" if name in fields else value


def _framing(headers: Mapping[str, str], version: tuple[int, int], limit: int) -> int | None:
    """The body's length, or None for a chunked body (RFC 9112 section 6)."""
    coding = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if coding is not None:
        if length is not None:
            raise _Refused(400, "both Transfer-Encoding and Content-Length: refused (request smuggling)")
        if version < (1, 1):
            raise _Refused(400, "Transfer-Encoding in an HTTP/1.0 request")
        codings = [c.strip().lower() for c in coding.split(",")]
        unknown = [c for c in codings if c != "chunked"]
        if unknown:
            raise _Refused(501, f"transfer coding {unknown[0]!r} is not implemented: only chunked is")
        if len(codings) > 1:
            raise _Refused(400, "chunked is applied more than once")
        return None
    if length is None:
        return 0
    values = {v.strip() for v in length.split(",")}
    if len(values) > 1:
        raise _Refused(400, "conflicting Content-Length values")
    value = values.pop()
    if not _DIGITS.fullmatch(value):
        raise _Refused(400, "Content-Length is not a number of digits")
    if int(value) > limit:
        raise _Refused(413, f"the body is larger than {limit:,} bytes")
    return int(value)


def _closes(request: _Request) -> bool:
    tokens = {t.strip().lower() for t in request.headers.get("connection", "").split(",")}
    return "close" in tokens or (request.version < (1, 1) and "keep-alive" not in tokens)


def _json_reply(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    payload = orjson.dumps({"message": message, "StatusCode": status})
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload


class _Connection(socketserver.BaseRequestHandler):
    server: SandboxServer
    request: socket.socket

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = _Reader(self.request)
        self.server.connections.add(self.request)

    def finish(self) -> None:
        self.server.connections.discard(self.request)

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except (_PeerGone, OSError):
            pass  # the peer went away

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, close: bool) -> None:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status) or reason(status)}"]
        head += [f"{name}: {value}" for name, value in headers]
        if close:
            head.append("Connection: close")
        self.request.settimeout(IDLE_TIMEOUT)
        self.request.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _one_request(self) -> bool:
        reader = self.reader
        if not reader.buf:  # between requests: wait for one as long as an idle connection is kept
            reader.deadline, reader.timeout_status = time.monotonic() + IDLE_TIMEOUT, 0
            try:
                reader.fill()
            except _Refused:
                return False  # idle for too long: closed without a word
        reader.deadline = time.monotonic() + self.server.request_deadline
        reader.timeout_status = 408
        try:
            request = self._read()
        except _Refused as refusal:
            log.info("refused: %d %s", refusal.status, refusal)
            self._send(*_json_reply(refusal.status, str(refusal)), True)
            self._linger()
            return False
        close = _closes(request)
        self._send(*self._answer(request), close)
        return not close

    def _answer(self, request: _Request) -> tuple[int, list[tuple[str, str]], bytes]:
        app = self.server.app
        method, target, headers, body = request.method, request.target, request.headers, request.body
        claim, refusal = app.admit(method, target, headers, body)
        try:
            return refusal or self.server.worker.submit(app.handle, method, target, headers, body).result()
        except (RuntimeError, concurrent.futures.CancelledError):  # the sandbox is stopping
            return _json_reply(503, "the sandbox is stopping")
        finally:
            app.release(claim)

    def _read(self) -> _Request:
        reader = self.reader
        request = _parse_head(reader.head())
        length = _framing(request.headers, request.version, self.server.max_body)
        expect = request.headers.get("expect", "").lower()
        if length != 0 and expect == "100-continue" and request.version >= (1, 1):
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.body = self._chunked() if length is None else reader.exactly(length) if length else b""
        return request

    def _fields(self, what: str, limit: int) -> dict[str, str]:
        fields: dict[str, str] = {}
        size = 0
        for _ in range(limit + 1):
            line = self.reader.line(MAX_LINE, 431, what)
            if not line:
                return fields
            size += len(line) + 2
            if size > MAX_HEAD:
                raise _Refused(431, f"the {what} fields are longer than {MAX_HEAD:,} bytes together")
            _add(fields, *_field(line, what))
        raise _Refused(431, f"more than {limit} {what} fields")

    def _chunked(self) -> bytes:
        reader, limit = self.reader, self.server.max_body
        body = bytearray()
        framing = 0
        while True:
            line = reader.line(MAX_CHUNK_LINE, 400, "chunked body")
            framing += len(line) + 2
            if framing > MAX_CHUNK_FRAMING:
                raise _Refused(400, f"more than {MAX_CHUNK_FRAMING:,} bytes of chunk framing")
            found = _CHUNK_SIZE.fullmatch(line)
            if found is None:
                raise _Refused(400, "malformed chunk size: hex digits, then extensions if any")
            size = int(found[1], 16)
            if size == 0:
                self._fields("trailer", MAX_HEADERS)  # read and dropped
                return bytes(body)
            if len(body) + size > limit:
                raise _Refused(413, f"the body is larger than {limit:,} bytes")
            body += reader.exactly(size)
            if reader.exactly(2) != b"\r\n":
                raise _Refused(400, "chunk data is not followed by CRLF")

    def _linger(self) -> None:
        """After a refusal, read what the client is still sending (for a while) before closing, so
        that the answer is not lost to a reset (RFC 9112 9.6); nothing read is kept."""
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_WR)
            until = time.monotonic() + _LINGER
            while (remaining := until - time.monotonic()) > 0:
                self.request.settimeout(remaining)
                if not self.request.recv(1 << 20):
                    return


class SandboxServer(socketserver.ThreadingTCPServer):
    """``request_deadline``: seconds a request may take to arrive whole, from its first byte;
    ``max_body``: the largest body read (413 beyond)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        app: SandboxApp,
        *,
        request_deadline: float = REQUEST_DEADLINE,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app = app
        self.request_deadline = request_deadline
        self.max_body = max_body
        self.worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sandbox-worker"
        )
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Connection)

    def server_close(self) -> None:
        super().server_close()
        for connection in list(self.connections):  # idle keep-alive connections end now, not at their timeout
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.worker.shutdown(wait=True, cancel_futures=True)


def make_app(
    seed: str | Path | Mapping[str, Any] | Seed | None = None,
    db: str | Path = ":memory:",
    *,
    api_key: str | None = None,
    contract: Contract | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    conflicts: str = "serialize",
) -> SandboxApp:
    """A sandbox application (WSGI) without a server: for schemathesis or any WSGI server.

    ``conflicts``: ``serialize`` (default) runs concurrent writes to one session or profile one
    after the other; ``reject`` answers the later ones 409, as the real API may.
    """
    seed_obj = seed if isinstance(seed, Seed) else load_seed(seed)
    return SandboxApp(Store(seed_obj, db, clock), contract, api_key=api_key, conflicts=conflicts)


class Sandbox:
    """A sandbox served on a loopback port in the background (``request_deadline``: see
    :class:`SandboxServer`).

    >>> with Sandbox() as sb:
    ...     client = IntegrationClient(sb.base_url, sb.api_key)
    """

    def __init__(
        self,
        seed: str | Path | Mapping[str, Any] | Seed | None = None,
        db: str | Path = ":memory:",
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        contract: Contract | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        conflicts: str = "serialize",
        request_deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.app = make_app(seed, db, api_key=api_key, contract=contract, clock=clock, conflicts=conflicts)
        self.host, self.port = host, port
        self.request_deadline = request_deadline
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_key(self) -> str:
        return self.app.api_key

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def wsgi_app(self) -> SandboxApp:
        return self.app

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; use it as a context manager or call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Sandbox:
        self._server = SandboxServer((self.host, self.port), self.app, request_deadline=self.request_deadline)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.app.store.close()

    def reset(self) -> None:
        """Forget all state and start again from the seed (the server keeps running)."""
        self.app.store.reset()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
