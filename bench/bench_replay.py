"""Benchmark: replaying recorded traffic, interactions replayed + compared + validated per second.

Run with ``python bench/bench_replay.py [--count N] [--files K] [--large N] [--concurrency 1,2,4,4x2,8x2]
[--repeat R] [--naive M] [--profile] [--quick]``. The recorded interactions of every file in
``cassettes/`` that the engine would send (not the recorded 409s of concurrent writes, nothing the
contract does not match; with the default ``--mix success`` only those answered 2xx, the shape of
production traffic, while ``--mix all`` keeps the corpus' error paths too) are cycled through to build N interactions (10,000 by default; each copy
of the corpus gets its own customer session ids, the payloads are the recorded ones), written as
JSON Lines in K files (8 by default: K independent stories for the workers), plus single-file
captures of N and of --large interactions (100,000 by default) for the memory check.

The target is a minimal HTTP/1.1 keep-alive server in a process of its own (asyncio, uvloop when
installed), which answers every request with its recorded response, prepared up front from the
same files: keyed by story, method, path with query and body (as sent, else JSON-normalised), in recorded order
when a story sends the same request twice. The story is a request header the generated captures
carry (``X-Bench-Story``, which the engine replays like any recorded header): different stories
send identical requests that were answered differently (``DELETE /v2/audiences/1``: 204, 404 or
401), and stories run concurrently. A request it has no answer for gets a 404 and is counted.

Measured, in the same run:

* the engine: ``Replayer(contract, ReplayOptions(...)).run(files)`` on the K files at each
  concurrency (1, 2 and 4, then 4 and 8 in 2 processes, by default), the fastest of R runs (5 by default): every response is
  validated against the contract and diffed against its recording. The server answers exactly what
  was recorded, so every outcome must be ``same`` and every request known;
* a reference floor: the same requests through ``replay.engine.transport.Transport`` only (read, send);
* a naive loop on the first M interactions (2,000 by default), the fastest of R runs like the engine
  rows, one at a time: ``json.loads`` of the
  line, ``requests.Session().request``, ``jsonschema.Draft202012Validator.is_valid`` on the
  response body (validators compiled once per operation and status, before timing) and ``==`` of
  the parsed bodies; its rate is projected to N. The runs go in R rounds (each engine row, then
  the naive loop), so that both sides meet the same drift of a shared machine's speed; the ratio
  is shown best against best, and round by round;
* memory: the N and the --large single-file captures, each replayed (one story, concurrency 1) in a
  fresh process, peak RSS above the process's footprint once the project is imported and the
  contract loaded (``ru_maxrss``; MB = 2**20 bytes); the ratio must be about 1x, not --large / N;
* with --against DIR (a ``git worktree`` of another commit, say the one before a change): the
  engine of that tree and of this one, each in a fresh process (warmed up, then timed), at each
  concurrency, alternating in every round; the ratio of the two;
* with --profile: one replay of 2,000 interactions at concurrency 1 under cProfile (in the worker
  thread), the top 15 functions by cumulative and by own time.

The engine is warmed up first (one pass over the corpus compiles the schemas). Each throughput
row shows the outcomes, the requests unknown to the server and the CPU time of both processes per
wall second (100% = one core), which tells which side is the limit. --quick: N = 2,000, --large
10,000, concurrency 1 and 4, one run each, M = 500 (about 15 s; the default run takes about two
minutes on 2 cores). Exits 1 when an outcome is not ``same``, a request is unknown to the server or
a count is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import dataclasses
import http.client
import json
import os
import platform
import pstats
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import jsonschema
import orjson
import requests
from _children import run_child  # bench/ is on the path when run as a script

from contracts.http import normalize_headers
from contracts.spec import Contract, load_contract
from replay.cassettes import cassette_files, header_lists, read_interactions, write_cassette
from replay.cassettes.model import Interaction, ReadProblem, decoded_body
from replay.engine import Replayer, ReplayOptions
from replay.engine.pipeline import Side
from replay.engine.transport import Transport
from replay.talon.policies import CONCURRENCY_CONFLICTS

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "cassettes"
SESSION = re.compile(r"(/customer_sessions/)([^/?#]+)")
STORY_HEADER = "X-Bench-Story"
API_KEY = "bench-api-key"
CONTROL = "/__bench/"
CONTROL_BYTES = CONTROL.encode()
MB = 1024 * 1024
#: Request headers a client does not replay: the connection's own, and the recorded credential.
NOT_SENT = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te",
                      "upgrade", "accept-encoding", "authorization", "cookie", "proxy-authorization"})  # fmt: skip
#: Recorded response headers the server does not repeat (it frames the body itself).
NOT_ANSWERED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

# A child started straight from this process would inherit its peak memory: on Linux, exec keeps
# the high-water mark of the memory it replaces in ru_maxrss, and subprocess execs from the parent's
# memory (vfork). Children are therefore started by a bare interpreter, whose peak (~11 MB) is
# below the footprint of a child that has imported the project.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
#: One engine run of the tree at argv[1] (its own contracts/ and replay/), in a fresh process: a
#: warm-up pass over argv[6], a server reset, then the timed run over argv[7:]. Only the API both
#: trees have (Replayer(contract, ReplayOptions(...)).run(paths)) is used.
TREE_CHILD = """
import http.client, json, os, sys, time
from urllib.parse import urlsplit
sys.path.insert(0, sys.argv[1])
from contracts.spec import load_contract
from replay.engine import Replayer, ReplayOptions
target, concurrency, processes, key, warmup, files = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7:]
contract = load_contract()
fresh = {"fresh_target": True} if "fresh_target" in ReplayOptions.__dataclass_fields__ else {}
options = ReplayOptions(target=target, api_key=key, concurrency=concurrency, processes=processes, **fresh)
Replayer(contract, ReplayOptions(target=target, api_key=key, concurrency=1, **fresh)).run([warmup])
parts = urlsplit(target)
connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
connection.request("POST", "/__bench/reset")
connection.getresponse().read()
connection.close()
cpu, started = time.process_time() + sum(os.times()[2:4]), time.perf_counter()
summary = Replayer(contract, options).run(files)
seconds = time.perf_counter() - started
cpu = time.process_time() + sum(os.times()[2:4]) - cpu
print(json.dumps({"seconds": seconds, "counts": dict(summary.counts), "cpu": cpu / seconds}))
"""


# --------------------------------------------------------------------------- the data


def replayable(contract: Contract, mix: str = "success") -> list[Interaction]:
    """The committed recordings the engine sends (not the ones it skips), in file order.

    ``success``: only the answered-2xx ones. The corpus is a test corpus, half of it error paths
    (28 revoked-key 401s, malformed requests, unknown ids) with ~100-byte answers; production
    traffic, which the issue's "realistic session/loyalty payloads" describes, is mostly
    successful session updates and loyalty reads. ``all``: every recording."""
    found: list[Interaction] = []
    for path in cassette_files([CORPUS]):
        for item in read_interactions(path):
            if isinstance(item, ReadProblem):
                raise SystemExit(f"the committed corpus does not read cleanly: {item}")
            match = contract.find(item.request.method, item.request.url)
            if match is None or item.response is None:
                continue
            if item.response.status == 409 and match.operation.operation_id in CONCURRENCY_CONFLICTS:
                continue
            if mix == "success" and not 200 <= item.response.status < 300:
                continue
            found.append(item)
    if not found:
        raise SystemExit(f"no replayable interactions in {CORPUS}")
    return found


def generate(pool: list[Interaction], start: int, stop: int, story: str) -> Iterator[Interaction]:
    """Interactions ``start``..``stop`` of the corpus cycled; copy k has its own session ids (``<id>-k``).

    The payloads are the recorded ones; the request carries the story header for the server.
    """
    for i in range(start, stop):
        copy, position = divmod(i, len(pool))
        base = pool[position]
        url = SESSION.sub(rf"\g<1>\g<2>-{copy}", base.request.url)
        headers = header_lists(base.request.headers)
        headers[STORY_HEADER] = [story]
        yield dataclasses.replace(
            base,
            source="bench",
            index=i - start,
            request=dataclasses.replace(base.request, url=url, headers=headers),
            line=None,
        )


def write_story(directory: Path, name: str, pool: list[Interaction], start: int, stop: int) -> Path:
    path = directory / f"{name}.jsonl"
    written = write_cassette(path, generate(pool, start, stop, name), fmt="jsonl")
    assert written == stop - start, f"{name}: wrote {written} of {stop - start}"
    return path


def request_target(url: str) -> str:
    """Path and query, as the engine sends them."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def as_bytes(body: bytes | str | None) -> bytes:
    if not body:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def canonical(body: bytes) -> bytes:
    """A JSON body in one spelling (the engine re-serialises a body it rewrote); other bodies as they are."""
    if not body:
        return b""
    try:
        return orjson.dumps(orjson.loads(body))
    except orjson.JSONDecodeError:
        return body


