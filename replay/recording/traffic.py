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

from contracts.errors import ContractViolationError, Violation
from contracts.spec import Contract
from replay.cassettes.fields import RECORD_ERRORS, BadRecord
from replay.cassettes.model import Interaction
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


def exchanges_of(cassette: Any, base_url: str | None, *, source: str) -> list[Interaction]:
    """The exchanges of a vcrpy cassette worth judging: played back or recorded in this test, and,
    with ``base_url``, only those to it (a test's calls to other services are not ours to judge)."""
    loaded = getattr(cassette, "_loaded_count", 0)  # vcrpy: entries that came from the file
    prefix = base_url.rstrip("/") + "/" if base_url else None
    found: list[Interaction] = []
    for index, (request, response) in enumerate(cassette.data):
        if index < loaded and not cassette.play_counts[index]:
            continue  # in the file, not used by this test
        if prefix is not None and not str(request.uri).startswith(prefix):
            continue
        record = {"request": {"method": request.method, "uri": request.uri, "headers": dict(request.headers),
                              "body": request.body}, "response": response}  # fmt: skip
        try:
            found.append(from_record(record, source, index, None))
        except (BadRecord, *RECORD_ERRORS):
            continue  # not an exchange this toolkit can read (vcrpy's own oddities): not judged
    return found


@dataclass(slots=True)
class Judged:
    """An exchange and what is wrong with it."""

    interaction: Interaction
    operation_id: str | None
    violations: list[Violation] = field(default_factory=list)


def judge(contract: Contract, interactions: Sequence[Interaction]) -> list[Judged]:
    """Each exchange with its violations (requests strictly) and the operation it is, if any."""
    judged = []
    for interaction in interactions:
        match = contract.find(interaction.request.method, interaction.request.url)
        violations, _ = check(contract, interaction, strict_requests=True)
        judged.append(Judged(interaction, match.operation.operation_id if match else None, violations))
    return judged


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
    """A cassette recorded an answer that breaks the contract (the API's doing: it warns)."""


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
        loaded = getattr(cassette, "_loaded_count", 0)
        judged = judge(contract, exchanges_of(cassette, None, source=str(getattr(cassette, "_path", test))))
        played = [j for j in judged if j.interaction.index < loaded]
        for item in judged:
            if item.violations and item.interaction.index >= loaded:
                result.warnings.append(str(TrafficViolation([item], f"{test}: recorded")))
        what = f"{test}: the cassette {getattr(cassette, '_path', '')}"
    else:
        judged = (
            judge(contract, exchanges_of(observed, base_url, source=test)) if observed is not None else []
        )
        played = judged
        what = test
    result.exercised = {j.operation_id for j in judged if j.operation_id}
    if not expect_violations and any(j.violations for j in played):
        result.failure = TrafficViolation(played, what)
    return result
