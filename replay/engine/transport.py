"""A small keep-alive HTTP/1.1 transport for replaying: one connection per worker, retries, no surprises.

Why hand-written: replay sends thousands of requests per second and per-request Python CPU is the
limit, not the network. On 2 cores a ``requests.Session`` manages about 1.7k requests/s and
``http.client`` on a kept-alive connection about 7.6k; this one (a request is one ``sendall``, the
answer is read into a buffer and split by hand: :class:`_Connection`) costs about a third of
``http.client`` per exchange, and lets one thread keep many stories in flight
(``replay.engine.multiplexed``). Retries follow the foundation client's :class:`RetryPolicy`
(429 and unsent requests on any method; 409/5xx on idempotent methods; ``Retry-After`` honoured).
Failures of the network (refused, reset, timeout, TLS) become an ``error`` string, never an
exception: the engine turns them into ``error`` outcomes.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, overload
from urllib.parse import quote, urlsplit

from contracts.client import RetryPolicy
from contracts.errors import TalonContractsError
from contracts.http import HttpResponse, NormalizedHeaders, normalize_headers

__all__ = ["Pending", "RateLimiter", "Sent", "Transport", "UnsafeRequest", "check_request"]


@dataclass(slots=True)
class Sent:
    """What came back for one request: a response, or the error that prevented one."""

    response: HttpResponse | None
    error: str | None = None
    elapsed: float = 0.0  # seconds, the last attempt
    attempts: int = 1


class RateLimiter:
    """A token bucket shared by all workers: at most ``rate`` requests per second, no bursts above one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = 1.0
        self.last = clock()
        self.lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                missing = (1.0 - self.tokens) / self.rate
            sleep(missing)


_URL_SAFE = "".join(chr(code) for code in range(33, 127))  # printable ASCII stays as it is; % included
#: RFC 9110 token characters: a method and header names, checked all at once (one regex per request)
_TOKENS = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _header_value(value: str) -> str:
    """Header values on the wire are bytes: text beyond Latin-1 goes as its UTF-8 bytes; no line breaks."""
    if value.isascii() and value.isprintable():  # the usual case: nothing to change
        return value
    value = value.replace("\r", " ").replace("\n", " ")
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8").decode("latin-1")


class _Disconnected(ConnectionError):
    """The server closed a kept-alive connection before answering (safe to send again once)."""


class UnsafeRequest(TalonContractsError, ValueError):
    """A request that would not be one HTTP request on the wire (a method or header name that is not
    a token): refused before a byte is written."""


def check_request(method: str, headers: dict[str, str]) -> None:
    """Raise :class:`UnsafeRequest` unless the method and every header name are RFC 9110 tokens:
    whatever made the request (cassettes are checked when read), nothing else goes on the wire, or
    one request could carry a second. One regex per request."""
    if _TOKENS.fullmatch(method + "".join(headers)) is None or not all(headers):
        names = sorted(headers)
        raise UnsafeRequest(f"refusing to send {method!r} with header names {names!r}: not RFC 9110 tokens")


class _ProtocolError(http.client.HTTPException):
    """An answer that is not HTTP/1.x."""


_NO_BODY_STATUSES = frozenset({204, 304})