# --------------------------------------------------------------------------- the server (its own process)

Key = tuple[bytes, bytes, bytes, bytes]  # story, method, path with query, body (as sent, or canonical)


def response_bytes(status: int, headers: Any, body: bytes) -> bytes:
    """Status line, headers and body as one bytes object: one write per answer."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, values in header_lists(headers).items():
        if name.lower() not in NOT_ANSWERED:
            lines += [f"{name}: {value}" for value in values]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Answers:
    """The canned answers of every story, and what was served."""

    def __init__(self) -> None:
        # key -> [answers in recorded order, next one]; a recording is found by its body as
        # recorded (what the engine sends when it rewrites nothing: no parsing) and by the
        # body's canonical spelling (a body the engine rewrote); both keys share one entry
        self.by_key: dict[Key, list[Any]] = {}
        self.served = 0
        self.unknown = 0
        self.interactions = 0

    def load(self, directory: Path) -> None:
        interned: dict[bytes, bytes] = {}  # the corpus repeats: one copy of each distinct answer
        for path in sorted(directory.glob("*.jsonl")):
            for item in read_interactions(path):
                if not isinstance(item, Interaction) or item.response is None:
                    raise SystemExit(f"server: {path.name}: cannot answer {item}")
                request, response = item.request, item.response
                story = normalize_headers(request.headers).get(STORY_HEADER.lower(), "").encode()
                method, target = request.method.upper().encode(), request_target(request.url).encode()
                body = as_bytes(decoded_body(request.headers, request.body))
                entry = self.by_key.setdefault((story, method, target, canonical(body)), [[], 0])
                self.by_key.setdefault((story, method, target, body), entry)
                raw = response_bytes(response.status, response.headers, as_bytes(response.body))
                entry[0].append(interned.setdefault(raw, raw))
                self.interactions += 1

    def answer(self, story: bytes, method: bytes, target: bytes, body: bytes) -> bytes:
        entry = self.by_key.get((story, method, target, body))
        if entry is None:
            entry = self.by_key.get((story, method, target, canonical(body)))
        if entry is None:
            self.unknown += 1
            if self.unknown <= 5:
                print(
                    f"server: no recorded answer for {(story, method, target, body)!r}",
                    file=sys.stderr,
                    flush=True,
                )
            return response_bytes(404, {"Content-Type": ["application/json"]}, b'{"message":"not recorded"}')
        self.served += 1
        answers, at = entry
        entry[1] = at + 1
        return answers[at % len(answers)]

    def control(self, target: bytes) -> bytes:
        """``/__bench/stats``: what was served; ``/__bench/reset``: the same, then back to the start."""
        stats = orjson.dumps({"served": self.served, "unknown": self.unknown, "interactions": self.interactions,
                              "cpu": time.process_time()})  # fmt: skip
        if target.endswith(b"/reset"):
            for entry in self.by_key.values():
                entry[1] = 0
            self.served = self.unknown = 0
        return response_bytes(200, {"Content-Type": ["application/json"]}, stats)


class Http11(asyncio.Protocol):
    """HTTP/1.1 with Content-Length bodies and keep-alive (pipelined requests answered in order).

    Chunked request bodies are not supported (neither client here sends them): answered with a 501,
    and the connection closed.
    """

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it: no isinstance check
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            # the few fields this server needs, found in the lower-cased block (cheaper than
            # splitting every header line: the server shares the two cores with the client)
            head = bytes(self.buffer[: end + 2])
            lower = head.lower()
            method, target, _ = head[: head.find(b"\r\n")].split(b" ", 2)
            length = int(_field(lower, b"\r\ncontent-length:") or 0)
            story = _field(head, b"\r\n" + STORY_HEADER.encode() + b":", lower)
            close = _field(lower, b"\r\nconnection:") == b"close"
            assert self.transport is not None
            if b"\r\ntransfer-encoding:" in lower:
                self.transport.write(response_bytes(501, {"Connection": ["close"]}, b""))
                self.transport.close()
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            if target.startswith(CONTROL_BYTES):
                answer = self.answers.control(target)
            else:
                answer = self.answers.answer(story, method, target, body)
            self.transport.write(answer)
            if close:
                self.transport.close()
                return


def _field(block: bytes, name: bytes, lower: bytes | None = None) -> bytes:
    """The value of header ``name`` (``\\r\\n`` + lower-case name + ``:``) in a header block that ends
    with ``\\r\\n``; ``lower``: the block lower-cased, when ``block`` keeps the value's case."""
    at = (lower if lower is not None else block).find(name.lower() if lower is not None else name)
    if at < 0:
        return b""
    start = at + len(name)
    return block[start : block.find(b"\r\n", start)].strip()


