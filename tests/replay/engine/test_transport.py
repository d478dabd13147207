"""replay.engine.transport over a real socket: the HTTP/1.1 framings a server may use, and broken answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from contracts.client import RetryPolicy
from contracts.http import normalize_headers
from replay.engine.transport import RateLimiter, Transport


class RawServer:
    """Answers each request on a connection with the next scripted bytes (then closes if told to)."""

    def __init__(self, answers: list[bytes], close_after: bool = False) -> None:
        self.answers = list(answers)
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self.answers:
                    data = conn.recv(65536)
                    if not data:
                        break
                    self.requests.append(data)
                    conn.sendall(self.answers.pop(0))
                    if self.close_after:
                        break

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.stop()


def _transport(server: RawServer, **kwargs: object) -> Transport:
    return Transport(server.url, timeout=2, retry=RetryPolicy(retries=1, backoff=0.001), **kwargs)  # type: ignore[arg-type]


def test_content_length_keep_alive_and_repeated_headers(serve: list[RawServer]) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n{}"
    server = RawServer([answer, answer])
    serve.append(server)
    transport = _transport(server)
    first = transport.send("PUT", "/v2/x?dry=true", {"content-type": "application/json"}, b'{"a":1}')
    second = transport.send("GET", "/v2/y", {}, None)
    assert first.response is not None and first.response.status == 200 and first.response.body == b"{}"
    assert normalize_headers(first.response.headers)["set-cookie"] == "a=1, b=2"
    assert second.response is not None and server.connections == 1  # kept alive
    head = server.requests[0].split(b"\r\n\r\n")[0].decode()
    assert head.startswith("PUT /v2/x?dry=true HTTP/1.1\r\nHost: 127.0.0.1:")
    assert "Content-Length: 7" in head and server.requests[0].endswith(b'{"a":1}')


def test_chunked_answers(serve: list[RawServer]) -> None:
    answer = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3;ext=1\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n'
    server = RawServer([answer])
    serve.append(server)
    sent = _transport(server).send("GET", "/", {}, None)
    assert sent.response is not None and sent.response.body == b'{"a":1}'


def test_an_answer_delimited_by_closing_the_connection(serve: list[RawServer]) -> None:
    server = RawServer([b"HTTP/1.0 200 OK\r\n\r\nall of it"], close_after=True)
    serve.append(server)
    transport = _transport(server)
    sent = transport.send("GET", "/", {}, None)
    assert sent.response is not None and sent.response.body == b"all of it"
    assert transport._connection is None  # not reused


def test_204_has_no_body(serve: list[RawServer]) -> None:
    server = RawServer([b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    serve.append(server)
    transport = _transport(server)
    assert transport.send("DELETE", "/a", {}, None).response.status == 204  # type: ignore[union-attr]
    assert transport.send("GET", "/b", {}, None).response.status == 200  # type: ignore[union-attr]


def test_a_keep_alive_connection_closed_by_the_server_is_reopened(serve: list[RawServer]) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    server = RawServer([answer, answer], close_after=True)  # closes after each answer, without saying so
    serve.append(server)
    transport = _transport(server)
    assert transport.send("GET", "/", {}, None).response is not None
    time.sleep(0.1)  # the server's close arrives: it is seen before the next request is written
    again = transport.send("POST", "/", {}, b"{}")  # even a POST: on a new connection, once
    assert again.response is not None and again.attempts == 1 and server.connections == 2
    assert [r.split(b" ")[0] for r in server.requests] == [b"GET", b"POST"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "ended after 5 of 10 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "in the middle of the answer's headers"),
    ],
)
def test_broken_answers_are_errors(serve: list[RawServer], answer: bytes, message: str) -> None:
    server = RawServer([answer], close_after=True)
    serve.append(server)
    sent = Transport(server.url, timeout=2, retry=RetryPolicy(retries=0)).send("GET", "/", {}, None)
    assert sent.response is None and message in (sent.error or "")


def test_targets_must_be_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Transport("ftp://example.com")


def test_rate_limiter_waits_for_tokens() -> None:
    now = [0.0]
    slept: list[float] = []
    limiter = RateLimiter(10, clock=lambda: now[0])

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    for _ in range(3):
        limiter.wait(sleep)
    assert slept == pytest.approx([0.1, 0.1])  # the first is free, then one every 100 ms


def test_interim_100_continue_answers_are_skipped(serve: list[RawServer]) -> None:
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    server = RawServer([b"HTTP/1.1 100 Continue\r\n\r\n" + final, final])
    serve.append(server)
    transport = _transport(server)
    first = transport.send("PUT", "/a", {}, b"{}")
    second = transport.send("GET", "/b", {}, None)
    assert first.response is not None and first.response.status == 200
    assert second.response is not None and second.response.body == b"{}"  # still in step


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12, 13\r\n\r\n", "Content-Length '12, 13' is not a length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", "'2, 3' is not a length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length '-1' is not a length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n", "is not a length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "is not hexadecimal"),
    ],
)
def test_malformed_framing_is_an_error_not_a_crash(
    serve: list[RawServer], answer: bytes, message: str
) -> None:
    server = RawServer([answer], close_after=True)
    serve.append(server)
    sent = Transport(server.url, timeout=2, retry=RetryPolicy(retries=0)).send("GET", "/", {}, None)
    assert sent.response is None and message in (sent.error or "")


def test_a_repeated_content_length_that_agrees_is_one_length(serve: list[RawServer]) -> None:
    """RFC 9112, 6.3: a list of identical lengths may be read as that length (lines or a list)."""
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n[]"]  # fmt: skip
    server = RawServer(answers)
    serve.append(server)
    transport = _transport(server)
    bodies = [transport.send("GET", "/", {}, None).response for _ in answers]
    assert [(r.status, r.body) for r in bodies if r is not None] == [(200, b"{}"), (200, b"[]")]


def test_a_post_lost_on_a_fresh_connection_is_not_sent_twice(serve: list[RawServer]) -> None:
    server = RawServer([b""], close_after=True)  # accepts, reads, closes without a word
    serve.append(server)
    sent = _transport(server).send("POST", "/v2/customer_sessions/s/returns", {}, b"{}")
    assert sent.response is None and sent.attempts == 1 and len(server.requests) == 1


def test_a_target_with_a_space_or_a_line_break_stays_one_request_line(serve: list[RawServer]) -> None:
    """An id learnt from a live answer ("s 1\r\nDELETE /x HTTP/1.1") is rewritten into the next
    request's path: it goes percent-encoded, so the request line stays one line with three parts."""
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    serve.append(server)
    learnt = "s 1\r\nDELETE /v1/customer_data/victim HTTP/1.1\r\nX-A:\t\x00"
    sent = _transport(server).send("GET", f"/v2/customer_sessions/{learnt}", {}, None)
    assert sent.response is not None
    line, _, _ = server.requests[0].partition(b"\r\n")
    assert (
        line
        == b"GET /v2/customer_sessions/s%201%0D%0ADELETE%20/v1/customer_data/victim%20HTTP/1.1%0D%0AX-A:%09%00 HTTP/1.1"
    )
    assert server.requests[0].count(b"DELETE") == 1 and b"\r\nDELETE" not in server.requests[0]


