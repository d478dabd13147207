"""A worker of a distributed replay: asks the master for stories, replays them with the engine's
own pipeline (``threads.play_threaded``, one per Locust user: a story slot) and sends the
outcomes back. Runs inside Locust's worker process (``locustfile`` makes it).

Each outcome is also fired as a Locust request named by its operation id, a finding as a failure
(:func:`failure`), so Locust's statistics and web UI show the replay per operation. A story slot
that Locust stops before its story ended (users rebalanced) gives the story back; a worker whose
master stops answering stops (``TALON_SWARM_MASTER_SILENCE`` seconds, 30 by default).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust import events

from contracts.spec import load_contract
from replay.engine.outcomes import KEPT, Outcome
from replay.engine.sandboxes import sandbox_factory
from replay.engine.stories import StoryPlayer
from replay.engine.threads import play_threaded
from replay.swarm.protocol import EMBEDDED, GIVE_BACK, OUTCOMES, STORIES, WANT, failure, options_of
from replay.swarm.wire import dumps_outcomes

__all__ = ["Stories", "Worker"]

log = logging.getLogger("talon-contracts.swarm")

_ASK_AGAIN = 0.2  # seconds a worker waits before asking again when a phase has nothing for it yet
#: seconds without an answer to a worker's question: the master is gone, the worker stops (sooner
#: than Locust's own 60 s without the master's heartbeat)
_MASTER_SILENT = float(os.environ.get("TALON_SWARM_MASTER_SILENCE", "30"))
_FLUSH_EVERY = 1.0  # seconds between a load run's counts (as Locust's own stats reports)


class Worker:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.stories: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        self.done = False
        self.answered = Event()
        self.settings: dict[str, Any] | None = None
        self.player: StoryPlayer | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="talon-swarm-"))
        self.files: dict[int, Path] = {}  # load mode: the stories' files, kept for the next rounds
        # verify mode: each story's outcomes, sent when it ends; load mode: counts and a sample
        self.outcomes: dict[int, list[Outcome]] = {}
        self.counts: Counter[tuple[str | None, str]] = Counter()
        self.sampled: Counter[tuple[str | None, str]] = Counter()
        self.ended_stories: list[int] = []
        self.problems_seen = 0
        self.runner.register_message(STORIES, self.arrived)
        # Locust logs at INFO; an embedded sandbox's line per request would drown its output
        logging.getLogger("contracts.sandbox").setLevel(logging.WARNING)
        events.test_stop.add_listener(lambda **_: self.flush())  # before the worker tells it stopped
        events.quitting.add_listener(lambda **_: shutil.rmtree(self.folder, ignore_errors=True))
        gevent.spawn(self.flushing)

    @property
    def load(self) -> bool:
        return self.settings is not None and self.settings["mode"] == "load"

    @property
    def stopping(self) -> bool:
        """The run stops here: the target was given up on (as a local replay gives up on it)."""
        return self.player is not None and self.player.stopping.is_set()

    def ready(self) -> StoryPlayer:
        """The player, made once the master's settings have come with the first stories."""
        if self.player is None:
            assert self.settings is not None, "stories come with their settings"
            contract = load_contract()
            options = options_of(self.settings)
            own = sandbox_factory(contract) if options.target == EMBEDDED else None  # reset per story
            self.player = StoryPlayer(contract, options, sink=self.sink, own_target=own)
        return self.player

    def arrived(self, environment: Any, msg: Any) -> None:
        if "settings" in msg.data:  # with the first answer
            self.settings = msg.data["settings"]
        rate = msg.data["rate"]
        if self.settings is not None:
            self.settings["rate"] = rate  # this worker's share, for the player made from them
        limiter = self.player.pipeline.limiter if self.player is not None else None
        if limiter is not None and rate:  # workers came or went: the bucket reads its rate each time
            limiter.rate = rate
        for number, original, name, data in msg.data["stories"]:
            log.debug("story %d (%s) handed to this worker", number, name)
            if data is None:
                path = self.files[original]
            else:
                path = self.folder / f"{original}-{Path(name).name}"
                path.write_bytes(data)
                if self.load:
                    self.files[original] = path
            self.stories.put((number, path))
        self.done = bool(msg.data["done"]) and not msg.data["stories"]
        self.answered.set()

    def next_story(self) -> tuple[int, Path]:
        while True:
            if self.stopping:
                raise queue.Empty
            try:
                return self.stories.get_nowait()
            except queue.Empty:
                if self.done:
                    raise
            self.answered.clear()
            self.runner.send_message(WANT, {"n": 1})
            if not self.answered.wait(_MASTER_SILENT):
                log.error("the master did not answer in %.0f s: this worker stops", _MASTER_SILENT)
                self.done = True
                gevent.spawn(self.runner.quit)
                raise queue.Empty
            if self.stories.empty() and not self.done:
                gevent.sleep(_ASK_AGAIN)

    def sink(self, outcome: Outcome) -> None:
        if outcome.kind != "skipped":
            events.request.fire(
                request_type=outcome.method, name=outcome.operation_id or "(no operation)",
                response_time=outcome.elapsed * 1000, response_length=0, context={},
                exception=AssertionError(failure(outcome)) if outcome.finding else None,
            )  # fmt: skip
        if not self.load:
            self.outcomes.setdefault(outcome.story, []).append(outcome)
            return
        bucket = (outcome.operation_id, outcome.kind)
        sample = self.settings["sample"] if self.settings else 0
        if outcome.kind in KEPT and self.sampled[bucket] < sample:
            self.sampled[bucket] += 1
            self.outcomes.setdefault(outcome.story, []).append(outcome)
        else:
            self.counts[bucket] += 1

    def ended(self, number: int, path: Path) -> None:
        """A story is over: in verify mode its outcomes go now; in a load run with the next counts."""
        if self.load:
            self.ended_stories.append(number)
            return
        self.send([number], self.outcomes.pop(number, []))
        path.unlink(missing_ok=True)

    def waiting(self) -> list[int]:
        """The stories handed to this worker that no slot has taken (taken off the queue)."""
        numbers = []
        while True:
            try:
                numbers.append(self.stories.get_nowait()[0])
            except queue.Empty:
                return numbers

    def give_back(self, numbers: list[int]) -> None:
        """Stories a stopped slot held: what they replayed so far is dropped (each is handed out
        again, whole, or reported as an error by the master)."""
        if self.load:
            return  # its outcomes so far are counted; nothing to complete
        for number in numbers:
            self.outcomes.pop(number, None)
        self.runner.send_message(GIVE_BACK, {"numbers": numbers})

    def flushing(self) -> None:
        while True:
            gevent.sleep(_FLUSH_EVERY)
            if self.load:
                self.flush()

    def flush(self) -> None:
        """A load run's counts, sampled findings and ended stories since the last flush."""
        if not self.load or not (self.counts or self.outcomes or self.ended_stories):
            return
        batch = [o for outcomes in self.outcomes.values() for o in outcomes]
        counts = [[op, kind, n] for (op, kind), n in self.counts.items()]
        ended, self.ended_stories = self.ended_stories, []
        self.outcomes, self.counts = {}, Counter()
        self.send(ended, batch, counts)

    def send(self, ended: list[int], batch: list[Outcome], counts: list[list[Any]] | None = None) -> None:
        summary = self.player.summary if self.player is not None else None
        problems: list[list[Any]] = []
        unreadable: list[str] = []
        if summary is not None:
            new = summary.problems[self.problems_seen :]
            self.problems_seen = len(summary.problems)
            problems = [[_story_of(p.source), p.message, p.index, p.line, p.fatal] for p in new]
            unreadable, summary.unreadable = summary.unreadable, []
        self.runner.send_message(OUTCOMES, {"ended": ended, "batch": dumps_outcomes(batch), "counts": counts or [],
                                            "problems": problems, "unreadable": unreadable})  # fmt: skip

    def replay(self, slot: Any) -> None:
        """One story slot's turn (a Locust user's task): stories until there are none. The slot
        keeps them (``slot.stories``), for :meth:`give_back` if Locust stops it first."""
        if self.done or self.stopping:
            gevent.sleep(1)
            return
        try:
            first = self.next_story()  # the first answer brings the settings the player is made with
        except queue.Empty:
            return
        stories = slot.stories = Stories(self, first)
        player = self.ready()
        play_threaded(player, stories)
        if (
            stories.current is not None
        ):  # the player stopped before asking for the next (a target given up on)
            self.ended(*stories.current)
            stories.current = None
        if stories.first is not None:  # never started: the run stops
            self.give_back([stories.first[0]])
            stories.first = None
        if self.stopping:
            self.done = True


def _story_of(source: str) -> int:
    """The story a worker's copy of a file is (``<number>-<name>``, as ``Worker.arrived`` names it)."""
    head = Path(source).name.partition("-")[0]
    return int(head) if head.isdigit() else 0


class Stories:
    """One slot's stories (``threads.Stories``): asking for the next one says the last one ended."""

    def __init__(self, worker: Worker, first: tuple[int, Path]) -> None:
        self.worker = worker
        self.first: tuple[int, Path] | None = first
        self.current: tuple[int, Path] | None = None

    def get_nowait(self) -> tuple[int, Path]:
        if self.current is not None:
            self.worker.ended(*self.current)
            self.current = None
        if self.first is not None:
            self.current, self.first = self.first, None
        else:
            self.current = self.worker.next_story()
        return self.current

    def held(self) -> list[int]:
        return [story[0] for story in (self.current, self.first) if story is not None]
