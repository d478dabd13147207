"""The replay engine: re-send recorded interactions to a live target and tell what changed.

Stories: the interactions of one file are one customer story and are replayed in order (a
session is opened before it is closed); files run concurrently, up to ``concurrency`` workers,
each with its own kept-alive connection. A capture is read one interaction at a time, so a
100,000-interaction JSON Lines file replays in bounded memory; outcomes go to a sink as they
happen (reports stream) and only findings keep their bodies.

Each interaction gets one outcome, the most severe that applies:
``error`` (no answer) > ``violation`` (the live answer breaks the contract) > ``changed`` (status,
content type or a body field differs beyond noise) > ``noise`` (only fields the noise rules
explain differ) > ``same``; ``skipped`` when it was not sent, with the reason.

Against a live target the engine: takes the API key from the caller, never from a cassette (a
recorded foreign credential is sent as an invalid key, so a recorded 401 is provoked again);
rewrites generated and client-chosen identifiers (``replay.engine.rewrite``); sends state-changing
operations only as the ``writes`` policy says (``allow``; ``dry``: ``dry=true`` where the
operation supports it, skipped elsewhere; ``skip``); keeps recorded timing when asked
(``speed``) and a global request rate (``rate``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import ipaddress
import itertools
import mmap
import multiprocessing
import os
import pickle
import queue
import secrets
import selectors
import signal
import socket
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, NoReturn, Protocol, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from contracts.client import RetryPolicy
from contracts.errors import Violation
from contracts.http import (
    HttpRequest,
    HttpResponse,
    is_json_media,
    media_type,
    normalize_headers,
    parse_json,
    plain_url_parts,
)
from contracts.spec import Contract, Match

from replay.cassettes.reading import CassetteError, cassette_files, read_interactions
from replay.engine.diff import NO_DIFFERENCE, ExchangeDiff, diff_responses
from replay.cassettes.model import Interaction, ReadProblem, decoded_body
from replay.engine.noise import NoiseRule, NoiseRules
from replay.recording.redaction import AUTH_PLACEHOLDER, FOREIGN_AUTH_PLACEHOLDER
from replay.engine.rewrite import FLOW_OPERATIONS, StoryRewriter
from replay.engine.transport import Pending, RateLimiter, Sent, Transport

__all__ = ["OUTCOMES", "WRITE_POLICIES", "Outcome", "ReplayOptions", "ReplaySummary", "Replayer"]

#: What happened to one interaction, most severe first: ``malfunction`` (the tool failed on it: a
#: bug of ours, never a finding about the API), ``error`` (no answer), ``violation`` (the answer
#: breaks the contract), ``changed`` (status, content type or a body field differs beyond noise),
#: ``noise`` (only what the noise rules explain differs), ``same``; ``skipped``: not sent.
Kind = Literal["same", "noise", "changed", "violation", "error", "malfunction", "skipped"]
OUTCOMES: tuple[Kind, ...] = ("same", "noise", "changed", "violation", "error", "malfunction", "skipped")
FINDINGS: frozenset[Kind] = frozenset({"changed", "violation", "error"})  # findings about the target
#: Outcomes kept with their bodies (and sent whole between processes): the findings and malfunctions.
KEPT: frozenset[Kind] = FINDINGS | {"malfunction"}
WRITE_POLICIES = ("allow", "dry", "skip")
UNREACHABLE_AFTER = 3  # refused connections, before any answer, that end the run
MAX_FINDINGS_KEPT = 1_000  # findings with their bodies kept for the summary and the HTML report

#: Recorded 409s of these operations say "another request for the same entity was in flight":
#: timing that a replay cannot reproduce (and must not try to). Their 409 exchanges are skipped.
CONCURRENCY_CONFLICTS = frozenset({"updateCustomerSessionV2", "updateCustomerProfileV2", "trackEventV2"})

#: Request headers not replayed: the connection's own, and credentials (the caller's key is used).
_NOT_REPLAYED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
     "accept-encoding", "content-encoding", "authorization", "cookie", "proxy-authorization",
     "expect"}  # no 100-continue dance: the whole request goes in one write
)  # fmt: skip


@dataclass(slots=True)
class Outcome:
    """What happened to one recorded interaction."""

    source: str
    index: int
    line: int | None
    operation_id: str | None
    method: str
    url: str  # as sent (as recorded when not sent)
    kind: Kind
    reason: str | None = None  # why skipped / what failed / what was not compared
    diff: ExchangeDiff | None = None
    violations: tuple[Violation, ...] = ()
    request: HttpRequest | None = None  # as sent, with the credential replaced by its placeholder
    #: What the live answer was compared with: the recording, or in compare mode the baseline's
    #: answer. Kept for findings and malfunctions only, like ``live``.
    expected: HttpResponse | None = None
    live: HttpResponse | None = None  # kept for findings only
    elapsed: float = 0.0
    attempts: int = 0

    @property
    def finding(self) -> bool:
        """A finding about the target (not a malfunction of the tool: see :data:`Kind`)."""
        return self.kind in FINDINGS

    @property
    def where(self) -> str:
        return f"{self.source}#{self.index}" + (f" (line {self.line})" if self.line else "")


@dataclass(slots=True)
class ReplayOptions:
    target: str
    api_key: str
    concurrency: int = 4
    #: Processes sharing the stories (forked; POSIX only), ``concurrency`` split between them. More
    #: than one only pays when the target answers faster than one process can judge (a local
    #: server, a fast staging), and only where stories share one thread (see Replayer.multiplexed).
    processes: int = 1
    rate: float | None = None  # requests per second, all workers together
    speed: float | None = None  # None: as fast as possible; 1.0: the recorded pace; 2.0: twice as fast
    writes: str = "allow"
    namespace: str = ""
    noise: NoiseRules = field(default_factory=NoiseRules.builtin)
    operations: frozenset[str] | None = None  # only these operations (others: skipped)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(retries=3, backoff=0.2))
    verify_tls: bool = True
    # compare mode: every interaction also goes to a candidate, whose answers are compared with
    # the target's (the baseline) instead of with the recording
    candidate: str | None = None
    candidate_api_key: str | None = None  # default: api_key
    candidate_namespace: str | None = None  # default: namespace

    def __post_init__(self) -> None:
        if self.writes not in WRITE_POLICIES:
            raise ValueError(f"writes must be one of {', '.join(WRITE_POLICIES)}, not {self.writes!r}")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.processes < 1:
            raise ValueError("processes must be at least 1")


@dataclass(slots=True)
class ReplaySummary:
    """Counts, the first findings, and what could not be read."""

    target: str
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    counts: Counter[str] = field(default_factory=Counter)
    by_operation: dict[str, Counter[str]] = field(default_factory=dict)
    findings: list[Outcome] = field(
        default_factory=list
    )  # the first MAX_FINDINGS_KEPT findings and malfunctions
    problems: list[ReadProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    stories: int = 0
    interrupted: bool = False
    estimated_total: int | None = None

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def add(self, outcome: Outcome) -> None:
        kind = outcome.kind
        self.counts[kind] += 1
        operation = outcome.operation_id or "(no operation)"
        counts = self.by_operation.get(operation)
        if counts is None:
            counts = self.by_operation[operation] = Counter()
        counts[kind] += 1
        if kind in KEPT and len(self.findings) < MAX_FINDINGS_KEPT:
            self.findings.append(outcome)


def is_loopback(url: str) -> bool:
    """Only this machine: ``localhost``, ``*.localhost`` and loopback IP literals (not "127.example.com")."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_writes(target: str) -> str:
    """``allow`` on a loopback target (a sandbox), ``dry`` anywhere else."""
    return "allow" if is_loopback(target) else "dry"


