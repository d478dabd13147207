"""Stories shared between forked worker processes (POSIX), each multiplexing its share.

More than one process only pays when the target answers faster than one process can judge (a
local server, a fast staging): 16.5k interactions/s at concurrency 8 in 2 processes against 10.8k
at concurrency 1 on 2 cores (``make bench-replay``). What the parent has loaded (the contract, the
compiled schemas, the noise rules) is the children's without a copy (fork). Children claim the
next story from a counter in shared memory, send their outcomes to the parent through a pipe in
batches, and a failure of a child is raised in the parent: a bug is never hidden.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from contracts.http import HttpRequest
from replay.engine.changes import NO_DIFFERENCE
from replay.engine.multiplexed import play_multiplexed
from replay.engine.outcomes import KEPT, Outcome, ReplaySummary
from replay.engine.stories import StoryPlayer
from replay.engine.transport import RateLimiter

__all__ = ["CAN_FORK", "Child", "SharedState", "collect", "fork"]

CAN_FORK = hasattr(os, "fork")


def fork(player: StoryPlayer, numbered: list[tuple[int, Path]], processes: int, width: int) -> list[Child]:
    """Start ``processes`` children sharing the stories (each claims the next one when it has
    room); ``width`` stories in flight in all."""
    player.validator.compile_all()  # once, here, not once per child
    shared = SharedState(len(numbered))
    stopped = player.stopping.is_set()
    local = (
        player.stopping.local if isinstance(player.stopping, _Both) else player.stopping
    )  # an earlier phase's
    player.stopping = _Both(local, shared)  # a stop in the parent reaches every child
    if stopped:
        shared.stop()
    children: list[Child] = []
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
                if player.options.rate:  # the children share the rate as they share the stories
                    player.pipeline.limiter = RateLimiter(player.options.rate * share / width)
                _child(player, _ClaimedStories(numbered, shared), share, write)
            os.close(write)
            children.append(Child(pid, read))
    except BaseException:  # no fork left (EAGAIN), Ctrl-C: the children started end, then it is raised
        shared.stop()
        for child in children:
            os.close(child.fd)  # a child writing gets EPIPE and exits
            os.waitpid(child.pid, 0)
        raise
    return children


def _child(player: StoryPlayer, stories: _ClaimedStories, width: int, out_fd: int) -> NoReturn:
    """A child process's life: replay stories, send the outcomes to the parent, exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it sets the stop flag
        out = os.fdopen(out_fd, "wb")
        player.stopping = stories.shared  # is_set/set, seen by every process
        player.lock = threading.Lock()  # not one a parent thread may have held at the fork
        player.summary = ReplaySummary(player.options.target)
        batch: list[Any] = []
        sent_at = time.monotonic()

        def send(message: tuple[str, Any]) -> None:
            out.write(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
            out.flush()

        def sink(outcome: Outcome) -> None:
            nonlocal sent_at
            batch.append(packed(outcome))
            if len(batch) >= 64 or time.monotonic() - sent_at > 0.1:  # progress stays live
                send(("outcomes", batch[:]))
                batch.clear()
                sent_at = time.monotonic()

        player.sink = sink
        play_multiplexed(player, stories, width)
        send(("outcomes", batch))
        send(("done", (player.summary.problems, player.summary.unreadable)))
    except BaseException:  # a bug: the parent raises it (the child must exit in any case)
        code = 1
        with contextlib.suppress(BaseException):
            send(("failed", traceback.format_exc()))
    finally:
        os._exit(code)


def collect(player: StoryPlayer) -> Callable[[str, Any], None]:
    """What the parent does with a child's message (from a reader thread)."""

    def handle(message: str, payload: Any) -> None:
        summary = player.summary
        if message == "outcomes":
            with player.lock:
                for each in payload:
                    outcome = unpacked(each)
                    summary.add(outcome)
                    if player.sink is not None:
                        player.sink(outcome)
        elif message == "failed":  # the run is lost: the other processes stop too
            player.stopping.set()
        elif message == "done":
            problems, unreadable = payload
            with player.lock:
                summary.problems += problems
                summary.unreadable += [u for u in unreadable if u not in summary.unreadable]

    return handle


def packed(outcome: Outcome) -> Any:
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
            request.headers, request.body), outcome.elapsed, outcome.attempts, outcome.story,
            outcome.compared)  # fmt: skip


def unpacked(packed: Any) -> Outcome:
    if isinstance(packed, Outcome):
        return packed
    (
        source,
        index,
        line,
        operation,
        method,
        url,
        kind,
        reason,
        diffed,
        request,
        elapsed,
        attempts,
        story,
        compared,
    ) = packed
    return Outcome(source, index, line, operation, method, url, kind, reason,
                   NO_DIFFERENCE if diffed else None, (),
                   HttpRequest(*request) if request else None, None, None, elapsed, attempts, story,
                   compared)  # fmt: skip


class SharedState:
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

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
        return self.is_set()

    def claim(self) -> int | None:
        """The index of the next story nobody took yet, or None."""
        with self.lock:
            taken = int.from_bytes(self.memory[8:16], "little")
            if taken >= self.stories:
                return None
            self.memory[8:16] = (taken + 1).to_bytes(8, "little")
            return taken


class _Both:
    """The parent's stop flag once children run: setting it stops them too."""

    def __init__(self, local: threading.Event, shared: SharedState) -> None:
        self.local, self.shared = local, shared

    def set(self) -> None:
        self.local.set()
        self.shared.stop()

    def is_set(self) -> bool:
        return self.local.is_set()

    def wait(self, timeout: float) -> bool:
        return self.local.wait(timeout)


@dataclass(slots=True)
class _ClaimedStories:
    """A child's view of the stories: the next unclaimed one of all processes."""

    numbered: list[tuple[int, Path]]
    shared: SharedState

    def get_nowait(self) -> tuple[int, Path]:
        index = self.shared.claim()
        if index is None:
            raise queue.Empty
        return self.numbered[index]


@dataclass(slots=True)
class Child:
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
