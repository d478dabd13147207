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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

from contracts.client import IntegrationClient, RetryPolicy
from contracts.errors import TalonContractsError
from contracts.sandbox import Sandbox
from contracts.spec import Contract, load_contract
from replay.recording import scenarios as _registered  # noqa: F401  (the stories register themselves)
from replay.recording.redaction import RedactionRules, Redactor, save
from replay.recording.stories import SCENARIOS, ScenarioFailed, Story

__all__ = ["RecordResult", "record"]

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
    #: the error is a finding about the target (it did not answer as the story expects), not a
    #: failure to record (unreachable target, a credential left in a cassette ...)
    finding: bool = False

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
    clock = _SteppingClock(RECORDING_EPOCH)
    sandbox = None
    if target is None:
        sandbox = Sandbox(contract=contract, conflicts="reject", clock=clock).start()
        target, api_key = sandbox.base_url, sandbox.api_key
        namespace = namespace or ""
        salt = salt or SANDBOX_SALT
    elif not api_key:
        raise ValueError("an API key is needed to record against an external target")
    else:
        namespace = namespace if namespace is not None else f"rec-{secrets.token_hex(3)}-"
    recorder = _Recorder(target, api_key, namespace, contract, sandbox, clock, rules, salt, fmt)
    results = []
    try:
        for name in names:
            result = recorder.story(name, Path(out_dir))
            results.append(result)
            if progress is not None:
                progress(result)
    finally:
        if sandbox is not None:
            sandbox.stop()
    return results


@dataclass(slots=True)
class _Recorder:
    """What every story of one ``record`` run shares."""

    target: str
    api_key: str
    namespace: str
    contract: Contract
    sandbox: Sandbox | None
    clock: _SteppingClock
    rules: RedactionRules | None
    salt: bytes | None
    fmt: str

    def story(self, name: str, out_dir: Path) -> RecordResult:
        """Run one scenario from a fresh state (on the sandbox) and write its redacted cassette."""
        function, _ = SCENARIOS[name]
        if self.sandbox is not None:
            self.clock.reset()
            self.sandbox.reset()
        path = out_dir / f"{name}{'.jsonl' if self.fmt == 'jsonl' else '.yaml'}"
        result = RecordResult(name, path)
        session = requests.Session()
        try:
            story = self._story(session)
            function(story)
            redactor = _redactor(self.rules, self.salt, self.api_key)
            result.interactions = save(
                path, story.interactions, api_key=self.api_key, redactor=redactor, fmt=self.fmt
            )
        except (
            ScenarioFailed,
            TalonContractsError,
            requests.RequestException,
            OSError,
        ) as exc:  # this story only
            result.error = f"{type(exc).__name__}: {exc}"
            result.finding = isinstance(exc, ScenarioFailed)
            result.path = None
        finally:
            session.close()
        return result

    def _story(self, session: requests.Session) -> Story:
        """A story's clients (the key in use, and a revoked one for the 401s), observed as they talk."""
        contract, target, no_retries = self.contract, self.target, RetryPolicy(retries=0)
        client = IntegrationClient(
            target, self.api_key, session=session, contract=contract, retries=no_retries
        )
        intruder = IntegrationClient(target, "revoked-" + secrets.token_hex(8), session=session, contract=contract,
                                     retries=no_retries)  # fmt: skip
        story = Story(client, intruder, self.namespace, self.sandbox,
                      origin=(target, RECORDED_ORIGIN) if self.sandbox is not None else None)  # fmt: skip
        client.observers.append(story.observe)
        intruder.observers.append(story.observe)
        return story
