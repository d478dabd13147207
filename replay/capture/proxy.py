"""The capture proxy: a reverse proxy in front of Talon.One that records what goes through it.

The shop points its Talon.One base URL at the proxy (plain HTTP on loopback); the proxy sends each
request upstream unchanged (TLS verified) and brings the answer back unchanged: the same status,
headers and bytes (a gzip answer stays gzip: nothing is decompressed on the way). Hop-by-hop
headers (RFC 9110, 7.6.1) are the only ones not forwarded. The exchange is then handed to the
:class:`~replay.capture.recorder.Recorder`, after the answer has gone back to the client.

Built on aiohttp's server and client: the HTTP parsing, keep-alive, chunked bodies, TLS and
connection pooling are theirs. Why aiohttp: of the asyncio stacks measured on the 2-core
development machine it is the fastest by far (its server on uvloop ~14k requests/s; httpx's
AsyncClient ~0.5k/s), it streams bodies both ways, and it is well kept. As a recording proxy
(bench/bench_capture.py): 1,012 requests/s with the upstream and the load generator on the same
two cores, where the load generator straight to the upstream makes 3,179/s. Bodies up to
:data:`MAX_RECORDED` are read whole (every Integration API body is far smaller), larger ones are
streamed through in both directions, never held, and not recorded (counted as too large).

An upstream that cannot be reached is a 502, one that does not answer in time a 504, each with a
JSON body saying so, and the exchange is recorded as such (no response, an ``error``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from contracts.model import Match
from replay.capture.recorder import Exchange, Recorder

__all__ = ["HOP_BY_HOP", "MAX_RECORDED", "CaptureProxy", "forwarded"]

log = logging.getLogger("replay.capture")

#: The largest body recorded (request or answer); larger ones are streamed through, not recorded.
MAX_RECORDED = 8 * 1024 * 1024
#: Not forwarded in either direction: the connection's own (RFC 9110, 7.6.1), and what aiohttp
#: writes itself for the bytes it sends (Host, Content-Length, Transfer-Encoding).
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
     "proxy-authenticate", "proxy-authorization", "host", "content-length"}
)  # fmt: skip
_CHUNK = 64 * 1024


def forwarded(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers to send on, and to record: all but the hop-by-hop ones and those the Connection
    header names, which belong to one connection, not to the exchange. Repeated ones stay."""
    # str(): multidict's names are a str subclass, which orjson does not take as a key
    pairs = [(str(n), str(v)) for n, v in pairs]
    named = {
        t.strip().lower() for name, value in pairs if name.lower() == "connection" for t in value.split(",")
    }
    return [(n, v) for n, v in pairs if n.lower() not in HOP_BY_HOP and n.lower() not in named]


def _problem(status: int, message: str) -> web.Response:
    body = json.dumps({"message": message, "StatusCode": status}).encode()
    return web.Response(status=status, body=body, content_type="application/json")


