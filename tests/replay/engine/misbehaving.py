"""A misbehaving HTTP server on a real loopback socket, for the transport's hostile-input tests.

Each accepted connection is handed to a function of the test's (a :data:`Behaviour`), on a thread
of its own; :meth:`Misbehaving.read_request` reads one request off it (and counts it), so a test
can tell how many requests reached the server. :meth:`Misbehaving.stop` closes every connection,
so that a behaviour streaming for ever ends too (its next write fails).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable

__all__ = ["Behaviour", "Misbehaving", "answering", "reset", "trickle"]

Behaviour = Callable[[socket.socket, "Misbehaving"], None]


class Misbehaving:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []  # each request's head (and body) as received
        self.connections = 0
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def __enter__(self) -> Misbehaving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def methods(self) -> list[str]:
        with self.lock:
            return [request.split(b" ", 1)[0].decode() for request in self.requests]

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.behaviour(conn, self)

    def read_request(self, conn: socket.socket) -> bytes | None:
        """One request (head and Content-Length body), recorded; None when the client closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        with self.lock:
            self.requests.append(head + b"\r\n\r\n" + body)
        return head

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        with self.lock:
            for conn in self.open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    conn.close()


def reset(conn: socket.socket) -> None:
    """Close with a TCP reset (RST) instead of an orderly FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def trickle(conn: socket.socket, server: Misbehaving, data: bytes, every: float, limit: float) -> None:
    """Send ``data`` a byte at a time, one every ``every`` seconds, for at most ``limit`` seconds."""
    ends = time.monotonic() + limit
    for byte in data:
        if server.stopped.is_set() or time.monotonic() > ends:
            return
        conn.sendall(bytes([byte]))
        server.stopped.wait(every)


def answering(body: bytes, *headers: bytes, delay: float = 0.0) -> Behaviour:
    """Each request answered 200 with ``body`` (JSON, with its Content-Length) and ``headers``
    (``b"Content-Encoding: gzip"`` ...), after ``delay`` seconds."""
    extra = b"".join(header + b"\r\n" for header in headers)
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (
        extra,
        len(body),
        body,
    )

    def behaviour(conn: socket.socket, server: Misbehaving) -> None:
        while server.read_request(conn) is not None:
            if delay:
                server.stopped.wait(delay)
            conn.sendall(answer)

    return behaviour
