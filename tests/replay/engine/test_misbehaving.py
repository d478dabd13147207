"""The replay transport against a misbehaving server (issue 16, items 11, 13, 14 and 15), each on a
real loopback socket, with its bound written in the test: time, memory, requests at the server,
outcome and exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contracts.client import RetryPolicy
from contracts.http import HttpRequest, HttpResponse
from contracts.spec import Contract
from replay.cassettes import write_cassette
from replay.cassettes.model import Interaction
from replay.cli import cli
from replay.engine import Outcome, Replayer, ReplayOptions
from replay.engine.transport import Transport

from ..helpers import ROOT, session_exchange
from .misbehaving import Behaviour, Misbehaving, reset, trickle

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

#: the schedulers, by the options that pick them (``Replayer.multiplexed``, ``processes``)
SCHEDULERS = {
    "multiplexed": {"concurrency": 2},
    "threads": {"concurrency": 2, "speed": 1000.0},  # a pace: a thread per story
    "processes": {"concurrency": 2, "processes": 2},
}
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes are forked (POSIX)")
SCHEDULER_PARAMS = [
    pytest.param(name, marks=needs_fork) if name == "processes" else name for name in SCHEDULERS
]


@pytest.fixture
def serve() -> Iterator[list[Misbehaving]]:
    servers: list[Misbehaving] = []
    yield servers
    for server in servers:
        server.stop()


def _server(serve: list[Misbehaving], behaviour: Behaviour) -> Misbehaving:
    server = Misbehaving(behaviour)
    serve.append(server)
    return server


def _stories(tmp_path: Path, stories: int, count: int, post: bool = False) -> list[Path]:
    paths = []
    for story in range(stories):
        items = []
        for n in range(count):
            item = _post(n) if post else session_exchange(f"s{story}-{n}")
            item.index = n
            items.append(item)
        path = tmp_path / f"story{story}.jsonl"
        write_cassette(path, items, fmt="jsonl")
        paths.append(path)
    return paths


def _post(n: int) -> Interaction:
    body = json.dumps({"type": "pageView", "profileId": f"p{n}", "attributes": {}}).encode()
    request = HttpRequest("POST", "http://localhost:9000/v2/events",
                          {"Authorization": ["ApiKey-v1 REDACTED"], "Content-Type": ["application/json"]}, body)  # fmt: skip
    return Interaction("memory", n, request, HttpResponse(200, {"Content-Type": ["application/json"]}, b"{}"))


def _run(contract: Contract, url: str, paths: list[Path], **options: Any) -> tuple[list[Outcome], Replayer]:
    outcomes: list[Outcome] = []
    options.setdefault("retry", RetryPolicy(retries=0))
    replayer = Replayer(
        contract, ReplayOptions(target=url, api_key="k", fresh_target=True, **options), outcomes.append
    )
    replayer.run(paths)
    return outcomes, replayer


# --------------------------------------------------------------------------- 15: a deadline per exchange


def _trickling(conn: socket.socket, server: Misbehaving) -> None:
    """Reads the request, then answers one byte every 0.25 s (for 8 s at most: a bound on the failure)."""
    if server.read_request(conn) is not None:
        trickle(conn, server, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"a" * 100, 0.25, 8)


def test_a_trickling_server_cannot_stretch_the_timeout_of_one_request(serve: list[Misbehaving]) -> None:
    """``timeout`` is a deadline for the whole exchange, not for each read: at one byte every 0.25 s,
    every read would be within a 1 s timeout for ever."""
    server = _server(serve, _trickling)
    transport = Transport(server.url, timeout=1, retry=RetryPolicy(retries=0))
    started = time.monotonic()
    sent = transport.send("GET", "/", {}, None)
    elapsed = time.monotonic() - started
    assert sent.response is None and elapsed < 2.0, (elapsed, sent.error)
    assert (
        sent.error is not None and "not complete within 1 s" in sent.error and "bytes received" in sent.error
    )


def test_a_trickling_server_cannot_stretch_the_timeout_in_two_steps(serve: list[Misbehaving]) -> None:
    """The selector's way (begin, then finish once readable) keeps the same deadline."""
    server = _server(serve, _trickling)
    transport = Transport(server.url, timeout=1, retry=RetryPolicy(retries=0))
    started = time.monotonic()
    pending = transport.begin("GET", "/", {}, None)
    time.sleep(0.3)  # readable: the first bytes are there
    sent = transport.finish(pending)
    assert (
        sent.response is None
        and time.monotonic() - started < 2.0
        and "not complete within 1 s" in (sent.error or "")
    )