def serve(directory: Path) -> int:
    """Runs in a process of its own: load the answers, listen on a free port, print it, serve."""
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        flavour = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = asyncio.new_event_loop()
        flavour = "asyncio"
    answers = Answers()
    answers.load(directory)
    server = loop.run_until_complete(loop.create_server(lambda: Http11(answers), "127.0.0.1", 0, backlog=128))
    port = server.sockets[0].getsockname()[1]
    loop.add_reader(sys.stdin.fileno(), loop.stop)  # the parent closes the pipe, or is gone: stop
    print(f"http://127.0.0.1:{port} {flavour} {answers.interactions}", flush=True)
    loop.run_forever()
    return 0


# --------------------------------------------------------------------------- measuring (parent side)


def start_server(directory: Path) -> tuple[subprocess.Popen[str], str, str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(directory)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    banner = process.stdout.readline().split()
    if len(banner) < 3:
        process.kill()
        raise SystemExit("the canned-answer server did not start")
    return process, banner[0], " ".join(banner[1:-1])


def control(target: str, what: str) -> dict[str, float]:
    parts = urlsplit(target)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("POST" if what == "reset" else "GET", CONTROL + what)
        result: dict[str, float] = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return result


@dataclasses.dataclass
class Run:
    seconds: float
    counts: Counter[str]
    served: int  # requests the server had an answer for
    unknown: int  # and had none for
    client_cpu: float  # CPU seconds of this process (all its threads, its worker processes) per second
    server_cpu: float  # CPU seconds of the server process per second


class Timed:
    """Wall time and the CPU time of both processes, from a server reset to ``done``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.server = control(target, "reset")["cpu"]
        self.cpu = self._cpu()
        self.started = time.perf_counter()

    @staticmethod
    def _cpu() -> float:
        """This process, and its children once ended (the engine's worker processes)."""
        times = os.times()
        return time.process_time() + times.children_user + times.children_system

    def done(self, counts: Counter[str]) -> Run:
        seconds = time.perf_counter() - self.started
        cpu = self._cpu() - self.cpu
        stats = control(self.target, "stats")
        return Run(seconds, counts, int(stats["served"]), int(stats["unknown"]), cpu / seconds,
                   (stats["cpu"] - self.server) / seconds)  # fmt: skip


def replay(contract: Contract, target: str, files: list[Path], concurrency: int, processes: int = 1) -> Run:
    # the canned server answers every story from its recording: a fresh target, nothing shared to order
    options = ReplayOptions(target=target, api_key=API_KEY, concurrency=concurrency, processes=processes,
                            fresh_target=True)  # fmt: skip
    replayer = Replayer(contract, options)
    timed = Timed(target)
    summary = replayer.run(files)
    return timed.done(summary.counts)


def send_only(target: str, files: list[Path]) -> Run:
    """The floor under the engine: read each interaction and send it (``Transport``), nothing else."""
    transport = Transport(target)
    counts: Counter[str] = Counter()
    timed = Timed(target)
    for path in files:
        for item in read_interactions(path):
            assert isinstance(item, Interaction) and item.response is not None
            request = item.request
            headers = {k: v for k, v in normalize_headers(request.headers).items() if k not in NOT_SENT}
            headers["authorization"] = f"ApiKey-v1 {API_KEY}"
            body = as_bytes(decoded_body(request.headers, request.body)) or None
            sent = transport.send(request.method, request_target(request.url), headers, body)
            ok = sent.response is not None and sent.response.status == item.response.status
            counts["same status" if ok else "other"] += 1
    transport.close()
    return timed.done(counts)


def records(files: list[Path], limit: int) -> Iterator[dict[str, Any]]:
    """The first ``limit`` lines of ``files``, parsed as a naive script would (``json.loads``)."""
    left = limit
    for path in files:
        with path.open("rb") as stream:
            for line in stream:
                if left == 0:
                    return
                left -= 1
                yield json.loads(line)


def body_of(record: dict[str, Any]) -> bytes | None:
    body = record.get("body")
    if isinstance(body, dict):
        return base64.b64decode(body["base64_string"])
    return body.encode("utf-8") if body else None


def naive(contract: Contract, target: str, files: list[Path], limit: int) -> Run:
    """requests + jsonschema + ``==``, one interaction at a time; counts: ``same`` or ``mismatch``."""
    validators: dict[tuple[str, int], jsonschema.Draft202012Validator | None] = {}
    for record in records(files, limit):  # compiled before timing: the baseline pays no compile cost
        match = contract.find(record["request"]["method"], record["request"]["uri"])
        assert match is not None
        status = int(record["response"]["status"])
        key = (match.operation.operation_id, status)
        if key in validators:
            continue
        spec = match.operation.response_for(status)
        media = spec.content.get("application/json") if spec is not None else None
        if media is None or media.schema is None:
            validators[key] = None
            continue
        bundled = contract.compiler.bundle(media.schema, media.schema_pointer, "response")
        cls = jsonschema.Draft202012Validator
        validators[key] = cls(bundled.schema, format_checker=cls.FORMAT_CHECKER)

    session = requests.Session()
    counts: Counter[str] = Counter()
    timed = Timed(target)
    for record in records(files, limit):
        request, recorded = record["request"], record["response"]
        headers = {
            name: ", ".join(values)
            for name, values in request["headers"].items()
            if name.lower() not in NOT_SENT
        }
        headers["Authorization"] = f"ApiKey-v1 {API_KEY}"
        match = contract.find(request["method"], request["uri"])
        assert match is not None
        live = session.request(
            request["method"], target + request_target(request["uri"]), headers=headers, data=body_of(request)
        )
        same = live.status_code == recorded["status"]
        if live.content:
            live_json = live.json()
            validator = validators.get((match.operation.operation_id, live.status_code))
            valid = validator is None or validator.is_valid(live_json)
            recorded_body = body_of(recorded)
            same = same and valid and recorded_body is not None and json.loads(recorded_body) == live_json
        else:
            same = same and not body_of(recorded)
        counts["same" if same else "mismatch"] += 1
    run = timed.done(counts)
    session.close()
    return run


def measure_memory(path: Path, target: str) -> dict[str, Any]:
    control(target, "reset")
    command = [sys.executable, "-c", LAUNCHER, sys.executable, str(Path(__file__).resolve()),
               "--child", str(path), target]  # fmt: skip
    result = run_child(command, f"memory measurement of {path.name}", ROOT)
    stats = control(target, "stats")
    result["served"], result["unknown"] = stats["served"], stats["unknown"]
    return result


class ProfiledReplayer(Replayer):
    """A replayer whose worker threads run under one profiler (cProfile sees only its own thread)."""

    profiler: cProfile.Profile

    def play(self, path: Path, sides: list[Side], number: int = 0) -> None:
        self.profiler.enable()
        try:
            super().play(path, sides, number)
        finally:
            self.profiler.disable()


def profile(contract: Contract, target: str, path: Path, count: int) -> None:
    control(target, "reset")
    replayer = ProfiledReplayer(
        contract, ReplayOptions(target=target, api_key=API_KEY, concurrency=1, fresh_target=True)
    )
    replayer.profiler = cProfile.Profile()
    started = time.perf_counter()
    summary = replayer.run([path])
    seconds = time.perf_counter() - started
    print(f"\nprofile: {count:,} interactions, one story, concurrency 1, under cProfile: {seconds:.2f} s "
          f"({count / seconds:,.0f} interactions/s with the profiler's overhead), outcomes {dict(summary.counts)}")  # fmt: skip
    for order in ("cumulative", "tottime"):
        print(f"\ntop 15 by {order}:")
        stats = pstats.Stats(replayer.profiler, stream=sys.stdout)
        stats.sort_stats(order).print_stats(15)


# --------------------------------------------------------------------------- measuring (child side)


def peak_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def child(path: Path, target: str) -> int:
    """Runs in a fresh process: one replay of one capture (one story), printed as a JSON object."""
    contract = load_contract()
    baseline = peak_kib()
    replayer = Replayer(
        contract, ReplayOptions(target=target, api_key=API_KEY, concurrency=1, fresh_target=True)
    )
    started = time.perf_counter()
    summary = replayer.run([path])
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "counts": dict(summary.counts), "baseline_mb": baseline / 1024,
              "extra_mb": (peak_kib() - baseline) / 1024}  # fmt: skip
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- main


def counts_text(counts: Mapping[str, int], expected: str) -> str:
    others = {kind: n for kind, n in counts.items() if kind != expected and n}
    return ", ".join(f"{kind} {n:,}" for kind, n in sorted(others.items())) or "-"


HEADER = (f"  {'':<36} {'count':>7} {'seconds':>8} {'interactions/s':>14} {'same':>7} {'other':>9} "
          f"{'unknown req.':>12} {'client CPU':>10} {'server CPU':>10}")  # fmt: skip


def row(label: str, run: Run, count: int, expected: str = "same") -> str:
    total = sum(run.counts.values())
    return (f"  {label:<36} {total:>7,} {run.seconds:>8.2f} {total / run.seconds:>14,.0f} "
            f"{run.counts[expected]:>7,} {counts_text(run.counts, expected):>9} {run.unknown:>12,} "
            f"{run.client_cpu:>10.0%} {run.server_cpu:>10.0%}")  # fmt: skip


def throughput(
    contract: Contract,
    target: str,
    parts: list[Path],
    count: int,
    levels: list[tuple[int, int]],
    repeat: int,
    naive_count: int,
    failures: list[str],
) -> tuple[float, float]:
    """The engine at each concurrency, the send-only floor and the naive loop: (best rate, naive rate)."""
    print(f"\nthroughput: the {len(parts)} stories, {count:,} interactions; engine rows: Replayer.run(), "
          f"replayed + validated + diffed, the fastest of {repeat} run{'s' if repeat > 1 else ''} "
          f"(outcomes: the run shown; CPU: seconds per second, 100% = one core)")  # fmt: skip
    print(HEADER)
    # Rounds: every engine row, then the naive loop, `repeat` times. The machine's speed drifts
    # (a shared VM varies by +-20% over seconds); interleaved, both sides meet the same drift.
    engine_runs: dict[tuple[int, int], list[Run]] = {level: [] for level in levels}
    naive_runs: list[Run] = []
    round_ratios: list[float] = []
    for _ in range(repeat):
        for level in levels:
            engine_runs[level].append(replay(contract, target, parts, *level))
        naive_runs.append(naive(contract, target, parts, naive_count))
        round_best = max(count / engine_runs[level][-1].seconds for level in levels)
        round_ratios.append(round_best / (naive_count / naive_runs[-1].seconds))
    best = 0.0
    for level, runs in engine_runs.items():
        fastest = min(runs, key=lambda run: run.seconds)
        best = max(best, count / fastest.seconds)
        label = f"engine, concurrency {level[0]}" + (f", {level[1]} processes" if level[1] > 1 else "")
        print(row(label, fastest, count))
        for run in runs:
            if run.counts["same"] != count or run.served != count or run.unknown:
                failures.append(f"{label}: {dict(run.counts)}, the server answered "
                                f"{run.served:,} known and {run.unknown:,} unknown requests")  # fmt: skip

    floor = send_only(target, parts)
    print(row("reference: read + send only", floor, count, "same status"))
    if floor.counts["same status"] != count or floor.served != count or floor.unknown:
        failures.append(f"send only: {dict(floor.counts)}, {floor.unknown:,} unknown requests")

    naive_run = min(naive_runs, key=lambda run: run.seconds)
    naive_rate = naive_count / naive_run.seconds
    print(row(f"naive loop, first {naive_count:,}", naive_run, naive_count))
    for run in naive_runs:
        if run.counts["same"] != naive_count or run.unknown:
            failures.append(f"naive loop: {dict(run.counts)}, {run.unknown:,} unknown requests")
    print(f"  naive loop: json.loads of the line, requests.Session().request, jsonschema "
          f"{jsonschema_version()} Draft202012Validator.is_valid with formats, == of the parsed bodies; "
          f"one at a time, {count / naive_rate:.1f} s projected for {count:,}")  # fmt: skip
    print(f"  engine (best) / naive: {best / naive_rate:.1f}x; round by round (the best engine row of the round "
          f"/ that round's naive loop): {', '.join(f'{r:.1f}x' for r in round_ratios)}")  # fmt: skip
    return best, naive_rate


def tree_run(tree: Path, target: str, level: tuple[int, int], warmup: Path, parts: list[Path]) -> Run:
    """:data:`TREE_CHILD`: the engine of ``tree`` in a fresh process."""
    server = control(target, "reset")["cpu"]
    command = [sys.executable, "-c", TREE_CHILD, str(tree), target, str(level[0]), str(level[1]), API_KEY,
               str(warmup), *map(str, parts)]  # fmt: skip
    result = run_child(command, f"engine run of {tree}", tree)
    stats = control(target, "stats")
    seconds = float(result["seconds"])
    # the server's CPU covers the child's warm-up too: shown per second of the timed run, an upper bound
    return Run(seconds, Counter(result["counts"]), int(stats["served"]), int(stats["unknown"]),
               float(result["cpu"]), (stats["cpu"] - server) / seconds)  # fmt: skip


def compare_trees(
    trees: list[tuple[str, Path]], target: str, warmup: Path, parts: list[Path], count: int,
    levels: list[tuple[int, int]], repeat: int, failures: list[str],
) -> None:  # fmt: skip
    """Each tree's engine at each level, in fresh processes, alternating tree by tree in every
    round (the machine's drift meets both alike): the fastest of ``repeat`` runs each."""
    print(f"\ntrees: the engine of each tree in a fresh process (warmed up over the corpus, then timed), "
          f"alternating, the fastest of {repeat} run{'s' if repeat > 1 else ''}")  # fmt: skip
    print(HEADER)
    runs: dict[tuple[str, tuple[int, int]], list[Run]] = {}
    for _ in range(repeat):
        for level in levels:
            for name, tree in trees:
                runs.setdefault((name, level), []).append(tree_run(tree, target, level, warmup, parts))
    for level in levels:
        rates = []
        for name, _ in trees:
            fastest = min(runs[name, level], key=lambda run: run.seconds)
            rates.append(count / fastest.seconds)
            label = f"{name}, concurrency {level[0]}" + (f", {level[1]} processes" if level[1] > 1 else "")
            print(row(label, fastest, count))
            for run in runs[name, level]:
                if run.counts["same"] != count or run.unknown:
                    failures.append(f"{label}: {dict(run.counts)}, {run.unknown:,} unknown requests")
        print(f"  {trees[1][0]} / {trees[0][0]}: {rates[1] / rates[0]:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, help="interactions replayed (default 10000; 2000 with --quick)")
    parser.add_argument(
        "--files", type=int, default=8, help="stories the interactions are split into (default 8)"
    )
    parser.add_argument(
        "--large", type=int, help="the large capture of the memory check (default 100000; 10000 with --quick)"
    )
    parser.add_argument(
        "--concurrency",
        help="comma-separated: N stories in flight, or NxP, N in P processes (default 1,2,4,4x2,8x2; 1,8x2 with --quick)",
    )
    parser.add_argument(
        "--repeat", type=int, help="rounds: runs per row, the fastest counts (default 5; 1 with --quick)"
    )
    parser.add_argument(
        "--naive", type=int, help="interactions for the naive loop (default 2000; 500 with --quick)"
    )
    parser.add_argument(
        "--mix",
        choices=("success", "all"),
        default="success",
        help="recordings to cycle: the 2xx ones (realistic traffic; default) or all, error paths included",
    )
    parser.add_argument("--profile", action="store_true", help="profile 2,000 interactions at concurrency 1")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--against",
        metavar="DIR",
        type=Path,
        help="another tree (a git worktree of an earlier commit): both engines measured in the same run",
    )
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.against is not None and not all(
        (args.against / name).is_dir() for name in ("contracts", "replay")
    ):
        parser.error(
            f"--against {args.against}: not a tree of this project (no contracts/ and replay/ in it)"
        )
    if args.serve:
        return serve(Path(args.serve))
    if args.child:
        return child(Path(args.child[0]), args.child[1])
    count: int = args.count or (2_000 if args.quick else 10_000)
    large: int = args.large or (10_000 if args.quick else 100_000)
    repeat: int = args.repeat or (1 if args.quick else 5)
    naive_count: int = min(args.naive or (500 if args.quick else 2_000), count)
    files_count: int = args.files
    try:
        levels = [
            (int(c), int(p or 1))
            for c, _, p in (
                n.partition("x")
                for n in (args.concurrency or ("1,8x2" if args.quick else "1,2,4,4x2,8x2")).split(",")
            )
        ]
    except ValueError:
        parser.error("--concurrency takes comma-separated worker counts, N or NxP (N stories in P processes)")
    if (
        min(count, large, repeat, naive_count, files_count, *(n for level in levels for n in level)) < 1
        or files_count > count
    ):
        parser.error("--count, --large, --repeat, --naive, --files and --concurrency must be positive "
                     "(and --files at most --count)")  # fmt: skip

    contract = load_contract()
    pool = replayable(contract, args.mix)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"validator engine {contract.validator().engine}, orjson {orjson.__version__}, "
          f"requests {requests.__version__}")  # fmt: skip
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        parts = [
            write_story(
                directory, f"part-{j}", pool, j * count // files_count, (j + 1) * count // files_count
            )
            for j in range(files_count)
        ]
        warmup = write_story(directory, "warmup", pool, 0, len(pool))
        single = write_story(directory, "single", pool, 0, count)
        big = write_story(directory, "large", pool, 0, large)
        profiled = write_story(directory, "profile", pool, 0, 2_000) if args.profile else None
        written = time.perf_counter() - started
        server, target, flavour = start_server(directory)
        ready = time.perf_counter() - started - written
        try:
            print(f"{count:,} interactions in {files_count} JSON Lines stories, cycling through the "
                  f"{len(pool)} replayable ones recorded in cassettes/ "
                  f"({'answered 2xx: --mix success' if args.mix == 'success' else 'every one: --mix all'}; "
                  f"all captures written in {written:.1f} s); "
                  f"canned-answer server: {flavour}, its own process, {target}, "
                  f"answers for {count * 2 + large + len(pool) + (2_000 if args.profile else 0):,} "
                  f"interactions loaded in {ready:.1f} s")  # fmt: skip
            replay(contract, target, [warmup], 1)  # compiles the schemas once, as any long replay would

            best, naive_rate = throughput(
                contract, target, parts, count, levels, repeat, naive_count, failures
            )
            print(f"\ngoals: >= 3,000 interactions/s end-to-end: {best:,.0f}/s, "
                  f"{'met' if best >= 3_000 else 'NOT met'}; >= 10x the naive loop: {best / naive_rate:.1f}x, "
                  f"{'met' if best >= 10 * naive_rate else 'NOT met'}")  # fmt: skip

            print("\nmemory: one story (a single JSON Lines file) replayed at concurrency 1 in a fresh process, "
                  "peak above the process with the contract loaded")  # fmt: skip
            print(f"  {'capture':<26} {'file MB':>8} {'seconds':>8} {'interactions/s':>14} {'same':>8} "
                  f"{'unknown req.':>12} {'peak extra MB':>13}")  # fmt: skip
            peaks: list[float] = []
            for path, expected in ((single, count), (big, large)):
                result = measure_memory(path, target)
                peaks.append(result["extra_mb"])
                same = int(result["counts"].get("same", 0))
                print(f"  {f'{expected:,} interactions':<26} {path.stat().st_size / MB:>8.1f} "
                      f"{result['seconds']:>8.2f} {expected / result['seconds']:>14,.0f} {same:>8,} "
                      f"{result['unknown']:>12,} {result['extra_mb']:>13.1f}")  # fmt: skip
                if same != expected or result["unknown"] or result["served"] != expected:
                    failures.append(f"memory run of {expected:,}: {result['counts']}, "
                                    f"{result['unknown']} unknown requests")  # fmt: skip
            ratio = peaks[1] / peaks[0] if peaks[0] > 0 else float("inf")
            print(f"  peak extra memory, {large:,} vs {count:,} interactions: {ratio:.2f}x "
                  f"for {large / count:g}x the interactions (bounded: ~1x; proportional: {large / count:g}x)")  # fmt: skip

            if profiled is not None:
                profile(contract, target, profiled, 2_000)
            if args.against is not None:
                trees = [(args.against.name, args.against.resolve()), ("this tree", ROOT)]
                compare_trees(trees, target, warmup, parts, count, levels, repeat, failures)
        finally:
            assert server.stdin is not None
            server.stdin.close()  # the server stops when its standard input closes
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(
        "\nevery outcome `same` and every request known to the server: the figures measure a correct replay"
    )
    return 0


def jsonschema_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("jsonschema")


if __name__ == "__main__":
    sys.exit(main())
