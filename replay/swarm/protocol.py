"""What the master and its workers say to each other over Locust's messaging, beside the outcomes
themselves (``wire``): the message names and the settings a worker replays with.

- ``talon_want`` (worker → master): ``{"n": stories wanted}``.
- ``talon_stories`` (master → worker): ``{"stories": [[number, original, name, bytes or None]],
  "done": bool, "settings": dict}``. ``original`` is the story a load run's round ``number`` is a
  round of; its file's bytes go once to each worker (None: the worker has them).
- ``talon_outcomes`` (worker → master): ``{"ended": [numbers], "batch": wire bytes, "counts":
  [[operation, kind, n]], "problems": [[story, message, index, line, fatal]], "unreadable": [str]}``.
  In verify mode one per story as it ends; in a load run every second (counts of what the batch,
  a sample of the findings, does not hold).
- ``talon_give_back`` (worker → master): ``{"numbers": [...]}``: stories whose slot Locust stopped
  before they ended (its users rebalanced); the master hands them out again where that is safe.
"""

from __future__ import annotations

from typing import Any

from replay.engine.options import ReplayOptions
from replay.rules.noise import NoiseRules
from replay.swarm.wire import noise_of, plain_noise

__all__ = ["EMBEDDED", "GIVE_BACK", "MODES", "OUTCOMES", "STORIES", "WANT", "embedded_host", "options_of",
           "settings_of"]  # fmt: skip

WANT, STORIES, OUTCOMES, GIVE_BACK = "talon_want", "talon_stories", "talon_outcomes", "talon_give_back"
MODES = ("verify", "load")
EMBEDDED = "embedded sandbox"


def embedded_host(host: str | None) -> bool:
    """``--host embedded`` (or none): every worker's users replay on sandboxes of their own."""
    return not host or host == "embedded"


def settings_of(options: ReplayOptions, mode: str, sample: int) -> dict[str, Any]:
    """What a worker replays with, as plain data (the master decides it once for every worker)."""
    return {"target": options.target, "api_key": options.api_key, "writes": options.writes,
            "namespace": options.namespace, "noise": [plain_noise(r) for r in options.noise],
            "operations": None if options.operations is None else sorted(options.operations),
            "keep_ids": sorted(options.keep_ids), "timeout": options.timeout, "speed": options.speed,
            "rate": options.rate, "mode": mode, "sample": sample}  # fmt: skip


def options_of(settings: dict[str, Any]) -> ReplayOptions:
    """The inverse of :func:`settings_of` (on a worker, which trusts its master: it replays what the
    master sends, wherever the master says)."""
    operations = settings["operations"]
    return ReplayOptions(
        target=settings["target"], api_key=settings["api_key"], concurrency=1, writes=settings["writes"],
        namespace=settings["namespace"], noise=NoiseRules(noise_of(r) for r in settings["noise"]),
        operations=None if operations is None else frozenset(operations), keep_ids=frozenset(settings["keep_ids"]),
        timeout=float(settings["timeout"]), speed=settings["speed"], rate=settings["rate"],
    )  # fmt: skip
