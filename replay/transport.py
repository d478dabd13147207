"""A small keep-alive HTTP/1.1 transport for replaying: one connection per worker, retries, no surprises.

Why not ``requests``: replay sends thousands of requests per second and per-request Python CPU
is the limit; ``http.client`` on a kept-alive connection costs about a quarter of a
``requests.Session`` call. Retries follow the foundation client's :class:`RetryPolicy`
(429 and unsent requests on any method; 409/5xx on idempotent methods; ``Retry-After`` honoured).
Failures of the network (refused, reset, timeout, TLS) become an ``error`` string, never an
exception: the engine turns them into ``error`` outcomes.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from contracts.client import RetryPolicy
from contracts.http import HttpResponse, normalize_headers

__all__ = ["RateLimiter", "Sent", "Transport"]


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


@dataclass(slots=True)
class Transport:
    """Sends requests to one origin over one kept-alive connection (not thread-safe: one per worker)."""

    base_url: str
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify_tls: bool = True
    _connection: http.client.HTTPConnection | None = field(default=None, init=False, repr=False)
    _prefix: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"target {self.base_url!r} is not an http(s) URL")
        self._prefix = parts.path.rstrip("/")

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            parts = urlsplit(self.base_url)
            if parts.scheme == "https":
                context = ssl.create_default_context()
                if not self.verify_tls:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self._connection = http.client.HTTPSConnection(
                    parts.hostname or "", parts.port, timeout=self.timeout, context=context
                )
            else:
                self._connection = http.client.HTTPConnection(
                    parts.hostname or "", parts.port, timeout=self.timeout
                )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _once(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> HttpResponse:
        connection = self._connect()
        connection.request(method, self._prefix + target, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        if answer.will_close:
            self.close()
        received: dict[str, list[str]] = {}
        for name, value in answer.getheaders():  # repeated headers (Set-Cookie ...) keep every value
            received.setdefault(name, []).append(value)
        return HttpResponse(answer.status, received, content)

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Sent:
        """``target``: path and query, relative to the base URL's path."""
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            sent_fully = False
            try:
                response = self._once(method, target, headers, body)
                sent_fully = True
            except (ConnectionRefusedError, socket.gaierror) as exc:
                self.close()  # http.client keeps a half-used connection otherwise ("Request-sent")
                response, error = None, f"cannot connect to {self.base_url}: {exc.strerror or exc}"
            except ssl.SSLError as exc:
                self.close()
                return Sent(
                    None,
                    f"TLS error with {self.base_url}: {exc.reason or exc}",
                    time.perf_counter() - started,
                    attempt,
                )
            except TimeoutError:
                self.close()
                return Sent(
                    None, f"no answer within {self.timeout:g} s", time.perf_counter() - started, attempt
                )
            except (http.client.HTTPException, OSError) as exc:
                # a kept-alive connection the server closed in the meantime: sent again once, on a new one
                self.close()
                response, error = None, f"connection failed: {type(exc).__name__}: {exc}"
                if attempt == 1 and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                ):
                    continue
            elapsed = time.perf_counter() - started
            if response is not None:
                retry_after = normalize_headers(response.headers).get("retry-after")
                retryable = response.status == 429 or (
                    response.status in self.retry.statuses and method.upper() in self.retry.idempotent_methods
                )
                if not retryable or attempt > self.retry.retries:
                    return Sent(response, None, elapsed, attempt)
                delay = self.retry.delay(attempt, retry_after)
                if delay is None:  # Retry-After beyond what we are willing to wait
                    return Sent(response, None, elapsed, attempt)
            else:
                unsent = not sent_fully and method.upper() in self.retry.idempotent_methods
                if attempt > self.retry.retries or not unsent:
                    return Sent(None, error, elapsed, attempt)
                delay = self.retry.delay(attempt)
                if delay is None:
                    return Sent(None, error, elapsed, attempt)
            self.retry.sleep(delay)
