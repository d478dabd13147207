"""A small keep-alive HTTP/1.1 transport for replaying: one connection per worker, retries, no surprises.

Why hand-written: replay sends thousands of requests per second and per-request Python CPU is the
limit, not the network. On 2 cores a ``requests.Session`` manages about 1.7k requests/s and
``http.client`` on a kept-alive connection about 7.6k; this one (a request is one ``sendall``, the
answer is read into a buffer and split by hand: ``replay.engine.http1``) costs about a third of
``http.client`` per exchange, and lets one thread keep many stories in flight
(``replay.engine.multiplexed``). Retries follow the foundation client's :class:`RetryPolicy`
(429 and unsent requests on any method; 409/5xx on idempotent methods; ``Retry-After`` honoured).
A request that may have reached the server is never sent again unless it is idempotent (RFC 9110,
9.2.2): a connection the server closed while idle is seen before a request is written on it.
Failures of the network (refused, reset, timeout, TLS) and broken answers become an ``error``
string, never an exception: the engine turns them into ``error`` outcomes.

``timeout`` is a deadline for the whole exchange, and answers are bounded (``replay.engine.http1``).
"""

from __future__ import annotations

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
from contracts.http import HttpResponse, normalize_headers
from replay.engine.http1 import MAX_BODY, Connection, Disconnected, ProtocolError
from replay.engine.outcomes import Silence

__all__ = ["Pending", "RateLimiter", "Sent", "Transport", "UnsafeRequest", "check_request"]


@dataclass(slots=True)
class Sent:
    """What came back for one request: a response, or the error that prevented one."""

    response: HttpResponse | None
    error: str | None = None
    elapsed: float = 0.0  # seconds, the last attempt
    attempts: int = 1
    silent: Silence | None = None  # no answer at all: why (see Silence)


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


class _Failure(NamedTuple):
    error: str
    silent: Silence | None = None  # the target said nothing at all (what gives up on it: StoryPlayer.emit)
    final: bool = False  # no later attempt, whatever the method
    again: bool = False  # lost with its connection: may be sent once more at once, on a new one


class _Outgoing(NamedTuple):
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes | None


@dataclass(slots=True)
class Pending:
    """A request written by :meth:`Transport.begin`, its answer not read yet."""

    outgoing: _Outgoing
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
    max_body: int = MAX_BODY  # the longest answer body read (longer: an error, the connection closed)
    _connection: Connection | None = field(default=None, init=False, repr=False)
    _written: bool = field(default=False, init=False, repr=False)  # the last attempt's request is all out
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

    def _write(self, outgoing: _Outgoing, deadline: float) -> None:
        method, target, headers, body = outgoing
        self._written = False
        connection = self._connection
        if connection is not None and connection.exchanges and connection.closed_meanwhile():
            # closed by the server while idle (a keep-alive timeout): seen before writing, so even a
            # POST goes on a new connection; written on the dead one, it could not be resent
            self.close()
            connection = None
        if connection is None:
            connection = self._connection = Connection(
                self._host, self._port, self.timeout, self._tls, self.max_body
            )
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
        connection.write((text + "\r\n\r\n").encode("latin-1"), body, deadline)
        self._written = True

    def _read(self, method: str) -> HttpResponse:
        connection = self._connection
        if connection is None:  # closed by a failed write: nothing to read
            raise Disconnected("the connection is closed")
        status, received, content, keep = connection.read(method)
        if not keep:
            self.close()
        return HttpResponse(status, received, content)  # normalised as read (see _answer)

    def _once(
        self, outgoing: _Outgoing, meanwhile: Callable[[], None] | None, started: float
    ) -> HttpResponse:
        self._write(outgoing, started + self.timeout)
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
        started = time.perf_counter()
        try:
            self._write(outgoing, started + self.timeout)
        except Exception as exc:  # judged by finish(), exactly as send() judges it
            return Pending(outgoing, started, exc, attempt)
        return Pending(outgoing, started, None, attempt)

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

        result = self._attempt(pending.outgoing, pending.attempt, pending.started, step)
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
            started = time.perf_counter()
            step = functools.partial(self._once, outgoing, meanwhile if attempt == 1 else None, started)
            result = self._attempt(outgoing, attempt, started, step)
            if isinstance(result, Sent):
                return result
            if result:
                self.retry.sleep(result)
            attempt += 1

    def _attempt(
        self,
        outgoing: _Outgoing,
        attempt: int,
        started: float,
        step: Callable[[], HttpResponse],
    ) -> Sent | float:
        """Run one attempt's I/O (``step``): the final :class:`Sent`, or the seconds to wait before
        the next attempt (0: at once, on a new connection)."""
        try:
            response = step()
        except UnsafeRequest:
            raise  # not the target's doing: the caller's (a malfunction of one interaction)
        except (http.client.HTTPException, OSError, ValueError, UnicodeError) as exc:
            method = outgoing.method.upper()
            idempotent = method in self.retry.idempotent_methods
            connection, written = self._connection, self._written
            received = connection.received if connection is not None else 0
            self.close()
            error, silent, final, again = self._failure(exc, method, written, received)
            if again and attempt == 1:
                return 0.0  # once, at once, on a new connection
            elapsed = time.perf_counter() - started
            # after a wait, only what the server cannot have acted on, or may act on twice
            if final or attempt > self.retry.retries or not (idempotent or not written):
                return Sent(None, error, elapsed, attempt, silent)
            delay = self.retry.delay(attempt)
            return Sent(None, error, elapsed, attempt, silent) if delay is None else delay
        elapsed = time.perf_counter() - started
        retryable = response.status == 429 or (
            response.status in self.retry.statuses
            and outgoing.method.upper() in self.retry.idempotent_methods
        )
        if not retryable or attempt > self.retry.retries:
            return Sent(response, None, elapsed, attempt)
        delay = self.retry.delay(attempt, normalize_headers(response.headers).get("retry-after"))
        return Sent(response, None, elapsed, attempt) if delay is None else delay  # None: beyond our patience

    def _failure(self, exc: Exception, method: str, written: bool, received: int) -> _Failure:
        """What a failed attempt says, and whether it may be made again."""
        if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
            return _Failure(f"cannot connect to {self.base_url}: {exc.strerror or exc}", "refused")
        if isinstance(exc, ssl.SSLError):
            return _Failure(f"TLS error with {self.base_url}: {exc.reason or exc}", final=True)
        if isinstance(exc, TimeoutError):  # never made again: it would wait as long again
            if received:
                error = f"the answer was not complete within {self.timeout:g} s ({received:,} bytes received)"
                return _Failure(error, "timeout", final=True)
            return _Failure(f"no answer within {self.timeout:g} s", "timeout", final=True)
        if isinstance(exc, ProtocolError):
            return _Failure(f"broken answer: {exc}")
        lost = not received and isinstance(exc, (Disconnected, BrokenPipeError, ConnectionResetError))
        if lost and written and method not in self.retry.idempotent_methods:
            # RFC 9112, 9.3.1: not resent automatically, the server may have acted on it; a
            # connection the server had closed while idle is seen before writing (closed_meanwhile)
            return _Failure("the connection closed after the request was sent, before any answer; not sent "
                            f"again: {method} is not idempotent (RFC 9110, 9.2.2) and the server may have "
                            "received it", final=True)  # fmt: skip
        # lost with a kept-alive connection the server closed as the request went out: once more on
        # a new one, when the server cannot have seen all of it (the write failed) or seeing it twice
        # changes nothing (idempotent)
        named = "" if isinstance(exc, Disconnected) else f"{type(exc).__name__}: "
        return _Failure(f"connection failed: {named}{exc}", again=lost)
