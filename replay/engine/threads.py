"""A thread per story in flight: the scheduler for targets of the worker's own and recorded pace.

Each worker takes the next story, resets its own targets (an embedded sandbox each) and plays the
story blocking (:meth:`StoryPlayer.play`). An embedded sandbox serves from this process: a thread
per worker is what lets it answer; a story waiting for its recorded moment must not hold others up.
Elsewhere one thread multiplexes every story (``replay.engine.multiplexed``), which is faster.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Protocol

from replay.engine.options import StoryTarget
from replay.engine.stories import StoryPlayer
from replay.engine.transport import Transport

__all__ = ["Stories", "play_threaded"]


class Stories(Protocol):
    """Where workers take their next story from: (its number, its file); ``queue.Empty`` when none."""

    def get_nowait(self) -> tuple[int, Path]: ...


def play_threaded(player: StoryPlayer, stories: Stories) -> None:
    """One worker thread's life: stories until none are left or the run stops."""
    options = player.options
    own: list[StoryTarget | None] = [player.own_target() if player.own_target is not None else None]
    with_candidate = options.candidate is not None or player.own_candidate is not None
    if with_candidate:
        own.append(player.own_candidate() if player.own_candidate is not None else None)
    specs = [
        (target.base_url if target is not None else url, key, namespace)
        for target, (url, key, namespace) in zip(own, options.sides(with_candidate), strict=True)
    ]
    transports = [Transport(url, options.timeout, options.retry, options.verify_tls) for url, _, _ in specs]
    try:
        while not player.stopping.is_set():
            try:
                number, path = stories.get_nowait()
            except queue.Empty:
                return
            for target in own:
                if target is not None:
                    target.reset()
            player.play(path, player.sides(number, transports, specs), number)
    finally:
        for transport in transports:
            transport.close()
        for target in own:
            if target is not None:
                target.stop()