def test_non_ascii_urls_and_header_values_are_encoded(serve: list[RawServer]) -> None:
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    serve.append(server)
    headers = {"x-note": "naïve€", "x-break": "a\r\nInjected: 1", "x-latin": "café", "x-plain": "p"}
    sent = _transport(server).send("GET", "/v2/customer_sessions/café€", headers, None)
    assert sent.response is not None
    head = server.requests[0].decode("latin-1")
    assert head.startswith("GET /v2/customer_sessions/caf%C3%A9%E2%82%AC HTTP/1.1")
    assert "x-note: " + "naïve€".encode().decode("latin-1") in head
    # a line break in a value cannot start a header of its own; Latin-1 text goes as Latin-1
    assert "\r\nx-break: a  Injected: 1\r\n" in head and "\r\nInjected" not in head
    assert "\r\nx-latin: café\r\nx-plain: p\r\n" in head and head.endswith("\r\n\r\n")


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\rInjected: 1", "a\nInjected: 1"])
def test_line_breaks_in_ascii_header_values_are_blanked(serve: list[RawServer], value: str) -> None:
    # all ASCII: only the count of line breaks tells the request head apart from a clean one
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    serve.append(server)
    assert _transport(server).send("GET", "/", {"x-a": "1", "x-break": value}, None).response is not None
    head = server.requests[0].decode("latin-1")
    assert head.count("\r\n") == 5 and head.count("\r") == head.count("\n") == 5
    assert "\r\nx-a: 1\r\nx-break: a" in head and "Injected: 1\r\n\r\n" in head