def new_namespace() -> str:
    return f"rp{secrets.token_hex(3)}-"


def _instant(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _json_or_none(response: HttpResponse | None) -> Any:
    if response is None or not response.body:
        return None
    media = media_type(normalize_headers(response.headers).get("content-type"))
    if media and not is_json_media(media):
        return None
    try:
        return parse_json(response.body)
    except ValueError:
        return None


class StoryTarget(Protocol):
    """A target of one's own for a worker, put back in its initial state before every story."""

    @property
    def base_url(self) -> str: ...

    def reset(self) -> None: ...

    def stop(self) -> None: ...


class Replayer:
    """Replays stories against one target; outcomes go to ``sink`` (called from worker threads, serialised).

    ``own_target``: for targets that can be reset (the embedded sandbox), each worker gets its own,
    reset before every story, so that stories replay from the state they were recorded in and one
    story's global changes (a catalog sync) cannot leak into another running beside it. Without it,
    all workers share ``options.target``, as they must on staging.
    """

    def __init__(
        self,
        contract: Contract,
        options: ReplayOptions,
        sink: Callable[[Outcome], None] | None = None,
        own_target: Callable[[], StoryTarget] | None = None,
        own_candidate: Callable[[], StoryTarget] | None = None,
    ) -> None:
        self.contract = contract
        self.own_target = own_target
        self.own_candidate = own_candidate
        self.validator = contract.validator()
        self.options = options
        self.sink = sink
        self.summary = ReplaySummary(options.target)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._limiter = RateLimiter(options.rate) if options.rate else None
        self._invalid_key = f"invalid-{secrets.token_hex(12)}"
        self._answered = False
        self._story_numbers = itertools.count(1)
        self._refused = 0
        self._shared: _SharedState | None = None  # with processes: the stop flag and story claims

    # -- control

    @property
    def multiplexed(self) -> bool:
        """Whether concurrent stories share one thread (see :meth:`_multiplexed_worker`).

        Not with targets of the worker's own (an embedded sandbox serves from this process: a
        thread each is what lets it answer), nor at the recorded pace (a story waiting for its
        moment would hold the others up).
        """
        return self.own_target is None and self.own_candidate is None and self.options.speed is None

    def stop(self) -> None:
        """Finish the requests in flight, start no more (Ctrl-C)."""
        self._stop.set()
        if self._shared is not None:
            self._shared.stop()

    def run(self, paths: Iterable[str | Path]) -> ReplaySummary:
        files: list[Path] = []
        for raw in paths:
            try:
                found = cassette_files([raw])
            except CassetteError as exc:
                self.summary.unreadable.append(str(exc))
                continue
            if not found:
                self.summary.unreadable.append(f"{raw}: no cassettes found")
            files += found
        self.summary.stories = len(files)
        numbered = [(next(self._story_numbers), path) for path in files]  # a number each: its namespace
        stories: queue.Queue[tuple[int, Path]] = queue.Queue()
        for story in numbered:
            stories.put(story)
        workers = min(self.options.concurrency, max(len(files), 1))
        processes = min(self.options.processes, workers) if self.multiplexed and _CAN_FORK else 1
        if processes > 1:  # each child keeps its share of the stories in flight; a thread here reads it
            children = self._fork(numbered, processes, workers)
            pool = concurrent.futures.ThreadPoolExecutor(processes, thread_name_prefix="replay")
            futures = [pool.submit(child.collect, self._collect) for child in children]
        elif self.multiplexed and workers > 1:  # one thread keeps `workers` stories in flight
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="replay")
            futures = [pool.submit(self._multiplexed_worker, stories, workers)]
        else:
            pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="replay")
            futures = [pool.submit(self._worker, stories) for _ in range(workers)]
        try:
            while not all(f.done() for f in futures):
                concurrent.futures.wait(futures, timeout=0.2)
        except KeyboardInterrupt:  # Ctrl-C: the requests in flight finish, no more start
            self._interrupted()
        finally:
            while True:
                try:
                    pool.shutdown(wait=True)
                    break
                except KeyboardInterrupt:  # Ctrl-C while the workers wind down: still let them
                    self._interrupted()
        for future in futures:
            future.result()  # a bug in a worker surfaces here, not silently
        self.summary.finished = time.monotonic()
        return self.summary

    def _interrupted(self) -> None:
        self.summary.interrupted = True
        self.stop()

    # -- worker processes

    def _fork(self, numbered: list[tuple[int, Path]], processes: int, width: int) -> list[_Child]:
        """Start ``processes`` children sharing the stories (each claims the next one when it has
        room); ``width`` stories in flight in all. What the parent has loaded (the contract, the
        compiled schemas, the noise rules) is the children's without a copy (fork)."""
        self.validator.compile_all()  # once, here, not once per child
        shared = self._shared = _SharedState(len(numbered))
        if self._stop.is_set():
            shared.stop()
        children: list[_Child] = []
        try:
            for index in range(processes):
                share = width // processes + (1 if index < width % processes else 0)
                read, write = os.pipe()
                with warnings.catch_warnings():  # 3.12+: fork with threads; the child uses none of theirs
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:  # the child: never returns
                    for fd in (read, *(child.fd for child in children)):  # the parent's ends, not ours
                        os.close(fd)
                    if self.options.rate:  # the children share the rate as they share the stories
                        self._limiter = RateLimiter(self.options.rate * share / width)
                    self._child(_ClaimedStories(numbered, shared), share, write)
                os.close(write)
                children.append(_Child(pid, read))
        except BaseException:  # no fork left (EAGAIN), Ctrl-C: the children started end, then it is raised
            shared.stop()
            for child in children:
                os.close(child.fd)  # a child writing gets EPIPE and exits
                os.waitpid(child.pid, 0)
            raise
        return children

    def _child(self, stories: _ClaimedStories, width: int, out_fd: int) -> NoReturn:
        """A child process's life: replay stories, send the outcomes to the parent, exit."""
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it sets the stop flag
            out = os.fdopen(out_fd, "wb")
            shared = stories.shared
            self._stop = shared  # type: ignore[assignment]  # is_set/set, seen by every process
            self._lock = threading.Lock()  # not one a parent thread may have held at the fork
            self.summary = ReplaySummary(self.options.target)
            batch: list[Any] = []
            sent_at = time.monotonic()

            def send(message: tuple[str, Any]) -> None:
                out.write(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
                out.flush()

            def sink(outcome: Outcome) -> None:
                nonlocal sent_at
                batch.append(_packed(outcome))
                if len(batch) >= 64 or time.monotonic() - sent_at > 0.1:  # progress stays live
                    send(("outcomes", batch[:]))
                    batch.clear()
                    sent_at = time.monotonic()

            self.sink = sink
            self._multiplexed_worker(stories, width)
            send(("outcomes", batch))
            send(("done", (self.summary.problems, self.summary.unreadable)))
        except BaseException:  # a bug: the parent raises it (the child must exit in any case)
            code = 1
            with contextlib.suppress(BaseException):
                send(("failed", traceback.format_exc()))
        finally:
            os._exit(code)

    def _collect(self, message: str, payload: Any) -> None:
        """A child's message, in the parent (from a reader thread)."""
        if message == "outcomes":
            with self._lock:
                for packed in payload:
                    outcome = _unpacked(packed)
                    self.summary.add(outcome)
                    if self.sink is not None:
                        self.sink(outcome)
        elif message == "failed":  # the run is lost: the other processes stop too
            self.stop()
        elif message == "done":
            problems, unreadable = payload
            with self._lock:
                self.summary.problems += problems
                self.summary.unreadable += [u for u in unreadable if u not in self.summary.unreadable]

    # -- workers

    def _worker(self, stories: _Stories) -> None:
        options = self.options
        targets: list[tuple[StoryTarget | None, str, str, str]] = []  # (own target, url, key, namespace)
        own = self.own_target() if self.own_target is not None else None
        targets.append((own, own.base_url if own else options.target, options.api_key, options.namespace))
        if options.candidate is not None or self.own_candidate is not None:
            other = self.own_candidate() if self.own_candidate is not None else None
            namespace = (
                options.candidate_namespace if options.candidate_namespace is not None else options.namespace
            )
            url = other.base_url if other else options.candidate or ""
            targets.append((other, url, options.candidate_api_key or options.api_key, namespace))
        transports = [
            Transport(url, options.timeout, options.retry, options.verify_tls) for _, url, _, _ in targets
        ]
        try:
            while not self._stop.is_set():
                try:
                    number, path = stories.get_nowait()
                except queue.Empty:
                    return
                for target, _, _, _ in targets:
                    if target is not None:
                        target.reset()
                sides = [  # a namespace per story: two files creating the same id do not collide
                    _Side(transport, StoryRewriter(f"{namespace}{number}-" if namespace else ""), key)
                    for transport, (_, _, key, namespace) in zip(transports, targets, strict=True)
                ]
                self._story(path, sides)
        finally:
            for transport in transports:
                transport.close()
            for target, _, _, _ in targets:
                if target is not None:
                    target.stop()

    def _multiplexed_worker(self, stories: _Stories, width: int) -> None:
        """Up to ``width`` stories in flight on this one thread, each with its own connection(s).

        Each story is a generator (:meth:`_story_steps`) that yields the request it needs sent
        and is resumed with the answer. Requests are written at once, and answers read as their
        sockets become readable, whichever story they belong to: the thread never waits while
        any answer is there. Threads would wait for each other instead: on the GIL, with a wake-up
        per answer; against a fast target this runs about 1.6x the requests per second of
        ``width`` threads (``make bench-replay``). A request lost with a closed connection is
        written again and waited for like the others; retries after a wait (429, 5xx), rare, are
        made in place (:meth:`Transport.finish`): a target asking to slow down holds every story up.
        """
        options = self.options
        urls = [options.target] + ([options.candidate] if options.candidate is not None else [])
        keys = [options.api_key, options.candidate_api_key or options.api_key]
        namespaces = [options.namespace]
        if options.candidate is not None:
            namespaces.append(
                options.candidate_namespace if options.candidate_namespace is not None else options.namespace
            )
        idle: list[list[Transport]] = []  # the connections of finished stories, for the next ones
        selector = selectors.DefaultSelector()
        waiting: dict[int, tuple[Generator[_Request, Sent, None], list[Transport], _Request, Pending]] = {}
        registered: dict[int, tuple[socket.socket, Transport]] = {}  # fd -> the socket registered, its owner

        def settle(transport: Transport, pending: Pending, timed_out: bool = False) -> Sent | Pending:
            """The answer (or a request written again, to wait for), or an error for what nothing
            anticipated (one story's, not the run's end)."""
            try:
                return transport.finish(pending, timed_out=timed_out, resend=True)
            except Exception as exc:
                transport.close()
                return Sent(None, f"connection failed: {type(exc).__name__}: {exc}", 0.0, pending.attempt)

        active = 0

        def fill() -> None:
            """Start stories until ``width`` are in flight (or none are left)."""
            nonlocal active
            while active < width and not self._stop.is_set():
                try:
                    number, path = stories.get_nowait()
                except queue.Empty:
                    return
                transports = idle.pop() if idle else [
                    Transport(url or "", options.timeout, options.retry, options.verify_tls) for url in urls
                ]  # fmt: skip
                sides = [
                    _Side(transport, StoryRewriter(f"{namespace}{number}-" if namespace else ""), key)
                    for transport, namespace, key in zip(transports, namespaces, keys, strict=False)
                ]
                active += 1
                advance(self._story_steps(path, sides), transports, None)

        def advance(
            steps: Generator[_Request, Sent, None],
            transports: list[Transport],
            sent: Sent | Pending | None,
            request: _Request | None = None,
        ) -> None:
            """Resume a story until it needs to wait for an answer (or ends)."""
            nonlocal active
            while True:
                if isinstance(sent, Pending):  # the same request, written again: wait for it
                    assert request is not None
                    pending = sent
                else:
                    try:
                        request = steps.send(sent) if sent is not None else next(steps)
                    except StopIteration:
                        active -= 1
                        idle.append(transports)
                        return
                    pending = request.transport.begin(
                        request.method, request.target, request.headers, request.body
                    )
                transport = request.transport
                sock = transport.socket
                if pending.failed is not None or sock is None or transport.buffered():
                    sent = settle(transport, pending)  # nothing to wait for
                    continue
                fd = sock.fileno()
                waiting[fd] = (steps, transports, request, pending)
                known = registered.get(fd)
                if known is None or known[0] is not sock:  # sockets stay registered between requests
                    if known is not None:  # the number of a closed connection, reused
                        selector.unregister(fd)
                    selector.register(fd, selectors.EVENT_READ)
                    registered[fd] = (sock, transport)
                return

        try:
            while True:
                fill()
                if not waiting:
                    return
                deadline = min(p.started + r.transport.timeout for _, _, r, p in waiting.values())
                ready = selector.select(timeout=min(0.5, max(deadline - time.perf_counter(), 0.0)))
                now = time.perf_counter()
                for key, _ in ready:
                    found = waiting.pop(key.fd, None)
                    if found is None:  # readable while not waited on: closed (or babbled on) by the server
                        sock, owner = registered.pop(key.fd)
                        selector.unregister(key.fd)
                        if owner.socket is sock:
                            owner.close()  # the next request of its next story opens a fresh one
                        continue
                    steps, transports, request, pending = found
                    advance(steps, transports, settle(request.transport, pending), request)
                for fd, (steps, transports, request, pending) in list(waiting.items()):
                    if now - pending.started > request.transport.timeout:  # no answer in time
                        del waiting[fd]
                        advance(
                            steps, transports, settle(request.transport, pending, timed_out=True), request
                        )
        finally:
            selector.close()
            for steps, transports, _, _ in waiting.values():  # only after a bug: close what is left
                steps.close()
                idle.append(transports)
            for transports in idle:
                for transport in transports:
                    transport.close()

    def _story_steps(self, path: Path, sides: list[_Side]) -> Generator[_Request, Sent, None]:
        """One story, for :meth:`_multiplexed_worker`: yields requests, is sent their answers."""
        for item in self._interactions(path):
            try:
                result = yield from self._replay_steps(item, sides, None)
                outcome = result if isinstance(result, Outcome) else result()
            except Exception as exc:  # one interaction nothing anticipated: reported, the run goes on
                outcome = self._failed(item, exc)
                for side in sides:
                    side.transport.close()  # its connection may be in an unknown state
            self._emit(outcome)

    def _interactions(self, path: Path) -> Iterator[Interaction]:
        """A story's interactions, until a stop; what cannot be read goes to the summary."""
        try:
            for item in read_interactions(path):
                if self._stop.is_set():
                    return
                if isinstance(item, ReadProblem):
                    with self._lock:
                        self.summary.problems.append(item)
                    continue
                yield item
        except CassetteError as exc:
            with self._lock:
                self.summary.problems.append(ReadProblem(str(path), str(exc), fatal=True))

    def _story(self, path: Path, sides: list[_Side]) -> None:
        first: float | None = None
        started = time.monotonic()
        pending: list[tuple[Interaction, Callable[[], Outcome]]] = []  # an answer waiting to be judged

        def flush() -> None:
            """Judge and emit the waiting answer, if any (never raises: it runs inside the transport)."""
            while pending:
                item, judge = pending.pop()
                try:
                    outcome = judge()
                except Exception as exc:
                    outcome = self._failed(item, exc)
                self._emit(outcome)

        try:
            for item in self._interactions(path):
                if self.options.speed:
                    at = _instant(item.recorded_at)
                    if at is not None:
                        first = at if first is None else first
                        delay = started + (at - first) / self.options.speed - time.monotonic()
                        if delay > 0:
                            self._stop.wait(delay)
                try:
                    result = self._replay(item, sides, flush)
                except Exception as exc:  # one interaction nothing anticipated: reported, the run goes on
                    result = self._failed(item, exc)
                    for side in sides:
                        side.transport.close()  # its connection may be in an unknown state
                flush()  # the previous answer is judged (if the transport could not do it meanwhile)
                if isinstance(result, Outcome):
                    self._emit(result)
                else:
                    pending.append((item, result))
        finally:
            flush()  # the story's last answer (also when it ended early)

    def _failed(self, item: Interaction, exc: Exception) -> Outcome:
        return Outcome(item.source, item.index, item.line, None, item.request.method, item.request.url,
                       "malfunction", f"could not be replayed ({type(exc).__name__}: {exc})")  # fmt: skip

    def _emit(self, outcome: Outcome) -> None:
        if outcome.kind not in KEPT:  # bodies are kept for findings only: memory stays bounded
            outcome.expected = outcome.live = None
        with self._lock:
            self.summary.add(outcome)
            if self.sink is not None:
                self.sink(outcome)
            # a target that never answered: one infrastructure error, not thousands of error outcomes
            if outcome.kind == "error" and not self._answered and "cannot connect" in (outcome.reason or ""):
                self._refused += 1
                if self._refused >= UNREACHABLE_AFTER:
                    self.summary.unreadable.append(f"giving up: {outcome.reason}")
                    self._stop.set()
            elif outcome.kind != "skipped":
                self._answered = True

    # -- one interaction

    def _skip(self, item: Interaction, match: Match | None, reason: str) -> Outcome:
        return Outcome(item.source, item.index, item.line, match.operation.operation_id if match else None,
                       item.request.method, item.request.url, "skipped", reason)  # fmt: skip

    def _plan(self, item: Interaction) -> tuple[Match | None, str, Outcome | None]:
        """(operation, URL to send, or the outcome that says why it is not sent)."""
        options = self.options
        recorded_request = item.request
        match = self.contract.find(recorded_request.method, recorded_request.url)
        if match is None:
            return None, "", self._skip(item, None, "matches no operation of the contract")
        operation = match.operation
        op_id = operation.operation_id
        if options.operations is not None and op_id not in options.operations:
            return match, "", self._skip(item, match, "operation not selected")
        recorded = item.response
        if recorded is not None and recorded.status == 409 and op_id in CONCURRENCY_CONFLICTS:
            reason = "a recorded conflict with a concurrent request cannot be reproduced"
            return match, "", self._skip(item, match, reason)
        url = recorded_request.url
        if recorded_request.method.upper() != "GET":
            if options.writes == "skip":
                return match, "", self._skip(item, match, "changes state (--writes skip)")
            if options.writes == "dry":
                if not any(p.name == "dry" and p.location == "query" for p in operation.parameters):
                    reason = f"changes state and {op_id} has no dry run (--writes allow sends it)"
                    return match, "", self._skip(item, match, reason)
                url = _with_query(url, "dry", "true")
        return match, url, None

    def _send_steps(
        self,
        item: Interaction,
        match: Match,
        url: str,
        side: _Side,
        meanwhile: Callable[[], None] | None = None,
    ) -> Generator[_Request, Sent, tuple[HttpRequest, Sent]]:
        """Send the recorded request, made to fit ``side``'s target: ids rewritten, its credential."""
        recorded_request = item.request
        headers = normalize_headers(recorded_request.headers)  # once per interaction: see _replay
        body = recorded_request.body
        if body and "content-encoding" in headers:
            body = decoded_body(headers, body)
        body_bytes = body.encode() if isinstance(body, str) else body
        rewriter = side.rewriter
        if rewriter.active:  # otherwise nothing is rewritten: the body is not even parsed
            parsed_body: Any = None
            if body_bytes and is_json_media(media_type(headers.get("content-type"))):
                try:
                    parsed_body = parse_json(body_bytes)
                except ValueError:
                    parsed_body = (
                        None  # sent as recorded: a negative exchange may send broken JSON on purpose
                    )
            rewritten = rewriter.request(match, url, parsed_body)
            if rewritten.changed and parsed_body is not None:
                body_bytes = orjson.dumps(rewritten.body)
            url = rewritten.url
        send_headers = {name: value for name, value in headers.items() if name not in _NOT_REPLAYED}
        recorded_auth = headers.get("authorization")
        shown_auth = None
        if recorded_auth is not None:
            foreign = recorded_auth.strip() == FOREIGN_AUTH_PLACEHOLDER
            send_headers["authorization"] = f"ApiKey-v1 {self._invalid_key if foreign else side.api_key}"
            shown_auth = FOREIGN_AUTH_PLACEHOLDER if foreign else AUTH_PLACEHOLDER
        target = _path_and_query(url)
        if self._limiter is not None:
            self._limiter.wait()
        sent = yield _Request(
            side.transport,
            recorded_request.method.upper(),
            target,
            send_headers,
            body_bytes or None,
            meanwhile,
        )
        shown_headers = send_headers.copy()  # the credential, if any, is the last: replaced in place
        if shown_auth:
            shown_headers["authorization"] = shown_auth
        request = HttpRequest(recorded_request.method.upper(), side.transport.base_url.rstrip("/") + target,
                              shown_headers, body_bytes or None)  # fmt: skip
        return request, sent

    def replay_one(self, item: Interaction, transport: Transport, rewriter: StoryRewriter) -> Outcome:
        """Replay one interaction against one target and compare the answer with the recording."""
        result = self._replay(item, [_Side(transport, rewriter, self.options.api_key)])
        return result if isinstance(result, Outcome) else result()

    def _replay(
        self, item: Interaction, sides: list[_Side], meanwhile: Callable[[], None] | None = None
    ) -> Outcome | Callable[[], Outcome]:
        """:meth:`_replay_steps`, each request sent as it comes (blocking)."""
        return _sent_in_turn(self._replay_steps(item, sides, meanwhile))

    def _replay_steps(
        self, item: Interaction, sides: list[_Side], meanwhile: Callable[[], None] | None = None
    ) -> Generator[_Request, Sent, Outcome | Callable[[], Outcome]]:
        """With one side: live vs recorded. With two: the candidate (second) vs the baseline (first).

        With one side, the answer is judged later (a closure is returned): the story runner judges
        it while the next request is with the server (``meanwhile``). Everything the next request
        depends on (generated values learned from this answer) is done before returning.
        """
        match, url, skipped = self._plan(item)
        if skipped is not None or match is None:
            return skipped or self._skip(item, None, "matches no operation of the contract")
        operation = match.operation
        op_id = operation.operation_id
        # headers normalised once here; every later look at them is then free (NormalizedHeaders)
        item.request.headers = normalize_headers(item.request.headers)
        recorded = item.response
        recorded_plain = None
        if recorded is not None:
            recorded_headers = normalize_headers(recorded.headers)
            body = recorded.body
            if body and "content-encoding" in recorded_headers:
                body = decoded_body(recorded_headers, body)
            recorded_plain = HttpResponse(recorded.status, recorded_headers, body)
        # parsed only when needed: to learn generated values, or (by the diff) when the bodies differ
        recorded_json = _json_or_none(recorded_plain) if op_id in FLOW_OPERATIONS else None
        answers: list[tuple[HttpResponse, Any]] = []
        outcome: Outcome | None = None
        for side in sides:
            request, sent = yield from self._send_steps(
                item, match, url, side, meanwhile if side is sides[0] else None
            )
            if outcome is None or side is sides[-1]:  # the candidate's request is the one shown
                # positional: a dataclass built with keywords costs about twice as much
                outcome = Outcome(item.source, item.index, item.line, op_id, request.method, request.url, "same",
                                  None, None, (), request, recorded, None, sent.elapsed, sent.attempts)  # fmt: skip
            if sent.response is None:
                outcome.kind, outcome.reason = "error", f"{side.transport.base_url}: {sent.error}"
                return outcome
            live_json = _json_or_none(sent.response)
            if recorded_json is not None:
                side.rewriter.learn(op_id, recorded_json, live_json)
            answers.append((sent.response, live_json))
        assert outcome is not None
        judged = outcome

        def judge() -> Outcome:
            return self._judge(judged, answers, sides, operation, recorded_plain, recorded_json)

        return judge if len(sides) == 1 else judge()

    def _judge(
        self,
        outcome: Outcome,
        answers: list[tuple[HttpResponse, Any]],
        sides: list[_Side],
        operation: Any,
        recorded_plain: HttpResponse | None,
        recorded_json: Any,
    ) -> Outcome:
        """Validation and comparison of the answer(s) of one interaction."""
        op_id = operation.operation_id
        live, live_json = answers[-1]
        outcome.live = live
        if live_json is not None:
            violations = self.validator.validate_response(live, operation, parsed=live_json)
        else:
            violations = self.validator.validate_response(live, operation)
        outcome.violations = tuple(violations)
        if len(sides) == 1:
            if recorded_plain is None:
                outcome.reason = "nothing was recorded to compare with"
                outcome.kind = "violation" if violations else "same"
                return outcome
            before, before_json = recorded_plain, recorded_json
        else:
            before, before_json = answers[0]
            before_json = sides[0].rewriter.unmap(before_json) if before_json is not None else None
            outcome.expected = before  # the baseline's answer is what the candidate is compared with
        compared = sides[-1].rewriter.unmap(live_json) if live_json is not None else None
        parsed: dict[str, Any] = {}  # the bodies already parsed, so that the diff need not
        if before_json is not None:
            parsed["recorded_json"] = before_json
        if compared is not None:
            parsed["live_json"] = compared
        diff = diff_responses(before, live, operation_id=op_id, noise=self.options.noise, **parsed)
        if diff.body and diff.real and any(side.rewriter.generated for side in sides):
            diff = _explain_generated(diff, sides)
        outcome.diff = diff
        if violations:
            outcome.kind = "violation"
        elif diff.status is not None or diff.headers or (diff.body and diff.real):
            outcome.kind = "changed"
        elif not diff.same:
            outcome.kind = "noise"
        return outcome


_CAN_FORK = hasattr(os, "fork")


def _packed(outcome: Outcome) -> Any:
    """What a child sends for an outcome: the outcome itself for a finding or a diff worth showing,
    or, for the bulk (``same``, ``skipped``), its fields as a plain tuple, which pickles at a
    fraction of the cost of three dataclasses."""
    diff, request = outcome.diff, outcome.request
    if (
        outcome.kind in KEPT
        or outcome.violations
        or (diff is not None and (diff.status or diff.headers or diff.body))
    ):
        return outcome
    return (outcome.source, outcome.index, outcome.line, outcome.operation_id, outcome.method, outcome.url,
            outcome.kind, outcome.reason, diff is not None, request and (request.method, request.url,
            request.headers, request.body), outcome.elapsed, outcome.attempts)  # fmt: skip


def _unpacked(packed: Any) -> Outcome:
    if isinstance(packed, Outcome):
        return packed
    source, index, line, operation, method, url, kind, reason, diffed, request, elapsed, attempts = packed
    return Outcome(source, index, line, operation, method, url, kind, reason,
                   NO_DIFFERENCE if diffed else None, (),
                   HttpRequest(*request) if request else None, None, None, elapsed, attempts)  # fmt: skip


class _SharedState:
    """What a replay's processes share, in an anonymous shared mapping: a stop flag and the
    number of stories claimed so far (claims under a lock)."""

    def __init__(self, stories: int) -> None:
        self.memory = mmap.mmap(-1, 16)
        self.lock = multiprocessing.get_context("fork").Lock()
        self.stories = stories

    def stop(self) -> None:
        self.memory[0] = 1

    set = stop  # stands in for the threading.Event of a single-process replay

    def is_set(self) -> bool:
        return self.memory[0] == 1

    def claim(self) -> int | None:
        """The index of the next story nobody took yet, or None."""
        with self.lock:
            taken = int.from_bytes(self.memory[8:16], "little")
            if taken >= self.stories:
                return None
            self.memory[8:16] = (taken + 1).to_bytes(8, "little")
            return taken


@dataclass(slots=True)
class _ClaimedStories:
    """A child's view of the stories: the next unclaimed one of all processes."""

    numbered: list[tuple[int, Path]]
    shared: _SharedState

    def get_nowait(self) -> tuple[int, Path]:
        index = self.shared.claim()
        if index is None:
            raise queue.Empty
        return self.numbered[index]


@dataclass(slots=True)
class _Child:
    """A worker process, seen from the parent: its pid and the pipe its messages come through."""

    pid: int
    fd: int

    def collect(self, handle: Callable[[str, Any], None]) -> None:
        """Read the child's messages until it ends; its failure is raised here (a bug, never hidden)."""
        failure = None
        try:
            with os.fdopen(self.fd, "rb") as messages:
                while True:
                    try:
                        message, payload = pickle.load(messages)
                    except EOFError:
                        break
                    except Exception as exc:  # a child killed in the middle of a message
                        message, payload = "failed", f"unreadable message ({type(exc).__name__}: {exc})"
                    handle(message, payload)
                    if message == "failed":
                        failure = payload
                        break
        finally:
            _, status = os.waitpid(self.pid, 0)  # never a zombie
        if failure is not None or status != 0:
            raise RuntimeError(f"replay process {self.pid} failed ({status=}):\n{failure or 'no report'}")


class _Stories(Protocol):
    """Where workers take their next story from: (its number, its file); ``queue.Empty`` when none."""

    def get_nowait(self) -> tuple[int, Path]: ...


class _Request(NamedTuple):
    """A request a story needs sent (yielded by the ``*_steps`` generators, answered with a Sent)."""

    transport: Transport
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    meanwhile: Callable[[], None] | None


_R = TypeVar("_R")


def _sent_in_turn(steps: Generator[_Request, Sent, _R]) -> _R:
    """Drive ``steps`` with blocking sends: each request is sent, its answer handed back."""
    try:
        request = next(steps)
        while True:
            transport = request.transport
            sent = transport.send(
                request.method, request.target, request.headers, request.body, request.meanwhile
            )
            request = steps.send(sent)
    except StopIteration as done:
        return cast(_R, done.value)


@dataclass(slots=True)
class _Side:
    """One target of a replay: its connection, its story's rewriting state, its key."""

    transport: Transport
    rewriter: StoryRewriter
    api_key: str


#: Differences that are only a generated value the target chose differently (``StoryRewriter.explains``).
GENERATED = NoiseRule(
    "$..*", "a value the target generated differently (carried into later requests)", source="replay"
)


def _explain_generated(diff: ExchangeDiff, sides: list[_Side]) -> ExchangeDiff:
    def explained(before: Any, after: Any, location: tuple[str | int, ...]) -> bool:
        if len(sides) == 1:
            return sides[0].rewriter.explains(before, after, location)
        baseline, candidate = sides[0].rewriter, sides[1].rewriter
        return baseline.explains_pair(candidate, before, after, location)

    body = tuple(
        dataclasses.replace(c, noise=GENERATED)
        if c.noise is None and c.kind == "changed" and explained(c.before, c.after, c.location)
        else c
        for c in diff.body
    )
    return dataclasses.replace(diff, body=body)


def _path_and_query(url: str) -> str:
    """``/path?query`` of a recorded URL (absolute or not); the fragment dropped."""
    quick = plain_url_parts(url)
    path, query = quick if quick is not None else urlsplit(url)[2:4]
    return (path or "/") + (f"?{query}" if query else "")


def _with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    pairs.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(pairs)))
