"""Stories: the interactions of one file, replayed in order, and where their outcomes go.

A :class:`StoryPlayer` holds what every scheduler shares (the pipeline, the summary, the sink, the
stop flag) and plays one story in either form: :meth:`StoryPlayer.play` sends each request and
waits for its answer (a thread per story, ``replay.engine.threads``); :meth:`StoryPlayer.steps`
yields requests and is resumed with their answers (many stories on one thread,
``replay.engine.multiplexed``). Whatever goes wrong inside one interaction that nothing
anticipated (a bug of ours) becomes a ``malfunction`` outcome of that interaction and the run goes
on; it is never counted as a finding about the target.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from contracts.spec import Contract
from replay.cassettes import CassetteError, read_interactions
from replay.cassettes.model import Interaction, ReadProblem
from replay.engine.options import UNREACHABLE_AFTER, ReplayOptions, StoryTarget
from replay.engine.outcomes import KEPT, Outcome, ReplaySummary
from replay.engine.pipeline import Pipeline, Request, Side
from replay.engine.rewrite import StoryRewriter
from replay.engine.transport import Sent, Transport

__all__ = ["UNREACHABLE_AFTER", "StopFlag", "StoryPlayer"]

#: ``threading.Event`` in one process; the flag in shared memory across forked ones
#: (``replay.engine.processes.SharedState``): ``is_set``, ``set`` and ``wait`` are all that is used.
StopFlag = Any


class StoryPlayer:
    """Plays stories; outcomes go to ``sink`` (called from worker threads, serialised).

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
        self.options = options
        self.sink = sink
        self.own_target = own_target
        self.own_candidate = own_candidate
        self.pipeline = Pipeline(contract, options)
        self.validator = self.pipeline.validator
        self.summary = ReplaySummary(options.target)
        self.lock = threading.Lock()
        self.stopping: StopFlag = threading.Event()
        self.silence = 0  # outcomes in a row the target said nothing to (see ReplayOptions.unreachable_after)

    def sides(
        self, number: int, transports: Sequence[Transport], specs: Sequence[tuple[str, str, str]]
    ) -> list[Side]:
        """The sides of story ``number``: a namespace each, so two files creating one id do not collide."""
        return [
            Side(
                transport,
                StoryRewriter(f"{namespace}{number}-" if namespace else "", self.options.keep_ids),
                key,
            )
            for transport, (_, key, namespace) in zip(transports, specs, strict=False)
        ]

    # -- one story, two ways

    def steps(self, path: Path, sides: list[Side], number: int = 0) -> Generator[Request, Sent, None]:
        """One story (the run's ``number``) as a generator: yields requests, is sent their answers."""
        for item in self.interactions(path):
            try:
                result = yield from self.pipeline.steps(item, sides, None)
                outcome = result if isinstance(result, Outcome) else result()
            except Exception as exc:  # one interaction nothing anticipated: reported, the run goes on
                outcome = self.failed(item, exc)
                for side in sides:
                    side.transport.close()  # its connection may be in an unknown state
            outcome.story = number
            self.emit(outcome)

    def play(self, path: Path, sides: list[Side], number: int = 0) -> None:
        """One story, each request sent and waited for; the answer is judged while the next one is
        with the server (``meanwhile``), and at the recorded pace when ``speed`` says so."""
        pace = _Pace(self.options.speed, self.stopping)
        pending: list[tuple[Interaction, Callable[[], Outcome]]] = []  # an answer waiting to be judged

        def flush() -> None:
            """Judge and emit the waiting answer, if any (never raises: it runs inside the transport)."""
            while pending:
                item, judge = pending.pop()
                try:
                    outcome = judge()
                except Exception as exc:
                    outcome = self.failed(item, exc)
                outcome.story = number
                self.emit(outcome)

        try:
            for item in self.interactions(path):
                pace.wait_for(item)
                try:
                    result = self.pipeline.replay(item, sides, flush)
                except Exception as exc:  # one interaction nothing anticipated: reported, the run goes on
                    result = self.failed(item, exc)
                    for side in sides:
                        side.transport.close()  # its connection may be in an unknown state
                flush()  # the previous answer is judged (if the transport could not do it meanwhile)
                if isinstance(result, Outcome):
                    result.story = number
                    self.emit(result)
                else:
                    pending.append((item, result))
        finally:
            flush()  # the story's last answer (also when it ended early)

    # -- what both ways share

    def interactions(self, path: Path) -> Iterator[Interaction]:
        """A story's interactions, until a stop; what cannot be read goes to the summary."""
        try:
            for item in read_interactions(path):
                if self.stopping.is_set():
                    return
                if isinstance(item, ReadProblem):
                    with self.lock:
                        self.summary.problems.append(item)
                    continue
                yield item
        except CassetteError as exc:
            with self.lock:
                self.summary.problems.append(ReadProblem(str(path), str(exc), fatal=True))

    def failed(self, item: Interaction, exc: Exception) -> Outcome:
        """A bug of ours met on ``item``: a malfunction, with where it happened (for a bug report)."""
        frames = traceback.extract_tb(exc.__traceback__)
        at = f", at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        reason = f"could not be replayed: talon-contracts failed ({type(exc).__name__}: {exc}{at}); please report it"
        return Outcome(item.source, item.index, item.line, None, item.request.method, item.request.url,
                       "malfunction", reason)  # fmt: skip

    def emit(self, outcome: Outcome) -> None:
        if outcome.kind not in KEPT:  # bodies are kept for findings only: memory stays bounded
            outcome.expected = outcome.live = None
        with self.lock:
            self.summary.add(outcome)
            if self.sink is not None:
                self.sink(outcome)
            # a target that says nothing, time after time: one infrastructure error, not an error
            # outcome for every interaction left (each waiting the whole timeout)
            if outcome.silent is not None:
                self.silence += 1
                if self.silence == self.options.unreachable_after and not self.stopping.is_set():
                    self.summary.unreadable.append(self.giving_up(outcome))
                    self.stopping.set()
            elif outcome.kind not in ("skipped", "malfunction"):  # it answered (a malfunction: not sent)
                self.silence = 0

    def giving_up(self, outcome: Outcome) -> str:
        """Why the run stopped early: the target's last silence, how many in a row."""
        why = (
            "nothing accepts connections there"
            if outcome.silent == "refused"
            else "the target does not answer"
        )
        return (f"giving up: {outcome.reason}, {self.silence} times in a row ({why}); "
                "the interactions left were not sent")  # fmt: skip


class _Pace:
    """The recorded pace, scaled by ``speed`` (None: as fast as possible)."""

    def __init__(self, speed: float | None, stopping: StopFlag) -> None:
        self.speed = speed
        self.stopping = stopping
        self.first: float | None = None
        self.started = time.monotonic()

    def wait_for(self, item: Interaction) -> None:
        if not self.speed:
            return
        at = _instant(item.recorded_at)
        if at is not None:
            self.first = at if self.first is None else self.first
            delay = self.started + (at - self.first) / self.speed - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)


def _instant(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
