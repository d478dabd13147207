"""Recording: run named scenarios against a target and keep what went over the wire.

A scenario is a customer story written against :class:`Story` (a thin layer over the
foundation's client that records every exchange). ``record()`` runs scenarios against the embedded
sandbox (reset before each story, so every cassette starts from the seed) or an external target,
redacts each story's exchanges and writes one cassette per story atomically.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from contracts.client import ApiError, ApiResponse, IntegrationClient, RetryPolicy
from contracts.errors import TalonContractsError
from contracts.http import HttpRequest, HttpResponse
from contracts.sandbox import Sandbox
from contracts.spec import Contract, load_contract

from replay.cassettes.model import Interaction
from replay.recording.redaction import RedactionRules, Redactor, save

__all__ = ["SCENARIOS", "RecordResult", "ScenarioFailed", "Story", "record", "scenario"]

#: Against the embedded sandbox, recordings are reproducible: the sandbox's clock starts at this
#: instant for every story and ticks one second per reading, and URLs are written with the origin
#: that ``talon-contracts sandbox`` listens on by default (not the ephemeral port used while
#: recording). Re-recording an unchanged corpus gives the same files.
RECORDING_EPOCH = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
RECORDED_ORIGIN = "http://localhost:9000"
#: Pseudonyms are keyed HMACs. The sandbox's data is fictional, so a fixed key keeps its cassettes
#: reproducible; against a real target the key is random unless the caller gives one (a known key
#: would let anyone confirm a guessed e-mail address against its pseudonym).
SANDBOX_SALT = b"talon-contracts: the sandbox seed is fictional"

Scenario = Callable[["Story"], None]
SCENARIOS: dict[str, tuple[Scenario, str]] = {}


def scenario(name: str, description: str) -> Callable[[Scenario], Scenario]:
    """Register a story under ``name`` (the cassette's file name)."""

    def register(function: Scenario) -> Scenario:
        if name in SCENARIOS:
            raise RuntimeError(f"two scenarios named {name}")
        SCENARIOS[name] = (function, description)
        return function

    return register


class ScenarioFailed(TalonContractsError, AssertionError):
    """The target did not answer as the story expects (the cassette would tell a different story)."""


@dataclass(slots=True)
class Story:
    """What a scenario talks to. ``ok``/``fails`` call operations and check the status they expect."""

    client: IntegrationClient
    intruder: IntegrationClient  # the same target, a revoked key: for the 401s
    namespace: str
    sandbox: Sandbox | None
    interactions: list[Interaction] = field(default_factory=list)
    origin: tuple[str, str] | None = None  # (actual, as recorded): URLs are rewritten on the way in

    def id(self, name: str) -> str:
        """An identifier the story chooses (session, profile ...), kept apart from other runs by the namespace."""
        return f"{self.namespace}{name}"

    def keep(self, request: HttpRequest, response: HttpResponse, elapsed: float) -> None:
        if self.origin is not None and request.url.startswith(self.origin[0]):
            request = HttpRequest(request.method, self.origin[1] + request.url[len(self.origin[0]):],
                                  request.headers, request.body)  # fmt: skip
        sent = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=elapsed)
        self.interactions.append(
            Interaction("", len(self.interactions), request, response,
                        recorded_at=sent.isoformat(timespec="milliseconds").replace("+00:00", "Z"), elapsed=elapsed)
        )  # fmt: skip

    def _observe(self, result: ApiResponse) -> None:
        headers = {name: [value] for name, value in result.headers.items()}
        self.keep(result.request, HttpResponse(result.status, headers, result.content), result.elapsed)

    def ok(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call an operation that must succeed; its parsed body."""
        try:
            return self.client.call(operation, *args, **kwargs).data
        except ApiError as exc:
            raise ScenarioFailed(f"{operation} was expected to succeed: {exc}") from None

    def fails(self, expected: int, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call an operation that must fail with ``expected`` (401s go through the revoked key)."""
        client = self.intruder if expected == 401 else self.client
        try:
            result = client.call(operation, *args, **kwargs)
        except ApiError as exc:
            if exc.status != expected:
                raise ScenarioFailed(
                    f"{operation} answered {exc.status}, the story expects {expected}: {exc}"
                ) from None
            return exc.body
        raise ScenarioFailed(f"{operation} answered {result.status}, the story expects {expected}")

    def raw(self, expected: int, method: str, path: str, body: bytes | str | None = None) -> Any:
        """Send a request the client would refuse to build (a wrong type in the path ...)."""
        headers = {"Authorization": f"ApiKey-v1 {self.client.api_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = body.encode() if isinstance(body, str) else body
        url = self.client.base_url + path
        started = time.perf_counter()
        answer = self.client.session.request(method, url, headers=headers, data=data, timeout=30)
        elapsed = time.perf_counter() - started
        self.keep(HttpRequest(method, url, headers, data),
                  HttpResponse(answer.status_code, {k: [v] for k, v in answer.headers.items()}, answer.content), elapsed)  # fmt: skip
        if answer.status_code != expected:
            raise ScenarioFailed(
                f"{method} {path} answered {answer.status_code}, the story expects {expected}"
            )
        return answer.json() if answer.content else None

    @contextmanager
    def in_flight(self, method: str, path: str, body: bytes = b"{}") -> Iterator[bool]:
        """As if another request for the same entity were being processed (the embedded sandbox only).

        Yields whether the simulation is possible: against another target the story skips its 409s.
        """
        if self.sandbox is None or self.sandbox.app.conflicts != "reject":
            yield False
            return
        auth = {"authorization": f"ApiKey-v1 {self.client.api_key}"}
        claim, _ = self.sandbox.app.admit(method, path, auth, body)
        try:
            yield claim is not None
        finally:
            self.sandbox.app.release(claim)


def _redactor(rules: RedactionRules | None, salt: bytes | None, api_key: str) -> Redactor:
    """One per cassette: pseudonyms are consistent within it."""
    rules = rules or RedactionRules()
    return Redactor(rules, salt, api_key) if salt else Redactor(rules, api_key=api_key)


class _SteppingClock:
    """A clock for reproducible recordings: ``start``, then one second later at every reading."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        self.readings = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.readings = 0

    def __call__(self) -> dt.datetime:
        with self._lock:
            self.readings += 1
            return self.start + dt.timedelta(seconds=self.readings - 1)


@dataclass(slots=True)
class RecordResult:
    name: str
    path: Path | None
    interactions: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def record(
    names: Iterable[str],
    out_dir: str | Path,
    *,
    target: str | None = None,
    api_key: str | None = None,
    namespace: str | None = None,
    fmt: str = "vcr",
    rules: RedactionRules | None = None,
    contract: Contract | None = None,
    progress: Callable[[RecordResult], None] | None = None,
    salt: bytes | None = None,
) -> list[RecordResult]:
    """Run the named scenarios and write their cassettes. Without ``target``, an embedded sandbox."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(sorted(SCENARIOS))}")
    contract = contract or load_contract()
    sandbox = None
    clock = _SteppingClock(RECORDING_EPOCH)
    if target is None:
        sandbox = Sandbox(contract=contract, conflicts="reject", clock=clock).start()
        target, api_key = sandbox.base_url, sandbox.api_key
        namespace = namespace or ""
        salt = salt or SANDBOX_SALT
    elif not api_key:
        raise ValueError("an API key is needed to record against an external target")
    else:
        namespace = namespace if namespace is not None else f"rec-{secrets.token_hex(3)}-"
    assert api_key is not None
    suffix = ".jsonl" if fmt == "jsonl" else ".yaml"
    results = []
    try:
        for name in names:
            function, _ = SCENARIOS[name]
            if sandbox is not None:
                clock.reset()
                sandbox.reset()
            session = requests.Session()
            client = IntegrationClient(
                target, api_key, session=session, contract=contract, retries=RetryPolicy(retries=0)
            )
            intruder = IntegrationClient(target, "revoked-" + secrets.token_hex(8), session=session, contract=contract,
                                         retries=RetryPolicy(retries=0))  # fmt: skip
            story = Story(client, intruder, namespace, sandbox,
                          origin=(target, RECORDED_ORIGIN) if sandbox is not None else None)  # fmt: skip
            client.observers.append(story._observe)
            intruder.observers.append(story._observe)
            path = Path(out_dir) / f"{name}{suffix}"
            result = RecordResult(name, path)
            try:
                function(story)
                result.interactions = save(path, story.interactions, api_key=api_key, redactor=_redactor(rules, salt, api_key),
                                           fmt=fmt)  # fmt: skip
            except (TalonContractsError, requests.RequestException, OSError) as exc:  # this story only
                result.error = f"{type(exc).__name__}: {exc}"
                result.path = None
            finally:
                session.close()
            results.append(result)
            if progress is not None:
                progress(result)
    finally:
        if sandbox is not None:
            sandbox.stop()
    return results


# The stories register themselves; imported last because they use Story and scenario from above.
from replay.recording import scenarios as _scenarios  # noqa: E402, F401
