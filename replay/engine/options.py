"""What a replay is asked to do (:class:`ReplayOptions`), and the defaults that depend on the target."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from contracts.client import RetryPolicy
from replay.rules.noise import NoiseRules
from replay.talon.noise import builtin_noise

__all__ = [
    "UNREACHABLE_AFTER",
    "WRITE_POLICIES",
    "ReplayOptions",
    "StoryTarget",
    "default_writes",
    "is_loopback",
    "new_namespace",
]

WRITE_POLICIES = ("allow", "dry", "skip")

#: Interactions in a row the target says nothing to (its connection refused, or no answer within
#: the timeout) before the run gives up on it: an infrastructure failure (exit 2), not an error
#: finding per interaction left. Three: one silence is a slow request, three in a row with no
#: answer in between is a target that is not there (against one that accepts connections and
#: never answers, 1,000 interactions at the default 30 s timeout would otherwise take 8 hours).
UNREACHABLE_AFTER = 3


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
    #: ids that existed before the stories (the target's seed, ``--keep-id``): never namespaced
    keep_ids: frozenset[str] = frozenset()
    #: the target holds each story's recorded state when the story starts (a snapshot restored
    #: before each, a server answering from the recording): no difference is explained as shared
    #: state. Targets of the worker's own (embedded sandboxes, reset per story) are fresh anyway.
    fresh_target: bool = False
    noise: NoiseRules = field(default_factory=builtin_noise)
    operations: frozenset[str] | None = None  # only these operations (others: skipped)
    timeout: float = 30.0  # seconds: the deadline of each exchange (write and whole answer)
    unreachable_after: int = UNREACHABLE_AFTER
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
        if self.unreachable_after < 1:
            raise ValueError("unreachable_after must be at least 1")

    def sides(self, candidate: bool = False) -> list[tuple[str, str, str]]:
        """(base URL, API key, namespace) of each target an interaction goes to: the target, and in
        compare mode (or with ``candidate``: one of the worker's own) the candidate, whose URL is
        then ``""`` when none is given."""
        sides = [(self.target, self.api_key, self.namespace)]
        if self.candidate is not None or candidate:
            namespace = self.candidate_namespace if self.candidate_namespace is not None else self.namespace
            sides.append((self.candidate or "", self.candidate_api_key or self.api_key, namespace))
        return sides


class StoryTarget(Protocol):
    """A target of one's own for a worker, put back in its initial state before every story."""

    @property
    def base_url(self) -> str: ...

    def reset(self) -> None: ...

    def stop(self) -> None: ...


def is_loopback(url: str) -> bool:
    """Only this machine: a loopback IP literal, or a name every address of which is loopback once
    resolved. A name is never trusted for its spelling (``*.localhost``, "127.example.com"): what
    it resolves to decides, and a name that does not resolve is not loopback."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def default_writes(target: str) -> str:
    """``allow`` on a loopback target (a sandbox), ``dry`` anywhere else."""
    return "allow" if is_loopback(target) else "dry"


def new_namespace() -> str:
    return f"rp{secrets.token_hex(3)}-"