@pytest.mark.parametrize("scheduler", SCHEDULER_PARAMS)
def test_every_scheduler_keeps_the_deadline_of_a_trickled_answer(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path, scheduler: str
) -> None:
    server = _server(serve, _trickling)
    started = time.monotonic()
    outcomes, _ = _run(contract, server.url, _stories(tmp_path, 2, 1), timeout=1, **SCHEDULERS[scheduler])
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed  # both stories at once: about 1 s
    assert [o.kind for o in outcomes] == ["error", "error"]
    assert all("not complete within 1 s" in (o.reason or "") for o in outcomes)


# --------------------------------------------------------------------------- 11: a target that never answers


def _silent(conn: socket.socket, server: Misbehaving) -> None:
    """Accepts, reads, never answers."""
    while server.read_request(conn) is not None:
        pass


@pytest.mark.parametrize("scheduler", SCHEDULER_PARAMS)
def test_a_target_that_never_answers_is_given_up_on_after_three_timeouts(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path, scheduler: str
) -> None:
    server = _server(serve, _silent)
    started = time.monotonic()
    outcomes, replayer = _run(
        contract, server.url, _stories(tmp_path, 2, 10), timeout=0.3, **SCHEDULERS[scheduler]
    )
    elapsed = time.monotonic() - started
    summary = replayer.summary
    # 2 stories in flight: the third timeout comes with the second round (20 rounds were 6 s); each
    # worker process counts its own silences, so 2 processes may send 3 each before they stop
    most = 6 if scheduler == "processes" else 4
    assert elapsed < 2.0 and 3 <= len(outcomes) <= most, (elapsed, len(outcomes))
    assert {o.kind for o in outcomes} == {"error"} and len(server.requests) == len(outcomes)
    assert summary.unreadable == [
        f"giving up: {server.url}: no answer within 0.3 s, 3 times in a row (the target does not answer); "
        "the interactions left were not sent"
    ]


def test_how_many_timeouts_give_up_is_an_option(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path
) -> None:
    server = _server(serve, _silent)
    outcomes, replayer = _run(
        contract, server.url, _stories(tmp_path, 1, 10), timeout=0.2, unreachable_after=5
    )
    assert len(outcomes) == 5 and "5 times in a row" in replayer.summary.unreadable[0]
    with pytest.raises(ValueError, match="unreachable_after must be at least 1"):
        ReplayOptions(target=server.url, api_key="k", unreachable_after=0)


def test_timeouts_between_answers_are_findings_not_an_unreachable_target(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path
) -> None:
    """Every other request hangs: the target answers, so each timeout is that interaction's error."""

    def every_other(conn: socket.socket, server: Misbehaving) -> None:
        while server.read_request(conn) is not None:
            if len(server.requests) % 2:
                conn.sendall(OK)
            # else: no answer; the client times out and opens a new connection

    server = _server(serve, every_other)
    outcomes, replayer = _run(contract, server.url, _stories(tmp_path, 1, 8), timeout=0.2)
    assert len(outcomes) == 8 and [o.kind == "error" for o in outcomes] == [False, True] * 4
    assert replayer.summary.unreadable == []


