"""What a capture does with one exchange once it is over: story, sampling, validation, redaction,
the secret check, one line in the story's file.

Nothing is written that has not been redacted: the line is made from the redacted interaction,
searched for the key the request carried and anything shaped like a key, and dropped (counted,
said once) if one survived. Validation (``--validate``) judges what went over the wire, before
redaction, and only logs: the traffic is never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse
from contracts.model import Match
from contracts.spec import Contract
from replay.capture.stories import Sampler, Stories
from replay.capture.writer import CaptureWriter
from replay.cassettes.jsonl import to_jsonl
from replay.cassettes.model import Interaction, plain
from replay.recording.redaction import Redactor, find_secrets
from replay.verify import check

__all__ = ["CaptureStats", "Exchange", "Recorder"]

log = logging.getLogger("replay.capture")

Headers = Sequence[tuple[str, str]]


@dataclass(slots=True)
class Exchange:
    """One request and what came of it, as the proxy saw it (bodies as they went over the wire)."""

    method: str
    url: str  # the upstream URL
    request_headers: Headers
    request_body: bytes
    started: float  # time.time() when the request arrived
    status: int | None = None  # None: no answer from upstream (``error`` says why)
    response_headers: Headers = ()
    response_body: bytes = b""
    elapsed: float = 0.0  # seconds, arrival to the end of the answer
    error: str | None = None


@dataclass(slots=True)
class CaptureStats:
    """The counts of the status line and the summary."""

    proxied: int = 0  # every request forwarded, recorded or not
    recorded: int = 0
    sampled_out: int = 0
    filtered_out: int = 0  # not one of --operation
    passed_through: int = 0  # not an Integration API call: forwarded, never recorded
    violations: int = 0  # exchanges breaking the contract (--validate)
    upstream_errors: int = 0  # no answer from upstream (502/504 sent to the client)
    refused: int = 0  # a credential survived redaction: the line was not written
    aborted: int = 0  # the client hung up before its request was whole
    too_large: int = 0  # a body past what is recorded: forwarded, not recorded
    malfunctions: int = 0  # the tool failed on an exchange (a bug of ours): not recorded
    dropped: int = 0  # recording fell behind the traffic: not recorded (see replay.capture.background)


def _header_lists(headers: Headers) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for name, value in headers:
        lists.setdefault(name, []).append(value)
    return lists


def _still_encoded(interaction: Interaction) -> str | None:
    """The Content-Encoding of a message redaction could not decode (it drops the header of a body it
    decoded), if any: such a body is written as it came, personal data included."""
    for message in (interaction.request, interaction.response):
        if message is None or not message.body:
            continue
        for name, values in dict(message.headers).items():
            if name.lower() == "content-encoding":
                value = ", ".join(values) if isinstance(values, list) else str(values)
                if value.strip().lower() not in ("", "identity"):
                    return value
    return None


def _credential(headers: Headers) -> str | None:
    """The key the request carried (searched for in what is written)."""
    for name, value in headers:
        if name.lower() == "authorization":
            return value.partition(" ")[2].strip() or value
    return None


@dataclass(slots=True)
class Recorder:
    contract: Contract
    writer: CaptureWriter
    redactor: Redactor
    stories: Stories
    sampler: Sampler = field(default_factory=Sampler)
    operations: frozenset[str] | None = None  # only these (None: all)
    validate: bool = False
    stats: CaptureStats = field(default_factory=CaptureStats)
    on_violation: Callable[[str, Violation], None] | None = None
    _said: set[str] = field(default_factory=set)

    def once(self, key: str, message: str, *args: Any, level: int = logging.WARNING) -> None:
        """Log ``message`` the first time ``key`` comes up."""
        if key not in self._said:
            self._said.add(key)
            log.log(level, message, *args)

    def wants(self, method: str, url: str) -> Match | None:
        """The operation of a request to record; None (counted) for one only forwarded."""
        match = self.contract.find(method, url)
        if match is None:
            self.stats.passed_through += 1
            self.once("passthrough", "not Integration API calls (such as %s %s) are forwarded, not recorded",
                      method, url.split("?")[0][:200], level=logging.INFO)  # fmt: skip
            return None
        if self.operations is not None and match.operation.operation_id not in self.operations:
            self.stats.filtered_out += 1
            return None
        return match

    def counts(self) -> tuple[CaptureStats, int, int, int]:
        """(the stats; lines, bytes and segments written): what the status line shows."""
        writer = self.writer
        return self.stats, writer.lines_written, writer.bytes_written, len(writer.segments)

    @property
    def failed(self) -> str | None:
        return self.writer.failed

    def close(self) -> None:
        self.writer.close()

    def tick(self) -> None:
        self.writer.tick()

    def safely(self, match: Match, exchange: Exchange) -> None:
        """:meth:`record`, where a failure of ours costs that exchange's line, never the proxying
        (the answer has gone back already): counted, and said once with what failed."""
        try:
            self.record(match, exchange)
        except Exception as exc:  # a malfunction of the tool, not a finding about the traffic
            self.stats.malfunctions += 1
            self.once(f"malfunction:{type(exc).__name__}", "internal error while recording %s %s (not recorded; "
                      "please report it): %s: %s", exchange.method, exchange.url.split("?")[0][:200],
                      type(exc).__name__, exc, level=logging.ERROR)  # fmt: skip

    def record(self, match: Match, exchange: Exchange) -> None:
        """Judge, redact and write one exchange of an operation :meth:`wants`."""
        operation_id = match.operation.operation_id
        body: Any = None
        if exchange.request_body:
            _, plain_body = plain(dict(exchange.request_headers), exchange.request_body)
            try:
                body = orjson.loads(plain_body or b"")
            except (orjson.JSONDecodeError, TypeError):
                body = None
        story = self.stories.story(operation_id, match.path_params, body)
        if not self.sampler.keeps(story):
            self.stats.sampled_out += 1
            return
        cleaned = self.redactor.interaction(self._interaction(exchange))
        if self.validate and exchange.status is not None:
            # judged redacted (pseudonyms keep their shape): a violation's message quotes the value
            # it found, and logs must not carry what the files do not
            self._validate(operation_id, cleaned)
        found = find_secrets(cleaned, _credential(exchange.request_headers))
        if found:
            self.stats.refused += 1
            self.once(f"secret:{operation_id}", "not written: a credential survived redaction in %s (%s)",
                      operation_id, ", ".join(found))  # fmt: skip
            return
        encoded = _still_encoded(cleaned)
        if encoded is not None:  # br, zstd, or past the decoding caps: it could not be searched or redacted
            self.stats.refused += 1
            self.once(f"encoded:{encoded}", "not written: a body still in Content-Encoding %s could not be "
                      "redacted (the shop may offer only gzip and deflate)", encoded)  # fmt: skip
            return
        record = to_jsonl(cleaned)
        if exchange.error is not None:
            record["error"] = exchange.error
        if self.writer.write(story, orjson.dumps(record) + b"\n"):
            self.stats.recorded += 1

    def _interaction(self, exchange: Exchange) -> Interaction:
        request = HttpRequest(exchange.method, exchange.url, _header_lists(exchange.request_headers),
                              exchange.request_body)  # fmt: skip
        response = None
        if exchange.status is not None:
            response = HttpResponse(
                exchange.status, _header_lists(exchange.response_headers), exchange.response_body
            )
        started = dt.datetime.fromtimestamp(exchange.started, dt.timezone.utc)
        index = self.stats.recorded
        return Interaction("capture", index, request, response,
                           recorded_at=started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           elapsed=exchange.elapsed)  # fmt: skip

    def _validate(self, operation_id: str, interaction: Interaction) -> None:
        # strict: a bad request the shop sent is what a monitor is for, even when answered a documented 400
        violations, _ = check(self.contract, interaction, strict_requests=True)
        if not violations:
            return
        self.stats.violations += 1
        for violation in violations:
            if self.on_violation is not None:
                self.on_violation(operation_id, violation)
            else:
                log.warning(
                    "%s %s %s: %s", operation_id, violation.phase, violation.pointer or "/", violation.message
                )
