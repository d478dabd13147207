"""Every exchange the code under test has with the Talon.One API, whichever client sends it, checked
against the contract (the plugin's ``talon_traffic``).

vcrpy already patches the clients teams use: ``requests`` and ``urllib3`` (the transport of the
official ``talon_one`` SDK), ``httpx``, ``aiohttp``, ``http.client``. A vcrpy cassette that records
every exchange into memory and saves nothing (:class:`_Memory`) sees them all on their way, with
nothing of the code under test changed: the exchanges with the base URL are then judged like a
cassette's (``replay.verify.check``, requests strictly: a wrong type the shop sends is named even
when the API answers it with a documented 400). With ``talon_cassette`` the cassette the test
already uses is judged instead: the interactions it played back and those it recorded.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from contracts.errors import ContractViolationError, Violation
from contracts.model import Operation
from contracts.spec import Contract
from contracts.validation.undocumented import undocumented_fields
from replay.cassettes.fields import RECORD_ERRORS, BadRecord
from replay.cassettes.model import Interaction, plain
from replay.cassettes.vcr import from_record
from replay.verify import check

__all__ = [
    "Judged",
    "TrafficViolation",
    "TrafficWarning",
    "Verdict",
    "exchanges_of",
    "judge",
    "observing",
    "served",
    "verdict",
]


class _Memory:
    """A vcrpy persister that keeps nothing: every cassette starts empty and is never written."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError

        raise CassetteNotFoundError()

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        return None


@contextlib.contextmanager
def observing() -> Iterator[Any]:
    """A vcrpy cassette that lets every request through and remembers each exchange, in memory."""
    import vcr

    recorder = vcr.VCR(record_mode="all", decode_compressed_response=False)
    recorder.register_persister(_Memory)
    with recorder.use_cassette("talon-traffic (in memory)") as cassette:
        yield cassette


def track_playback(cassette: Any) -> None:
    """Remember what a cassette plays back with the request the test really sent: vcrpy matches on
    method, path and query, so the recorded request may have had another body (the one judged must
    be the code's, today's)."""
    played: list[tuple[Any, Any]] = []
    play = cassette.play_response

    def play_and_remember(request: Any) -> Any:
        response = play(request)
        played.append((request, response))
        return response

    cassette.play_response = play_and_remember
    cassette.talon_played = played


def _interaction(request: Any, response: Any, source: str, index: int) -> Interaction | None:
    record = {"request": {"method": request.method, "uri": request.uri, "headers": dict(request.headers),
                          "body": request.body}, "response": response}  # fmt: skip
    try:
        return from_record(record, source, index, None)
    except (BadRecord, *RECORD_ERRORS):
        return None  # not an exchange this toolkit can read (vcrpy's own oddities): not judged


def _where(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) with the default port made explicit: vcrpy writes
    ``https://x.talon.one/...`` for a base URL given as ``https://x.talon.one:443``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/") + "/"


def _under(url: str, base: tuple[str, str, int, str]) -> bool:
    try:
        scheme, host, port, path = _where(url)
    except ValueError:
        return False
    return (scheme, host, port) == base[:3] and path.startswith(base[3])


def exchanges_of(
    cassette: Any, base_url: str | None, *, source: str
) -> tuple[list[Interaction], list[Interaction]]:
    """(played back, recorded) exchanges of a vcrpy cassette in this test; with ``base_url``, only
    those to it (a test's calls to other services are not ours to judge). What was played is taken
    with the requests the test sent (``track_playback``), when the cassette was tracked."""
    loaded = getattr(cassette, "_loaded_count", 0)  # vcrpy: entries that came from the file
    prefix = _where(base_url) if base_url else None
    pairs = list(getattr(cassette, "talon_played", None) or [
        cassette.data[index] for index in range(loaded) if cassette.play_counts[index]
    ])  # fmt: skip
    recorded = list(cassette.data[loaded:])
    sides: tuple[list[Interaction], list[Interaction]] = ([], [])
    for side, exchanges in zip(sides, (pairs, recorded), strict=True):
        for index, (request, response) in enumerate(exchanges):
            if prefix is not None and not _under(str(request.uri), prefix):
                continue
            found = _interaction(request, response, source, index)
            if found is not None:
                side.append(found)
    return sides


@dataclass(slots=True)
class Judged:
    """An exchange and what is wrong with it; ``undocumented``: the fields its request sent that the
    contract does not describe (valid, and ignored by the API: a client newer than the contract)."""

    interaction: Interaction
    operation_id: str | None
    violations: list[Violation] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)


_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


def served(contract: Contract, url: str) -> bool:
    """The contract serves this path under some method (another API on the same host does not)."""
    return any(contract.find(method, url) for method in _METHODS)


