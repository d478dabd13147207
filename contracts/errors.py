"""The two error trees of talon-contracts.

*Findings* say that the API (or a recording of it) broke the contract. They are
``AssertionError`` subclasses so that pytest and any test runner report them as
test failures, and they carry structured fields (where, what, expected, actual).

*Malfunctions* say that the tool could not do its job: an unreadable contract, an
operation that does not exist, bad arguments to the client. They derive from
:class:`TalonContractsError` and also from the builtin that describes them best,
so ``except LookupError`` or ``except TypeError`` keep working for callers who do
not know this package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ArgumentError",
    "ContractLoadError",
    "ContractViolationError",
    "ContractViolationWarning",
    "ContractWarning",
    "LoadIssue",
    "OverlayError",
    "TalonContractsError",
    "UnknownOperation",
    "Violation",
]


# --------------------------------------------------------------------------- malfunctions


class TalonContractsError(Exception):
    """Base class of every malfunction of the tool (never a finding about the API)."""


@dataclass(frozen=True, slots=True)
class LoadIssue:
    """Something in a contract document that was not understood, and what was done about it."""

    source: str
    pointer: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        pointer = self.pointer or "/"
        return f"{where} (at {pointer}): {self.message}"


class ContractWarning(UserWarning):
    """A contract document has a quirk that loading tolerated (see :class:`LoadIssue`)."""

    def __init__(self, issue: LoadIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


class ContractLoadError(TalonContractsError, ValueError):
    """A contract (or overlay) document could not be read at all."""

    def __init__(self, message: str, *, source: str, pointer: str = "", line: int | None = None) -> None:
        self.source = source
        self.pointer = pointer
        self.line = line
        self.message = message  # without the place, for errors that name it their own way
        where = source + (f":{line}" if line is not None else "")
        if pointer:
            where += f" (at {pointer})"
        super().__init__(f"{where}: {message}")


class OverlayError(ContractLoadError):
    """An overlay document is malformed (bad JSONPath, missing ``actions`` ...)."""


class UnknownOperation(TalonContractsError, LookupError):
    """No operation of the contract matches an operation id or a (method, path)."""

    def __init__(
        self,
        message: str,
        *,
        operation_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        self.operation_id = operation_id
        self.method = method
        self.path = path
        self.suggestions = tuple(suggestions)
        if self.suggestions:
            message += "; did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0])


class ArgumentError(TalonContractsError, TypeError):
    """A client call was given arguments that cannot form a valid request; nothing was sent."""

    def __init__(self, message: str, *, operation_id: str, argument: str | None = None) -> None:
        self.operation_id = operation_id
        self.argument = argument
        super().__init__(f"{operation_id}: {message}")


# --------------------------------------------------------------------------- findings


def short_json(value: Any, limit: int = 80) -> str:
    """A compact JSON-ish rendering of a value for one-line messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_text(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters for a one-line message, saying how long it was."""
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


class Violation(AssertionError):
    """One way in which a request or a response breaks the contract.

    Fields:
      operation_id  the operation (``updateCustomerSessionV2``), or None when none matched
      phase         ``"request"`` or ``"response"``
      status        the response status code (None for requests)
      location      ``path``, ``query``, ``header``, ``body``, ``status``, ``content-type``
                    or ``operation``
      pointer       JSON pointer of the offending value inside ``location`` (``/customerSession/state``
                    for a body, ``/pageSize`` for a query parameter, ``""`` for the whole thing)
      keyword       the schema keyword (or check) that failed: ``type``, ``required``, ``enum`` ...
      expected      what the contract asks for (the keyword's value)
      actual        the value found
      message       one line for a human
      schema_path   JSON pointer into the contract document of the failing keyword, when known
    """

    __slots__ = (
        "actual",
        "expected",
        "keyword",
        "location",
        "message",
        "operation_id",
        "phase",
        "pointer",
        "schema_path",
        "status",
    )

    def __init__(
        self,
        *,
        operation_id: str | None,
        phase: str,
        location: str,
        pointer: str,
        keyword: str,
        expected: Any,
        actual: Any,
        message: str,
        status: int | None = None,
        schema_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation_id = operation_id
        self.phase = phase
        self.status = status
        self.location = location
        self.pointer = pointer
        self.keyword = keyword
        self.expected = expected
        self.actual = actual
        self.message = message
        self.schema_path = schema_path

    @property
    def where(self) -> str:
        """``body/customerSession/state``, ``query/pageSize``, ``status`` ..."""
        return self.location + self.pointer

    def _key(self) -> tuple[Any, ...]:
        return (
            self.operation_id,
            self.phase,
            self.status,
            self.location,
            self.pointer,
            self.keyword,
            short_json(self.expected, 10_000),
            short_json(self.actual, 10_000),
            self.message,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Violation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        head = self.operation_id or "<no operation>"
        head += f" {self.phase}"
        if self.status is not None:
            head += f" {self.status}"
        return f"{head}: {self.where or '/'}: {self.message}"

    def __repr__(self) -> str:
        return f"Violation({self})"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across xdist workers
        return (_rebuild_violation, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "phase": self.phase,
            "status": self.status,
            "location": self.location,
            "pointer": self.pointer,
            "keyword": self.keyword,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
            "schema_path": self.schema_path,
        }


def _rebuild_violation(data: dict[str, Any]) -> Violation:
    return Violation(**data)


class ContractViolationError(AssertionError):
    """Raised (in strict mode) when an exchange broke the contract; carries every violation."""

    def __init__(self, violations: Iterable[Violation], *, request: Any = None, response: Any = None) -> None:
        self.violations = list(violations)
        self.request = request
        self.response = response
        lines = [f"{len(self.violations)} contract violation(s):"]
        lines += [f"  - {v}" for v in self.violations]
        super().__init__("\n".join(lines))


class ContractViolationWarning(UserWarning):
    """Emitted instead of :class:`ContractViolationError` when validation is in ``warn`` mode."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation
