"""A scripted HTTP server on a real loopback socket, for client tests.

Responses are queued with :meth:`ScriptedServer.push` (a default answers when the queue is
empty) and every request is recorded. Each response is written with a single ``write`` so
that keep-alive connections do not pay Nagle + delayed-ACK stalls.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Scripted:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes -> as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"
    hang_up: bool = False  # close the connection after answering, without saying so (a keep-alive timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner._record(
            Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        reply = self.server.owner._next()
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('Status',))[0]}"]
        headers = {"Content-Length": str(len(payload)), **reply.headers}
        if payload and reply.content_type:
            headers.setdefault("Content-Type", reply.content_type)
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        if reply.hang_up:
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ScriptedServer


class ScriptedServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.default = Scripted(200, {})
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def push(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        with self._lock:
            self._queue.append(Scripted(status, body, **kwargs))

    def _next(self) -> Scripted:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)
