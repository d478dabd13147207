"""What a contract is made of: operations, their parameters, bodies and responses, and a match.

These are plain frozen records, built once by :mod:`contracts.indexing` when a contract loads and
read by everything else (validator, client, sandbox, spec diff). They carry no behaviour beyond
reading themselves, so every layer can import them without importing the loader.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MISSING",
    "Match",
    "MediaType",
    "Operation",
    "Parameter",
    "RequestBody",
    "ResponseSpec",
    "python_name",
]

#: a parameter's default when its schema gives none (falsy; ``None`` may be a real default)
MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>", "__bool__": lambda self: False})()


def python_name(name: str) -> str:
    """``updateCustomerSessionV2`` -> ``update_customer_session_v2`` (the Talon.One SDK's spelling)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2,})", "_", name)
    snake = re.sub(r"\W+", "_", snake).strip("_").lower() or "_"
    if snake[0].isdigit() or keyword.iskeyword(snake):
        snake += "_"
    return snake


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # "path" | "query" | "header" | "cookie"
    required: bool
    schema: Any  # as written in the contract (may be a $ref)
    schema_pointer: str
    resolved: dict[str, Any]  # top level of the schema with $refs followed
    style: str
    explode: bool
    python_name: str
    default: Any = MISSING
    deprecated: bool = False
    pointer: str = ""  # of the parameter object itself ($refs followed)
    media_type: str | None = None  # for a parameter given by `content` instead of `schema`
    allow_empty: bool = False  # allowEmptyValue


@dataclass(frozen=True, slots=True)
class MediaType:
    media_type: str
    schema: Any | None
    schema_pointer: str


@dataclass(frozen=True, slots=True)
class RequestBody:
    required: bool
    content: Mapping[str, MediaType]


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    key: str  # "200", "2XX" or "default"
    description: str
    content: Mapping[str, MediaType]
    headers: tuple[Parameter, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # template, e.g. /v2/customer_sessions/{customerSessionId}
    pointer: str
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    responses: Mapping[str, ResponseSpec]
    security: tuple[Mapping[str, Any], ...]
    summary: str = ""
    tags: tuple[str, ...] = ()
    python_name: str = ""
    deprecated: bool = False

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"

    def __repr__(self) -> str:
        return f"<Operation {self.operation_id}: {self.method} {self.path}>"

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        """Path parameters in the order they appear in the template."""
        order = re.findall(r"{([^}]+)}", self.path)
        by_name = {p.name: p for p in self.parameters if p.location == "path"}
        return tuple(by_name[n] for n in order if n in by_name)

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.responses)

    def response_for(self, status: int) -> ResponseSpec | None:
        """The documented response for ``status``: exact code, then ``2XX`` range, then ``default``."""
        exact = self.responses.get(str(status))
        if exact is not None:
            return exact
        ranged = self.responses.get(f"{status // 100}XX")  # keys were upper-cased when indexed
        return ranged if ranged is not None else self.responses.get("default")


@dataclass(frozen=True, slots=True)
class Match:
    operation: Operation
    path_params: dict[str, str]