@dataclass(slots=True)
class CaptureProxy:
    """``target``: the upstream base URL; ``listen``: (host, port), port 0 for any free one."""

    target: str
    recorder: Recorder
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    timeout: float = 30.0  # seconds for the whole upstream exchange (504 beyond)
    ca_bundle: str | None = None
    verify_tls: bool = True
    grace: float = 10.0  # seconds the exchanges in flight get to finish when the capture stops
    #: who records an exchange once its answer has gone back: the recorder, on this loop, unless
    #: the capture records on a process of its own (``replay.capture.background``)
    handover: Callable[[Match, Exchange], None] | None = None
    address: tuple[str, int] | None = None  # where it listens, once started
    in_flight: int = 0
    _base: str = ""
    _session: aiohttp.ClientSession | None = None
    _runner: web.ServerRunner | None = None

    async def start(self) -> None:
        parts = urlsplit(self.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--target {self.target!r} is not an http(s) URL")
        self._base = self.target.rstrip("/")
        context: ssl.SSLContext | bool = True
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_bundle)
            if not self.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        connector = aiohttp.TCPConnector(limit=0, ssl=context, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # the answer's bytes go back as they came
            skip_auto_headers=(
                "User-Agent",
                "Accept",
                "Accept-Encoding",
                "Content-Type",
            ),  # only the client's
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no cookies of its own
        )
        server = web.Server(self._handle, auto_decompress=False, access_log=None)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=self.grace)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen[0], self.listen[1], backlog=1024)
        await site.start()
        sockets = [s for s in self._runner.addresses]
        self.address = (str(sockets[0][0]), int(sockets[0][1]))

    async def stop(self) -> None:
        """Stop accepting, let the exchanges in flight finish (up to ``grace`` seconds), close.

        aiohttp's own shutdown: the listener closed, idle kept-alive connections closed and busy
        ones answered no further request (a wait for the in-flight count alone let kept-alive
        clients go on sending until it ran out), then the handlers awaited."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.in_flight:
            log.warning("%d exchange(s) still in flight after %g s: cut off", self.in_flight, self.grace)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.in_flight += 1
        try:
            return await self._proxy(request)
        finally:
            self.in_flight -= 1

    async def _proxy(self, request: web.BaseRequest) -> web.StreamResponse:
        recorder, stats = self.recorder, self.recorder.stats
        started, clock = time.time(), time.perf_counter()
        url = self._base + request.raw_path
        match = recorder.wants(request.method, url)
        headers = forwarded(request.headers.items())
        stats.proxied += 1
        try:
            body, whole = await self._request_body(request)
        except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            stats.aborted += 1  # the client hung up before its request was whole: nothing sent on
            raise
        exchange = Exchange(request.method, url, headers, body if isinstance(body, bytes) else b"", started)
        if (
            not whole and request.content_length is not None
        ):  # streamed: the length goes on as the client said it
            headers = [*headers, ("Content-Length", str(request.content_length))]
        assert self._session is not None
        relayed: list[web.StreamResponse] = []  # a streamed answer, once its head has gone to the client
        try:
            async with self._session.request(
                request.method,
                URL(url, encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as upstream:  # (no body: none is invented, nor a Content-Length or Content-Type for it)
                answer_headers = forwarded(upstream.headers.items())
                declared = upstream.content_length
                if declared is not None and declared <= MAX_RECORDED:
                    content = await upstream.read()
                else:  # long, or of unknown length: streamed to the client as it comes
                    content, kept = await self._relay(request, upstream, answer_headers, relayed)
                    whole = whole and kept
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            if relayed:  # cut off half-way through a streamed answer: the client sees its connection end
                stats.upstream_errors += 1
                raise
            if not whole:  # a streamed request (past what is recorded): answered, never recorded
                stats.too_large += 1
                return _problem(*self._why(exc))
            return self._failed(match, exchange, clock, *self._why(exc))
        exchange.status, exchange.response_headers, exchange.response_body = (
            upstream.status,
            answer_headers,
            content,
        )
        exchange.elapsed = time.perf_counter() - clock
        if relayed:
            self._hand_over(match, exchange, whole)
            return relayed[0]
        sent = web.Response(status=upstream.status, reason=upstream.reason, body=content,
                            headers=CIMultiDict(answer_headers))  # fmt: skip
        try:
            await sent.prepare(request)  # the answer goes back before the exchange is recorded
            await sent.write_eof()
        finally:  # also when the client hung up before its answer: the upstream acted all the same
            self._hand_over(match, exchange, whole)
        return sent

    def _hand_over(self, match: Match | None, exchange: Exchange, whole: bool) -> None:
        if match is None:
            return
        if whole:
            (self.handover or self.recorder.safely)(match, exchange)
        else:
            self.recorder.stats.too_large += 1

    async def _request_body(self, request: web.BaseRequest) -> tuple[bytes | AsyncIterator[bytes], bool]:
        """(the body, or a stream of it when longer than MAX_RECORDED; whether it is whole)."""
        length = request.content_length
        if length is not None and length > MAX_RECORDED:
            return self._stream(request, b""), False
        parts: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_RECORDED:  # chunked, and long: what was read goes first, then the rest
                return self._stream(request, b"".join(parts)), False
        return b"".join(parts), True

    def _why(self, exc: BaseException) -> tuple[int, str]:
        """The status and message of an upstream failure: 504 for no answer in time, else 502."""
        if isinstance(exc, asyncio.TimeoutError):
            return 504, f"{self._base} did not answer within {self.timeout:g} s (capture proxy)"
        if isinstance(
            exc, (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
        ):
            return 502, f"the capture proxy could not reach {self._base}: {exc}"
        return 502, f"{self._base} sent a broken answer: {exc}"  # bad framing, cut off

    def _failed(
        self, match: object, exchange: Exchange, clock: float, status: int, message: str
    ) -> web.Response:
        stats = self.recorder.stats
        stats.upstream_errors += 1
        exchange.error, exchange.elapsed = message, time.perf_counter() - clock
        self.recorder.once(f"upstream:{status}", "%s", message)
        if match is not None:
            (self.handover or self.recorder.safely)(match, exchange)  # type: ignore[arg-type]
        return _problem(status, message)

    async def _stream(self, request: web.BaseRequest, head: bytes) -> AsyncIterator[bytes]:
        if head:
            yield head
        async for chunk in request.content.iter_chunked(_CHUNK):
            yield chunk

    async def _relay(
        self,
        request: web.BaseRequest,
        upstream: aiohttp.ClientResponse,
        headers: list[tuple[str, str]],
        relayed: list[web.StreamResponse],
    ) -> tuple[bytes, bool]:
        """Stream a long answer (or one of unknown length) to the client (its response put in
        ``relayed`` once prepared): (what is recorded, whether that is the whole answer)."""
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in headers:
            response.headers.add(name, value)
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        relayed.append(response)  # from here, a failure cannot become a 502: the status has gone
        kept: list[bytes] = []
        size = 0
        async for chunk in upstream.content.iter_chunked(_CHUNK):
            await response.write(chunk)
            size += len(chunk)
            if size <= MAX_RECORDED:
                kept.append(chunk)
        await response.write_eof()
        return (b"".join(kept), True) if size <= MAX_RECORDED else (b"", False)
