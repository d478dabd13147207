"""Customer stories: what a scenario talks to (:class:`Story`) and the registry of scenarios.

A scenario is a function of a :class:`Story` registered with :func:`scenario`; the stories behind
the committed cassettes are in ``replay.recording.scenarios``, and ``replay.recording.record`` runs
them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from contracts.client import ApiError, ApiResponse, IntegrationClient
from contracts.http import HttpRequest, HttpResponse
from contracts.sandbox import Sandbox
from replay.cassettes.model import Interaction
from replay.talon.policies import authorization

__all__ = ["SCENARIOS", "Scenario", "ScenarioFailed", "Story", "scenario"]

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


class ScenarioFailed(AssertionError):
    """The target did not answer as the story expects (the cassette would tell a different story).

    A finding about the target, not a malfunction: ``record`` exits 1 for it, 2 for anything else.
    """


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

    def observe(self, result: ApiResponse) -> None:
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
        headers = {"Authorization": authorization(self.client.api_key), "Accept": "application/json"}
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
        auth = {"authorization": authorization(self.client.api_key)}
        claim, _ = self.sandbox.app.admit(method, path, auth, body)
        try:
            yield claim is not None
        finally:
            self.sandbox.app.release(claim)