def test_a_target_that_stops_answering_is_given_up_on_too(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path
) -> None:
    def answers_twice(conn: socket.socket, server: Misbehaving) -> None:
        while server.read_request(conn) is not None:
            if len(server.requests) <= 2:
                conn.sendall(OK)

    server = _server(serve, answers_twice)
    outcomes, replayer = _run(contract, server.url, _stories(tmp_path, 1, 10), timeout=0.2)
    assert [o.kind for o in outcomes][2:] == ["error"] * 3 and len(outcomes) == 5
    assert replayer.summary.unreadable[0].startswith(f"giving up: {server.url}: no answer within 0.2 s")


def test_the_cli_exits_2_for_a_target_that_never_answers(serve: list[Misbehaving], tmp_path: Path) -> None:
    """An infrastructure failure, not a finding: exit 2, and the summary says why."""
    server = _server(serve, _silent)
    (path,) = _stories(tmp_path, 1, 10)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["replay", str(path), "--target", server.url, "--api-key", "k",
                                      "--timeout", "0.3", "--quiet"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert (
        "giving up" in result.stdout
        and "does not answer" in result.stdout
        and "Traceback" not in result.output
    )
    assert time.monotonic() - started < 3.0 and len(server.requests) == 3


# --------------------------------------------------------------------------- 13: a POST is never sent twice


def _answers_once_per_connection(close: str) -> Behaviour:
    """Answers the first request of each connection; reads the second and closes without a word
    (``fin``) or resets the connection (``rst``)."""

    def behaviour(conn: socket.socket, server: Misbehaving) -> None:
        if server.read_request(conn) is None:
            return
        conn.sendall(OK)
        if server.read_request(conn) is not None and close == "rst":
            reset(conn)

    return behaviour


@pytest.mark.parametrize("close", ["fin", "rst"])
def test_a_post_that_may_have_reached_the_server_is_not_sent_again(
    serve: list[Misbehaving], close: str
) -> None:
    server = _server(serve, _answers_once_per_connection(close))
    transport = Transport(server.url, timeout=2, retry=RetryPolicy(retries=3, backoff=0.001))
    sent = [transport.send("POST", "/v2/events", {}, b"{}") for _ in range(3)]
    assert server.methods() == ["POST"] * 3  # each once
    assert [s.response is not None for s in sent] == [True, False, True]
    assert sent[1].error == (
        "the connection closed after the request was sent, before any answer; not sent again: "
        "POST is not idempotent (RFC 9110, 9.2.2) and the server may have received it"
    )


def test_an_idempotent_request_lost_that_way_is_sent_again(serve: list[Misbehaving]) -> None:
    server = _server(serve, _answers_once_per_connection("fin"))
    transport = Transport(server.url, timeout=2, retry=RetryPolicy(retries=3, backoff=0.001))
    sent = [transport.send(method, "/", {}, None) for method in ("GET", "PUT", "DELETE")]
    assert all(s.response is not None for s in sent) and [s.attempts for s in sent] == [1, 2, 2]
    assert server.methods() == ["GET", "PUT", "PUT", "DELETE", "DELETE"]  # each second one is lost


def test_in_two_steps_a_post_is_not_written_again_either(serve: list[Misbehaving]) -> None:
    server = _server(serve, _answers_once_per_connection("fin"))
    transport = Transport(server.url, timeout=2, retry=RetryPolicy(retries=3, backoff=0.001))
    assert transport.send("POST", "/", {}, b"{}").response is not None
    pending = transport.begin("POST", "/", {}, b"{}")
    time.sleep(0.1)
    sent = transport.finish(pending, resend=True)
    assert not hasattr(sent, "outgoing") and server.methods() == ["POST", "POST"]
    assert "not sent again: POST is not idempotent" in (sent.error or "")  # type: ignore[union-attr]


def test_a_connection_the_server_closed_while_idle_is_not_used_for_a_post(serve: list[Misbehaving]) -> None:
    """Closed before the request was written (seen before writing): a new connection, the POST once."""

    def once(conn: socket.socket, server: Misbehaving) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(OK)

    server = _server(serve, once)
    transport = Transport(server.url, timeout=2, retry=RetryPolicy(retries=0))
    assert transport.send("POST", "/", {}, b"{}").response is not None
    time.sleep(0.2)  # the server's close arrives
    again = transport.send("POST", "/", {}, b"{}")
    assert again.response is not None and again.attempts == 1
    assert server.methods() == ["POST", "POST"] and server.connections == 2


@pytest.mark.parametrize("scheduler", SCHEDULER_PARAMS)
def test_a_replay_sends_each_recorded_post_once(
    serve: list[Misbehaving], contract: Contract, tmp_path: Path, scheduler: str
) -> None:
    server = _server(serve, _answers_once_per_connection("fin"))
    options = {**SCHEDULERS[scheduler], "concurrency": 1, "processes": 1 if scheduler != "processes" else 2}
    outcomes, _ = _run(contract, server.url, _stories(tmp_path, 1, 3, post=True), timeout=2,
                       retry=RetryPolicy(retries=3, backoff=0.001), **options)  # fmt: skip
    assert server.methods() == ["POST"] * 3  # 3 recorded POSTs, 3 at the server (were 5)
    errors = [o for o in outcomes if o.kind == "error"]
    assert len(outcomes) == 3 and len(errors) == 1 and "POST is not idempotent" in (errors[0].reason or "")


# --------------------------------------------------------------------------- 14: answers are bounded


_MEASURE = textwrap.dedent(
    """
    import json, socket, sys, threading, tracemalloc
    sys.path.insert(0, sys.argv[1])
    from contracts.client import RetryPolicy
    from replay.engine.transport import Transport

    listener = socket.create_server(("127.0.0.1", 0))
    chunk = b"x" * (1024 * 1024)
    if sys.argv[3] == "chunked":
        chunk = b"100000\\r\\n" + chunk + b"\\r\\n"

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
                for _ in range(300):  # 300 MB, then the end (so that the failure before the fix ends)
                    conn.sendall(chunk)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    tracemalloc.start()
    transport = Transport(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=30, retry=RetryPolicy(retries=0))
    sent = transport.send("GET", "/", {}, None)
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"peak": peak, "error": sent.error, "body": len(sent.response.body) if sent.response else None}))
    """
)


@pytest.mark.parametrize(
    ("head", "framing"),
    [
        pytest.param(r"HTTP/1.1 200 OK\r\n\r\n", "raw", id="no-length-never-ends"),
        pytest.param(
            r"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked", id="chunks-never-end"
        ),
    ],
)
def test_an_answer_that_never_ends_is_cut_at_64_mib_in_bounded_memory(head: str, framing: str) -> None:
    """The server streams 300 MB; the transport stops at 64 MiB (the cassettes' decoded-body cap)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), head, framing], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    result = json.loads(done.stdout)
    assert result["body"] is None and result["peak"] < 150 * 1024 * 1024, result
    assert "longer than 67,108,864 bytes" in result["error"] and "\n" not in result["error"]
    assert time.monotonic() - started < 20


def test_a_declared_length_beyond_the_cap_is_refused_before_reading(serve: list[Misbehaving]) -> None:
    def huge(conn: socket.socket, server: Misbehaving) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
            server.stopped.wait(5)

    server = _server(serve, huge)
    started = time.monotonic()
    sent = Transport(server.url, timeout=3, retry=RetryPolicy(retries=0)).send("GET", "/", {}, None)
    assert sent.response is None and time.monotonic() - started < 1
    assert sent.error is not None and "declares 10,000,000,000 bytes, more than the 67,108,864" in sent.error


def test_the_cap_is_a_setting_of_the_transport(serve: list[Misbehaving]) -> None:
    def big(conn: socket.socket, server: Misbehaving) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000)

    server = _server(serve, big)
    small = Transport(server.url, timeout=2, retry=RetryPolicy(retries=0), max_body=1000)
    assert "more than the 1,000 bytes" in (small.send("GET", "/", {}, None).error or "")
    roomy = Transport(server.url, timeout=2, retry=RetryPolicy(retries=0), max_body=2000)
    assert roomy.send("GET", "/", {}, None).response is not None