def judge(contract: Contract, interactions: Sequence[Interaction]) -> list[Judged]:
    """Each exchange with its violations (requests strictly) and the operation it is, if any. A path
    the contract serves under no method is not judged: another API on the same host (Talon.One's
    Management API) is not this contract's business; an undocumented method on a served path is."""
    judged = []
    for interaction in interactions:
        request = interaction.request
        match = contract.find(request.method, request.url)
        if match is None and not served(contract, request.url):
            continue
        violations, _ = check(contract, interaction, strict_requests=True)
        undocumented = (
            _undocumented(contract, match.operation, interaction) if match and not violations else []
        )
        judged.append(
            Judged(interaction, match.operation.operation_id if match else None, violations, undocumented)
        )
    return judged


def _undocumented(contract: Contract, operation: Operation, interaction: Interaction) -> list[str]:
    body = operation.request_body
    media = body.content.get("application/json") if body is not None else None
    headers, raw = plain(interaction.request.headers, interaction.request.body)
    if media is None or not raw or "json" not in headers.get("content-type", "json"):
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []  # (the check above says what is wrong with it)
    return undocumented_fields(contract, media.schema, value)


def _undocumented_warning(judged: Sequence[Judged], test: str) -> str | None:
    sent = [j for j in judged if j.undocumented]
    if not sent:
        return None
    lines = [
        f"{test}: {len(sent)} request(s) sent fields the contract does not describe (the API ignores them):"
    ]
    for item in sent:
        request = item.interaction.request
        lines.append(f"  {request.method} {request.url.split('?')[0]} ({item.operation_id}): "
                     + ", ".join(item.undocumented[:10]) + (" ..." if len(item.undocumented) > 10 else ""))  # fmt: skip
    return "\n".join(lines)


class TrafficViolation(ContractViolationError):
    """The test's exchanges with the API broke the contract: each exchange, then its violations."""

    def __init__(self, judged: Sequence[Judged], what: str) -> None:
        broken = [j for j in judged if j.violations]
        super().__init__([v for j in broken for v in j.violations])
        lines = [f"{what}: {len(broken)} of {len(judged)} exchange(s) with the API broke the contract"]
        for item in broken:
            request = item.interaction.request
            status = (
                item.interaction.response.status if item.interaction.response is not None else "no answer"
            )
            lines.append(f"  {request.method} {request.url.split('?')[0]} -> {status} "
                         f"({item.operation_id or 'no operation of the contract'})")  # fmt: skip
            lines += [f"    - {violation}" for violation in item.violations]
        self.args = ("\n".join(lines),)


class TrafficWarning(UserWarning):
    """A cassette recorded an answer that breaks the contract (the API's doing), or a request sent
    fields the contract does not describe (valid, and ignored): a warning, not a failure."""


@dataclass(slots=True)
class Verdict:
    """What a test's traffic comes to: the operations it exercised, and what fails it or warns."""

    exercised: set[str] = field(default_factory=set)
    failure: TrafficViolation | None = None
    warnings: list[str] = field(default_factory=list)

    def conclude(self) -> None:
        __tracebackhide__ = True  # (pytest shows the test's failure, not this frame)
        for text in self.warnings:
            warnings.warn(text, TrafficWarning, stacklevel=2)
        if self.failure is not None:
            raise self.failure


def verdict(
    contract: Contract, *, cassette: Any = None, observed: Any = None, base_url: str | None = None,
    expect_violations: bool = False, test: str = "",
) -> Verdict:  # fmt: skip
    """Judge a test's exchanges: a ``talon_cassette``'s (what it played back fails the test when it
    breaks the contract; what it recorded only warns: the answer is the API's, the cassette says
    so), or those ``talon_traffic`` observed with ``base_url`` (any violation fails the test).
    ``expect_violations`` (the test says it sends or plays broken exchanges on purpose): nothing fails."""
    result = Verdict()
    if cassette is not None:
        source = str(getattr(cassette, "_path", test))
        played, recorded = (judge(contract, side) for side in exchanges_of(cassette, None, source=source))
        failing = list(played)
        for item in recorded:
            if any(v.phase == "request" for v in item.violations):
                failing.append(item)  # the code's own request: it fails now, not only when played back
            elif item.violations:  # the answer is the API's: the recording says so, and warns
                result.warnings.append(str(TrafficViolation([item], f"{test}: recorded")))
        judged = played + recorded
        what = f"{test}: the cassette {getattr(cassette, '_path', '')}"
    else:
        judged = (
            judge(contract, exchanges_of(observed, base_url, source=test)[1]) if observed is not None else []
        )
        failing, what = judged, test
    result.exercised = {j.operation_id for j in judged if j.operation_id}
    undocumented = _undocumented_warning(judged, test)
    if undocumented is not None:
        result.warnings.append(undocumented)
    if not expect_violations and any(j.violations for j in failing):
        result.failure = TrafficViolation(failing, what)
    return result