class _Connection:
    """One HTTP/1.1 connection over a plain socket: a request is one ``sendall``; the answer is read
    into a buffer and split by hand. About a third of ``http.client``'s cost per exchange (which
    parses headers with the e-mail parser and builds a file object per response)."""

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock: socket.socket = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        self.buffer = bytearray()
        self.exchanges = 0  # answered exchanges: a reused connection may have been closed meanwhile

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def write(self, head: bytes, body: bytes | None) -> None:
        self.sock.sendall(head + body if body else head)
        self.exchanges += 1

    def read(self, method: str) -> tuple[int, NormalizedHeaders, bytes, bool]:
        """(status, headers, body, keep the connection)."""
        while True:
            status, headers, content, keep = self._answer(method)
            if not (100 <= status < 200) or status == 101:  # interim answers (100 Continue ...) are skipped
                return status, headers, content, keep

    def _answer(self, method: str) -> tuple[int, NormalizedHeaders, bytes, bool]:
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if not self._fill():
                if buffer:
                    raise _ProtocolError("the connection closed in the middle of the answer's headers")
                raise _Disconnected("the server closed the connection without answering")
        status_line, _, block = buffer[:end].decode("latin-1").partition("\r\n")
        del buffer[: end + 4]
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise _ProtocolError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        status = int(code)
        # built normalised (lower-case names, repeated headers joined with ", "): no second pass
        headers = NormalizedHeaders()
        for line in block.split("\r\n") if block else ():
            name, _, value = line.partition(":")
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        length: int | None = None
        declared = headers.get("content-length")
        if declared is not None:
            try:
                if "," in declared:  # repeated: it must say the same each time (RFC 9112, 6.3)
                    (length,) = {int(v) for v in declared.split(",")}
                else:
                    length = int(declared)
                if length < 0:
                    raise ValueError(length)
            except ValueError:
                raise _ProtocolError(f"Content-Length {declared!r} is not a length") from None
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        keep = version != "HTTP/1.0"
        connection = headers.get("connection")
        if connection is not None:
            connection = connection.lower()
            keep = "close" not in connection if keep else "keep-alive" in connection
        if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
            return status, headers, b"", keep
        if chunked:
            return status, headers, self._chunked(), keep
        if length is None:  # delimited by the end of the connection
            while self._fill():
                pass
            content = bytes(buffer)
            buffer.clear()
            return status, headers, content, False
        while len(buffer) < length:
            if not self._fill():
                raise _ProtocolError(f"the answer ended after {len(buffer)} of {length} bytes")
        if len(buffer) == length:  # the usual case: nothing after this answer
            content = bytes(buffer)
            buffer.clear()
        else:
            content = bytes(buffer[:length])
            del buffer[:length]
        return status, headers, content, keep

    def _chunked(self) -> bytes:
        buffer, parts = self.buffer, list[bytes]()
        while True:
            while (end := buffer.find(b"\r\n")) < 0:
                if not self._fill():
                    raise _ProtocolError("the connection closed in a chunked answer")
            text = bytes(buffer[:end]).split(b";", 1)[0].strip() or b"0"
            try:
                size = int(text, 16)
            except ValueError:
                raise _ProtocolError(f"a chunk size {text[:20]!r} is not hexadecimal") from None
            del buffer[: end + 2]
            if size == 0:
                while (end := buffer.find(b"\r\n")) != 0:  # trailers, then the empty line
                    if end < 0:
                        if not self._fill():
                            raise _ProtocolError("the connection closed in a chunked answer's trailer")
                        continue
                    del buffer[: end + 2]
                del buffer[:2]
                return b"".join(parts)
            while len(buffer) < size + 2:
                if not self._fill():
                    raise _ProtocolError("the connection closed in a chunk")
            parts.append(bytes(buffer[:size]))
            del buffer[: size + 2]


class _Outgoing(NamedTuple):
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes | None


@dataclass(slots=True)
class Pending:
    """A request written by :meth:`Transport.begin`, its answer not read yet."""

    outgoing: _Outgoing
    reused: bool  # sent on a connection that had answered before
    started: float
    failed: Exception | None  # the write failed: finish() at once
    attempt: int = 1


