"""The master's share of a distributed replay: which story goes to which worker, what is still out,
and what becomes of a worker's stories when it goes away. No Locust in here: the locustfile calls it
from its message handlers, and the tests drive it directly.

Stories are numbered as a local replay numbers them (files in order, from 1: the number is the
story's namespace), and handed out phase by phase (``SharedState.phases`` on a shared target: a
story that changes what others read waits until they are done), so a verification run makes the
outcomes a local one makes. A story is handed out whole, in order, to one worker.

A worker that goes away (its heartbeat stops, or it says it quits) gives its unfinished stories
back: each is handed out once more to another worker, since a story that had only begun replaying
on a target of its own (the embedded sandbox, reset per story) replays from the start. One that
was already resent, or any on a shared target where its first requests may have acted, is not
sent again but reported: :meth:`StoryDispatcher.lost` says which, and why (``error`` outcomes in the
reports). Memory: the master holds the paths and what is out, never the interactions.

In a load run (``loop``) the stories are handed out round after round until the run's time is up:
round ``r`` of story ``n`` is number ``n + r * total`` (a namespace of its own on a shared target,
so that the ids a story creates are new each time), and a lost worker's stories are not replayed
again: its outcomes so far are counted, a load run has no outcome per story to complete.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Assignment", "StoryDispatcher"]

MAX_ATTEMPTS = 2  # a story is handed out at most this often (once, and once more after a worker is lost)


@dataclass(frozen=True, slots=True)
class Assignment:
    """A story handed out: its number in the run and its file."""

    number: int
    path: Path
    attempt: int = 1


@dataclass(slots=True)
class StoryDispatcher:
    """Hands out stories phase by phase and keeps track of them until their outcomes are in.

    ``resend``: whether a lost worker's stories may be replayed again (True on targets of the
    worker's own; False on a shared target, where a half-replayed story may have acted).
    """

    phases: list[list[tuple[int, Path]]]
    resend: bool = True
    loop: bool = False
    _waiting: deque[Assignment] = field(default_factory=deque)
    _out: dict[str, dict[int, Assignment]] = field(default_factory=dict)  # worker -> number -> story
    _phase: int = -1
    _finished: int = 0
    _failed: list[tuple[Assignment, str]] = field(default_factory=list)

    @classmethod
    def of(
        cls, numbered: Iterable[tuple[int, Path]], *, resend: bool = True, loop: bool = False
    ) -> StoryDispatcher:
        """All stories in one phase (a target of each story's own: nothing to order)."""
        return cls([list(numbered)], resend=resend, loop=loop)

    @property
    def total(self) -> int:
        return sum(len(phase) for phase in self.phases)

    @property
    def done(self) -> bool:
        """Every story finished or given up, and none out (never, in a load run)."""
        return (
            not self.loop and self._finished + len(self._failed) == self.total and not any(self._out.values())
        )

    @property
    def finished_stories(self) -> int:
        return self._finished

    def original(self, number: int) -> int:
        """The number of the story that story ``number`` is a round of (itself, outside a load run)."""
        return (number - 1) % self.total + 1 if self.loop and self.total else number

    def holders(self) -> list[str]:
        """The workers that hold stories now."""
        return [worker for worker, held in self._out.items() if held]

    def out(self, worker: str) -> list[Assignment]:
        return sorted(self._out.get(worker, {}).values(), key=lambda a: a.number)

    def claim(self, worker: str, wanted: int) -> list[Assignment]:
        """Up to ``wanted`` stories for ``worker``; none while the current phase still has stories
        out elsewhere and the next may not start."""
        self._advance()
        given: list[Assignment] = []
        while len(given) < wanted:
            if not self._waiting and self.loop:
                self._advance()
            if not self._waiting:
                break
            given.append(self._waiting.popleft())
        holding = self._out.setdefault(worker, {})
        for story in given:
            holding[story.number] = story
        return given

    def finished(self, worker: str, number: int) -> bool:
        """A story's outcomes are all in; False when it was not out to that worker (a late answer
        of a worker already given up: its outcomes are not counted twice)."""
        if self._out.get(worker, {}).pop(number, None) is None:
            return False
        self._finished += 1
        return True

    def lost(self, worker: str, why: str) -> list[tuple[Assignment, str]]:
        """A worker went away: its stories are handed out again where that is safe; those that are
        not are returned, with the reason, to be reported as errors."""
        given_up = self.given_back(worker, list(self._out.get(worker, {})), why)
        self._out.pop(worker, None)
        return given_up

    def given_back(self, worker: str, numbers: list[int], why: str) -> list[tuple[Assignment, str]]:
        """Stories ``worker`` holds and will not end (a story slot stopped): as for :meth:`lost`.
        Numbers it does not hold are ignored (a late message, a peer's invention)."""
        held = self._out.get(worker, {})
        stories = sorted((held.pop(n) for n in set(numbers) if n in held), key=lambda a: a.number)
        if self.loop:  # nothing to complete: the next rounds go on without them
            return []
        given_up: list[tuple[Assignment, str]] = []
        again: list[Assignment] = []
        for story in stories:
            if self.resend and story.attempt < MAX_ATTEMPTS:
                again.append(Assignment(story.number, story.path, story.attempt + 1))
            else:
                reason = f"{why}; not replayed again: " + (
                    f"handed out {story.attempt} times" if self.resend
                    else "its first requests may have acted on the shared target"
                )  # fmt: skip
                given_up.append((story, reason))
        self._waiting.extendleft(reversed(again))  # first: they were handed out before the others
        self._failed += given_up
        return given_up

    def _advance(self) -> None:
        """Start the next phase once the current one has nothing waiting or out; in a load run,
        the next round as soon as nothing waits (stories of the last round may still be out)."""
        if self.loop:
            if not self._waiting and self.total:
                self._phase += 1
                offset = self._phase * self.total
                self._waiting.extend(
                    Assignment(number + offset, path) for phase in self.phases for number, path in phase
                )
            return
        while not self._waiting and not any(self._out.values()) and self._phase + 1 < len(self.phases):
            self._phase += 1
            self._waiting.extend(Assignment(number, path) for number, path in self.phases[self._phase])
