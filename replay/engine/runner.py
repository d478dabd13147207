"""The replay engine's front: :class:`Replayer` runs the stories of a set of files with the
scheduler that suits the target, and returns the summary.

Stories: the interactions of one file are one customer story and are replayed in order (a
session is opened before it is closed); files run concurrently, up to ``concurrency`` stories in
flight, each with its own kept-alive connection. A capture is read one interaction at a time, so a
100,000-interaction JSON Lines file replays in bounded memory; outcomes go to a sink as they
happen (reports stream) and only findings keep their bodies.

Schedulers, one module each: ``threads`` (a thread per story: targets of the worker's own, the
recorded pace), ``multiplexed`` (every story on one thread: the fast path), ``processes`` (forked
processes multiplexing their share). One interaction's life is ``replay.engine.pipeline``; one
story's is ``replay.engine.stories``; what each outcome means is ``replay.engine.outcomes``.

Against a live target the engine: takes the API key from the caller, never from a cassette (a
recorded foreign credential is sent as an invalid key, so a recorded 401 is provoked again);
rewrites generated and client-chosen identifiers (``replay.engine.rewrite``); sends state-changing
operations only as the ``writes`` policy says (``allow``; ``dry``: ``dry=true`` where the
operation supports it, skipped elsewhere; ``skip``); keeps recorded timing when asked
(``speed``) and a global request rate (``rate``).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import queue
import time
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

from contracts.spec import Contract
from replay.cassettes import input_files
from replay.cassettes.model import Interaction
from replay.engine.multiplexed import play_multiplexed
from replay.engine.outcomes import Outcome, ReplaySummary
from replay.engine.pipeline import Side
from replay.engine.processes import CAN_FORK, collect, fork
from replay.engine.rewrite import StoryRewriter
from replay.engine.shared import SharedState
from replay.engine.stories import StoryPlayer
from replay.engine.threads import play_threaded
from replay.engine.transport import Transport

__all__ = ["ORDERED_UP_TO", "Replayer", "shared_plan"]

#: Ordering stories by what they share reads every story once before the run: done for a curated
#: corpus (the committed one, 176 KB, is read in about 70 ms), not for bulk captures, which run in
#: file order (their differences from shared state are still explained).
ORDERED_UP_TO = 8 * 1024 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def shared_plan(
    contract: Contract, numbered: list[tuple[int, Path]], keep_ids: frozenset[str], *, order: bool = True
) -> tuple[SharedState, list[list[tuple[int, Path]]]]:
    """On a target every story shares: what explains differences as shared state, and the phases
    the stories run in (ordered when ``order`` and the stories are small enough to read first)."""
    shared = SharedState(contract, [path for _, path in numbered], keep_ids)
    if order and len(numbered) > 1 and sum(_size(path) for _, path in numbered) <= ORDERED_UP_TO:
        return shared, shared.phases(numbered)
    return shared, [numbered]


class Replayer(StoryPlayer):
    """Replays stories against one target (and a candidate in compare mode); see :class:`StoryPlayer`."""

    @property
    def multiplexed(self) -> bool:
        """Whether concurrent stories share one thread (``replay.engine.multiplexed``).

        Not with targets of the worker's own (an embedded sandbox serves from this process: a
        thread each is what lets it answer), nor at the recorded pace (a story waiting for its
        moment would hold the others up).
        """
        return self.own_target is None and self.own_candidate is None and self.options.speed is None

    def stop(self) -> None:
        """Finish the requests in flight, start no more (Ctrl-C)."""
        self.stopping.set()

    def run(self, paths: Iterable[str | Path]) -> ReplaySummary:
        numbered = [
            (number, path) for number, path in zip(itertools.count(1), self._files(paths))
        ]  # a number each: its namespace
        self.summary.stories = len(numbered)
        if self.options.candidate is not None or self.own_candidate is not None:
            self.summary.candidate = self.options.candidate or "embedded sandbox"
        phases = [numbered]
        if self.own_target is None and not self.options.fresh_target:  # a target every story shares
            self.pipeline.shared, phases = shared_plan(self.contract, numbered, self.options.keep_ids)
        for phase in phases:
            if self.stopping.is_set():
                break
            self._play(phase)
        self.summary.finished = time.monotonic()
        return self.summary

    def _play(self, numbered: list[tuple[int, Path]]) -> None:
        """Stories that may run together, with the scheduler that suits the target."""
        stories: queue.Queue[tuple[int, Path]] = queue.Queue()
        for story in numbered:
            stories.put(story)
        workers = min(self.options.concurrency, max(len(numbered), 1))
        processes = min(self.options.processes, workers) if self.multiplexed and CAN_FORK else 1
        if processes > 1:  # each child keeps its share of the stories in flight; a thread here reads it
            children = fork(self, numbered, processes, workers)
            pool = concurrent.futures.ThreadPoolExecutor(processes, thread_name_prefix="replay")
            futures = [pool.submit(child.collect, collect(self)) for child in children]
        elif self.multiplexed and workers > 1:  # one thread keeps `workers` stories in flight
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="replay")
            futures = [pool.submit(play_multiplexed, self, stories, workers)]
        else:
            pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="replay")
            futures = [pool.submit(play_threaded, self, stories) for _ in range(workers)]
        self._wait(pool, futures)
        for future in futures:
            future.result()  # a bug in a worker surfaces here, not silently

    def replay_one(self, item: Interaction, transport: Transport, rewriter: StoryRewriter) -> Outcome:
        """Replay one interaction against one target and compare the answer with the recording."""
        result = self.pipeline.replay(item, [Side(transport, rewriter, self.options.api_key)])
        return result if isinstance(result, Outcome) else result()

    def _files(self, paths: Iterable[str | Path]) -> list[Path]:
        return input_files(paths, self.summary.unreadable)

    def _wait(self, pool: concurrent.futures.ThreadPoolExecutor, futures: list[Future[None]]) -> None:
        """Until the workers are done; Ctrl-C: the requests in flight finish, no more start."""
        try:
            while not all(f.done() for f in futures):
                concurrent.futures.wait(futures, timeout=0.2)
        except KeyboardInterrupt:
            self._interrupted()
        finally:
            while True:
                try:
                    pool.shutdown(wait=True)
                    break
                except KeyboardInterrupt:  # Ctrl-C while the workers wind down: still let them
                    self._interrupted()

    def _interrupted(self) -> None:
        self.summary.interrupted = True
        self.stop()
