"""What the master and its workers say to each other over Locust's messaging, beside the outcomes
themselves (``wire``): the message names and the settings a worker replays with.

- ``talon_want`` (worker → master): ``{"n": stories wanted}``.
- ``talon_stories`` (master → worker): ``{"stories": [[number, original, name, bytes or None]],
  "done": bool, "rate": this worker's share or None, "settings": dict (in the first answer to each
  worker only)}``. ``original`` is the story a load run's round ``number`` is a round of; its
  file's bytes go once to each worker (None: the worker has them).
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
from replay.engine.outcomes import OUTCOMES as KINDS
from replay.engine.outcomes import Outcome
from replay.rules.noise import NoiseRules
from replay.swarm.wire import noise_of, plain_noise

__all__ = ["EMBEDDED", "GIVE_BACK", "MODES", "OUTCOMES", "STORIES", "WANT", "checked_count", "checked_problem",
           "embedded_host", "failure", "options_of", "settings_of"]  # fmt: skip

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


def failure(outcome: Outcome) -> str:
    """A finding as Locust's error table shows it: grouped by this text, so it names where the
    answer differs (a status, the first pointer, the contract's keyword), never the values."""
    if outcome.kind == "violation" and outcome.violations:
        first = outcome.violations[0]
        return f"violation: {first.phase} {first.where or '/'} ({first.keyword})"
    diff = outcome.diff
    if outcome.kind == "changed" and diff is not None:
        if diff.status is not None:
            return f"changed: status {diff.status[0]} -> {diff.status[1]}"
        if diff.headers:
            return f"changed: header {diff.headers[0][0]}"
        if diff.real:
            return f"changed: {diff.real[0].kind} {diff.real[0].pointer or '/'}"
    return f"{outcome.kind}: {outcome.reason or 'no answer'}"


def checked_count(item: Any, operations: set[str]) -> tuple[str | None, str, int]:
    """A load run's count from a worker: a known kind, a count of 0 or more, a contract's operation
    (any other name is counted under no operation: a peer cannot grow the summary's table)."""
    operation, kind, count = item
    if kind not in KINDS or type(count) is not int or count < 0:
        raise ValueError(f"a count of {kind!r}: {count!r}")
    return (operation if operation in operations else None), kind, count


def checked_problem(item: Any) -> tuple[int, str, int | None, int | None, bool]:
    """A read problem from a worker: (story, message, index, line, fatal), positions ints or None."""
    number, message, index, line, fatal = item
    for value in (index, line):
        if value is not None and type(value) is not int:
            raise ValueError(f"a read problem's position is a {type(value).__name__}")
    return int(number), str(message), index, line, bool(fatal)