def test_begin_then_finish_is_send_in_two_steps(serve: list[RawServer]) -> None:
    server = RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"])
    serve.append(server)
    transport = _transport(server)
    pending = transport.begin("GET", "/v2/x", {}, None)
    assert pending.failed is None and transport.socket is not None and not transport.buffered()
    sent = transport.finish(pending)
    assert sent.response is not None and (sent.response.status, sent.response.body) == (200, b"{}")
    refused = Transport("http://127.0.0.1:9", retry=RetryPolicy(retries=0))
    pending = refused.begin("GET", "/", {}, None)  # a failure is kept for finish(), never raised
    assert pending.failed is not None and "cannot connect" in (refused.finish(pending).error or "")


def _silent_listener() -> socket.socket:
    """Accepts connections (the kernel does) and never reads nor answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def _gives_up_after(transport: Transport, body: bytes | None) -> float:
    """Seconds a request (a POST with ``body``, else a GET) takes to fail on the transport's timeout."""
    started = time.perf_counter()
    sent = transport.send("POST" if body else "GET", "/", {}, body)
    assert sent.response is None and sent.error == f"no answer within {transport.timeout:g} s"
    return time.perf_counter() - started


def test_a_silent_server_times_out_reading_and_writing() -> None:
    listener = _silent_listener()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        transport = Transport(url, timeout=0.3, retry=RetryPolicy(retries=0))
        assert 0.25 < _gives_up_after(transport, None) < 3  # written; the answer never comes
        # a body larger than both sockets' buffers: the write itself cannot finish
        assert _gives_up_after(transport, b"x" * 64_000_000) < 3
    finally:
        listener.close()


def test_a_trickling_reader_does_not_stretch_the_timeout_of_a_write() -> None:
    """The timeout bounds the whole write, not each piece of it the server accepts."""
    listener = _silent_listener()
    done = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            while not done.is_set() and conn.recv(1024 * 1024):  # about 20 MB/s: 10 s for it all
                time.sleep(0.05)

    reader = threading.Thread(target=trickle, daemon=True)
    reader.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        transport = Transport(url, timeout=0.5, retry=RetryPolicy(retries=0))
        assert _gives_up_after(transport, b"x" * 200_000_000) < 3
    finally:
        done.set()
        listener.close()
        reader.join(5)


def test_nothing_but_tokens_goes_on_the_wire_whatever_made_the_request(serve: list[RawServer]) -> None:
    from replay.engine.transport import UnsafeRequest, check_request

    for method, headers in (("GET", {"X-A: 1\r\nX-B": "v"}), ("GET\r\nDELETE", {}), ("GET", {"": "v"})):
        with pytest.raises(UnsafeRequest, match="not RFC 9110 tokens"):
            check_request(method, headers)
    check_request("GET", {"accept": "application/json", "x-request-id": "1"})  # the usual: fine