@dataclass(slots=True)
class Transport:
    """Sends requests to one origin over one kept-alive connection (not thread-safe: one per worker)."""

    base_url: str
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify_tls: bool = True
    _connection: _Connection | None = field(default=None, init=False, repr=False)
    _prefix: str = field(default="", init=False, repr=False)
    _host: str = field(default="", init=False, repr=False)
    _port: int = field(default=80, init=False, repr=False)
    _host_line: str = field(default="", init=False, repr=False)
    _tls: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"target {self.base_url!r} is not an http(s) URL")
        self._prefix = parts.path.rstrip("/")
        self._host = parts.hostname
        default = 443 if parts.scheme == "https" else 80
        self._port = parts.port or default
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_line = f"Host: {host}" if self._port == default else f"Host: {host}:{self._port}"
        if parts.scheme == "https":
            self._tls = ssl.create_default_context()
            if not self.verify_tls:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, outgoing: _Outgoing) -> None:
        method, target, headers, body = outgoing
        if self._connection is None:
            self._connection = _Connection(self._host, self._port, self.timeout, self._tls)
        # a recorded URL may hold raw non-ASCII characters: sent percent-encoded (UTF-8), as browsers do
        path = self._prefix + target
        if not (path.isascii() and path.isprintable() and " " not in path):  # else quote() changes nothing
            path = quote(path, safe=_URL_SAFE)
        check_request(method, headers)
        lines = [f"{method} {path} HTTP/1.1", self._host_line]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body) if body else 0}")
        text = "\r\n".join(lines)
        breaks = len(lines) - 1
        if not text.isascii() or text.count("\n") != breaks or text.count("\r") != breaks:
            # rare: a value to make fit for the wire (checked as a whole first: cheaper than each)
            lines[2 : 2 + len(headers)] = [
                f"{name}: {_header_value(value)}" for name, value in headers.items()
            ]
            text = "\r\n".join(lines)
        self._connection.write((text + "\r\n\r\n").encode("latin-1"), body)

    def _read(self, method: str) -> HttpResponse:
        connection = self._connection
        if connection is None:  # closed by a failed write: nothing to read
            raise _Disconnected("the connection is closed")
        status, received, content, keep = connection.read(method)
        if not keep:
            self.close()
        return HttpResponse(status, received, content)  # normalised as read (see _answer)

    def _once(self, outgoing: _Outgoing, meanwhile: Callable[[], None] | None) -> HttpResponse:
        self._write(outgoing)
        if meanwhile is not None:
            meanwhile()
        return self._read(outgoing.method)

    def send(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        meanwhile: Callable[[], None] | None = None,
    ) -> Sent:
        """``target``: path and query, relative to the base URL's path.

        ``meanwhile`` (which must not raise) runs once the request is written, while the server is
        working on it: the engine judges the previous answer then instead of idling. If the request
        cannot be written, it does not run here: the caller runs it (it is idempotent there).
        """
        return self._attempts(_Outgoing(method, target, headers, body), meanwhile, 1)

    # -- in two steps, for a caller that waits for many connections at once (selectors)

    def begin(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Pending:
        """Write a request; :meth:`finish` reads its answer once :attr:`socket` is readable (or at
        once when :attr:`Pending.failed` or :meth:`buffered`). Never raises for network failures."""
        return self._begin(_Outgoing(method, target, headers, body), 1)

    def _begin(self, outgoing: _Outgoing, attempt: int) -> Pending:
        reused = self._connection is not None and self._connection.exchanges > 0
        started = time.perf_counter()
        try:
            self._write(outgoing)
        except Exception as exc:  # judged by finish(), exactly as send() judges it
            return Pending(outgoing, reused, started, exc, attempt)
        return Pending(outgoing, reused, started, None, attempt)

    @property
    def socket(self) -> socket.socket | None:
        return self._connection.sock if self._connection is not None else None

    def buffered(self) -> bool:
        """Whether answer bytes were already received (then the socket may never become readable)."""
        connection = self._connection
        if connection is None:
            return False
        sock = connection.sock
        return bool(connection.buffer) or (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0)

    @overload
    def finish(self, pending: Pending, *, timed_out: bool = ..., resend: Literal[False] = ...) -> Sent: ...
    @overload
    def finish(self, pending: Pending, *, timed_out: bool = ..., resend: bool) -> Sent | Pending: ...

    def finish(self, pending: Pending, *, timed_out: bool = False, resend: bool = False) -> Sent | Pending:
        """The answer to :meth:`begin`'s request, with the retries :meth:`send` would make
        (those, with their waits, are made here, blocking). ``timed_out``: the caller waited
        ``timeout`` seconds for the socket in vain. ``resend``: a request lost with a connection
        the server had closed is written again on a new one and returned as a new Pending (to wait
        for like the first) instead of being waited for here."""

        def step() -> HttpResponse:
            if pending.failed is not None:
                raise pending.failed
            if timed_out:
                raise TimeoutError
            return self._read(pending.outgoing.method)

        result = self._attempt(pending.outgoing, pending.attempt, pending.reused, pending.started, step)
        if isinstance(result, Sent):
            return result
        if result:
            self.retry.sleep(result)
        elif resend and pending.failed is None:  # at once, on a new connection: no need to block
            again = self._begin(pending.outgoing, pending.attempt + 1)
            if again.failed is None:
                return again
            return self.finish(again)
        return self._attempts(pending.outgoing, None, pending.attempt + 1)

    # -- retries

    def _attempts(self, outgoing: _Outgoing, meanwhile: Callable[[], None] | None, attempt: int) -> Sent:
        while True:
            reused = self._connection is not None and self._connection.exchanges > 0
            step = functools.partial(self._once, outgoing, meanwhile if attempt == 1 else None)
            result = self._attempt(outgoing, attempt, reused, time.perf_counter(), step)
            if isinstance(result, Sent):
                return result
            if result:
                self.retry.sleep(result)
            attempt += 1

    def _attempt(
        self,
        outgoing: _Outgoing,
        attempt: int,
        reused: bool,
        started: float,
        step: Callable[[], HttpResponse],
    ) -> Sent | float:
        """Run one attempt's I/O (``step``): the final :class:`Sent`, or the seconds to wait before
        the next attempt (0: at once, on a new connection)."""
        method = outgoing.method
        # a connection that answered before may have been closed by the server in the meantime;
        # a request lost that way was never processed and is sent again, whatever its method
        sent_fully = False
        try:
            response = step()
            sent_fully = True
        except UnsafeRequest:
            raise  # not the target's doing: the caller's (a malfunction of one interaction)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self.close()
            response, error = None, f"cannot connect to {self.base_url}: {exc.strerror or exc}"
        except ssl.SSLError as exc:
            self.close()
            return Sent(None, f"TLS error with {self.base_url}: {exc.reason or exc}", time.perf_counter() - started,
                        attempt)  # fmt: skip
        except TimeoutError:
            self.close()
            return Sent(None, f"no answer within {self.timeout:g} s", time.perf_counter() - started, attempt)
        except (http.client.HTTPException, OSError, ValueError, UnicodeError) as exc:
            self.close()
            response, error = None, f"connection failed: {type(exc).__name__}: {exc}"
            lost = isinstance(exc, (_Disconnected, BrokenPipeError, ConnectionResetError))
            if attempt == 1 and lost and (reused or method.upper() in self.retry.idempotent_methods):
                return 0.0  # once, on a new connection
        elapsed = time.perf_counter() - started
        if response is not None:
            retryable = response.status == 429 or (
                response.status in self.retry.statuses and method.upper() in self.retry.idempotent_methods
            )
            if not retryable or attempt > self.retry.retries:
                return Sent(response, None, elapsed, attempt)
            delay = self.retry.delay(attempt, normalize_headers(response.headers).get("retry-after"))
            return (
                Sent(response, None, elapsed, attempt) if delay is None else delay
            )  # None: beyond our patience
        unsent = not sent_fully and method.upper() in self.retry.idempotent_methods
        if attempt > self.retry.retries or not unsent:
            return Sent(None, error, elapsed, attempt)
        delay = self.retry.delay(attempt)
        return Sent(None, error, elapsed, attempt) if delay is None else delay
