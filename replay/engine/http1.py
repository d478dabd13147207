"""One HTTP/1.1 client connection over a plain socket, read by hand and held to bounds.

Why by hand: a request is one ``sendall`` and the answer is read into a buffer and split here,
about a third of ``http.client``'s cost per exchange (which parses headers with the e-mail parser
and builds a file object per response); per-request CPU is what limits a replay.

A misbehaving server is held to bounds: each exchange has a deadline (the transport's timeout,
for the write and the whole answer: a server sending a byte a second cannot keep a request
alive), and an answer is read up to :data:`MAX_BODY` bytes of body and :data:`MAX_HEAD` bytes of
headers, framed strictly (RFC 9112: one Content-Length, hexadecimal chunk sizes, no
Transfer-Encoding beside a length); past them it is a :class:`ProtocolError` and the connection
is closed (``tests/hostile/test_transport_http.py`` holds the cases). Retries and what an error
means are the transport's (``replay.engine.transport``).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import socket
import ssl
import time

from contracts.http import NormalizedHeaders
from replay.cassettes.model import MAX_DECODED_BODY

__all__ = [
    "MAX_BODY", "MAX_CHUNK_LINE", "MAX_HEAD", "MAX_HEADERS", "MAX_INTERIM", "Connection", "Disconnected",
    "ProtocolError",
]  # fmt: skip

#: What an answer may hold; beyond it the answer is an error and its connection is closed, so that
#: a server that never ends an answer (a body without a length, chunks for ever) cannot exhaust
#: memory. A body: 64 MiB, the cap on a cassette's decoded body (no Integration API answer comes
#: near it; before it, a never-ending answer was buffered to 2.9 GB). The status line and headers
#: together: 64 KiB, and 100 lines (``http.client``'s limits: 65,536 bytes a line, 100 headers).
MAX_BODY = MAX_DECODED_BODY
MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_INTERIM = 16  # 1xx answers before the final one (a server may send 100 Continue, 103 Early Hints)
MAX_CHUNK_LINE = 4096  # a chunk-size line with its extensions, or a trailer line


class Disconnected(ConnectionError):
    """The server closed a kept-alive connection before answering (safe to send again once)."""


class ProtocolError(http.client.HTTPException):
    """An answer that is not HTTP/1.x."""


_NO_BODY_STATUSES = frozenset({204, 304})
_clock = time.perf_counter  # the deadlines' clock (as Pending.started), looked up once
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")  # a chunk size (16 digits: 2**64, far past MAX_BODY)


class Connection:
    """One HTTP/1.1 connection over a plain socket (see the module's docstring for why by hand).

    Each exchange has a deadline (:attr:`deadline`, set by the transport when it starts): every
    write and read waits at most what is left of it, so a server sending a byte at a time cannot
    keep one request alive for ever. Once it has passed, only what has already arrived is read."""

    def __init__(
        self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None, max_body: int
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock: socket.socket = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        self.buffer = bytearray()
        self.exchanges = 0  # requests written: a reused connection may have been closed meanwhile
        self.max_body = max_body
        self.deadline = 0.0  # perf_counter() time by which this exchange must be over
        self.waits = timeout  # the socket's timeout now (a syscall to change: changed only when it matters)
        # a socket timeout up to this much longer than what is left of the deadline is kept as it is:
        # an exchange that ends within it (almost all) costs no settimeout call at all
        self.slack = min(0.1, timeout / 10)
        self.received = 0  # bytes received in this exchange (what a timeout message tells)
        self.tls = tls is not None
        self.idle = select.poll()  # was it closed while idle? (0.7 us a look; select.select: 3 us)
        self.idle.register(self.sock, select.POLLIN)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def closed_meanwhile(self) -> bool:
        """Readable between exchanges: the server closed it (or said something unasked): not reused."""
        return bool(self.buffer or self.idle.poll(0) or (self.tls and self.sock.pending()))  # type: ignore[attr-defined]

    def _shorten(self, left: float) -> None:
        """The socket's timeout made what is left of the exchange's deadline (0, no wait, once passed)."""
        left = max(left, 0.0)
        self.sock.settimeout(left)
        self.waits = left

    def _fill(self) -> bool:
        left = self.deadline - _clock()
        if not left <= self.waits <= left + self.slack:
            self._shorten(left)
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):  # the deadline has passed and nothing is there
            raise TimeoutError from None
        if not chunk:
            return False
        self.received += len(chunk)
        self.buffer += chunk
        return True

    def write(self, head: bytes, body: bytes | None, deadline: float) -> None:
        self.deadline = deadline
        self.received = 0
        left = deadline - _clock()
        if not left <= self.waits <= left + self.slack:
            self._shorten(left)
            if not self.waits:  # nothing left of the deadline (a slow connect): not a byte written
                raise TimeoutError
        self.sock.sendall(head + body if body else head)
        self.exchanges += 1

    def read(self, method: str) -> tuple[int, NormalizedHeaders, bytes, bool]:
        """(status, headers, body, keep the connection)."""
        for _ in range(MAX_INTERIM + 1):
            status, headers, content, keep = self._answer(method)
            if not 100 <= status < 200:
                return status, headers, content, keep
            if status == 101:  # never asked for (no Upgrade is sent): what follows is not HTTP
                raise ProtocolError("101 Switching Protocols, though no upgrade was asked for")
        raise ProtocolError(f"more than {MAX_INTERIM} interim (1xx) answers before a final one")

    def _rest_of_head(self) -> int:
        """Where the head ends, once read (the buffer holds the start of it), within MAX_HEAD."""
        buffer, start = self.buffer, 0
        while (end := buffer.find(b"\r\n\r\n", start)) < 0:
            start = max(len(buffer) - 3, 0)  # the next look starts where this one stopped: linear
            if not buffer.startswith(b"HTTP/1."[: len(buffer)]):
                raise ProtocolError(f"not an HTTP/1.x answer: {bytes(buffer[:40])!r}")
            if len(buffer) > MAX_HEAD:
                break
            if not self._fill():
                raise ProtocolError("the connection closed in the middle of the answer's headers")
        if end < 0 or end > MAX_HEAD:
            raise ProtocolError(f"the answer's headers are longer than {MAX_HEAD:,} bytes")
        return end

    # split in three (head, fields, framing), it cost 1.5 us more per exchange in a loop of 20,000
    # long: one function for the usual answer, as before the bounds (split, 2% of a replay's time)
    def _answer(self, method: str) -> tuple[int, NormalizedHeaders, bytes, bool]:
        buffer = self.buffer
        if not buffer and not self._fill():
            raise Disconnected("the server closed the connection without answering")
        end = buffer.find(b"\r\n\r\n")
        if end < 0 or end > MAX_HEAD:  # the usual answer comes in one read: checked only when not
            end = self._rest_of_head()
        status_line, _, block = buffer[:end].decode("latin-1").partition("\r\n")
        del buffer[: end + 4]
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not (
            version.startswith("HTTP/1.") and code.isdigit() and code.isascii() and rest[3:4] in ("", " ")
        ):
            raise ProtocolError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        status = int(code)
        if not 100 <= status <= 599:
            raise ProtocolError(f"status {code} is not an HTTP status (100 to 599)")
        # built normalised (lower-case names, repeated headers joined with ", "): no second pass
        headers = NormalizedHeaders()
        if block:
            if "\x00" in block:
                raise ProtocolError("a NUL character in the answer's headers")
            lines = block.split("\r\n")
            if len(lines) > MAX_HEADERS:
                raise ProtocolError(f"more than {MAX_HEADERS} header lines in the answer")
            for line in lines:
                name, colon, value = line.partition(":")
                if not colon:  # (a folded line, obsolete, has none either)
                    raise ProtocolError(f"not a header line: {line[:60]!r}")
                name = name.lower()
                value = value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        declared = headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and len(declared) < 19
            and "transfer-encoding" not in headers
        ):
            length: int | None = int(declared)  # the usual framing, at the cost of three checks
            chunked = False
        else:
            length, chunked = framing(headers)
        keep = version != "HTTP/1.0"
        connection = headers.get("connection")
        if connection is not None:
            connection = connection.lower()
            keep = "close" not in connection if keep else "keep-alive" in connection
        if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
            return status, headers, b"", keep
        if chunked:
            return status, headers, self._chunked(), keep
        buffer, most = self.buffer, self.max_body
        if length is None:  # delimited by the end of the connection
            while self._fill():
                if len(buffer) > most:
                    raise ProtocolError(f"the answer is longer than {most:,} bytes (a replay reads no more)")
            content = bytes(buffer)
            buffer.clear()
            return status, headers, content, False
        if length > most:
            raise ProtocolError(
                f"the answer declares {length:,} bytes, more than the {most:,} bytes a replay reads"
            )
        while len(buffer) < length:
            if not self._fill():
                raise ProtocolError(f"the answer ended after {len(buffer)} of {length} bytes")
        if len(buffer) == length:  # the usual case: nothing after this answer
            content = bytes(buffer)
            buffer.clear()
        else:
            content = bytes(buffer[:length])
            del buffer[:length]
        return status, headers, content, keep

    def _line(self, what: str) -> bytes:
        """The next CRLF-terminated line of a chunked answer (a chunk size, a trailer), CRLF removed."""
        buffer = self.buffer
        while (end := buffer.find(b"\r\n")) < 0:
            if len(buffer) > MAX_CHUNK_LINE:
                raise ProtocolError(f"a {what} line longer than {MAX_CHUNK_LINE:,} bytes in a chunked answer")
            if not self._fill():
                raise ProtocolError(f"the connection closed in a chunked answer's {what}")
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        return line

    def _chunked(self) -> bytes:
        buffer, parts, total = self.buffer, list[bytes](), 0
        while True:
            text = self._line("chunk size").split(b";", 1)[0].strip()
            if _HEX.fullmatch(text) is None:  # int(x, 16) takes "-1", "0x1f", "1_0"
                raise ProtocolError(f"a chunk size {text[:20]!r} is not hexadecimal")
            size = int(text, 16)
            if size == 0:
                for _ in range(MAX_HEADERS + 1):  # trailers, then the empty line
                    if not self._line("trailer"):
                        return b"".join(parts)
                raise ProtocolError(f"more than {MAX_HEADERS} trailer lines in a chunked answer")
            total += size
            if total > self.max_body:
                raise ProtocolError(
                    f"the answer is longer than {self.max_body:,} bytes (a replay reads no more)"
                )
            while len(buffer) < size + 2:
                if not self._fill():
                    raise ProtocolError("the connection closed in a chunk")
            if buffer[size : size + 2] != b"\r\n":
                raise ProtocolError(f"a chunk of {size} bytes is not followed by CRLF")
            parts.append(bytes(buffer[:size]))
            del buffer[: size + 2]


def framing(headers: NormalizedHeaders) -> tuple[int | None, bool]:
    """(Content-Length, chunked) of an answer, or why its framing cannot be trusted."""
    length: int | None = None
    declared = headers.get("content-length")
    encoding = headers.get("transfer-encoding")
    if encoding is not None:
        if declared is not None:  # RFC 9112, 6.1: "ought to be handled as an error" (response splitting)
            raise ProtocolError("the answer has both Content-Length and Transfer-Encoding")
        if encoding.strip().lower() != "chunked":
            raise ProtocolError(f"Transfer-Encoding {encoding[:40]!r} is not one a replay reads (chunked)")
        return None, True
    if declared is not None:
        # repeated (lines or a list), it must say the same each time (RFC 9112, 6.3); digits only:
        # int() also takes "+1", "-1" and "1_000"
        values = {v.strip() for v in declared.split(",")} if "," in declared else {declared}
        if len(values) != 1 or not all(v.isdigit() and v.isascii() and len(v) < 20 for v in values):
            raise ProtocolError(f"Content-Length {declared[:40]!r} is not a length")
        length = int(values.pop())
    return length, False
