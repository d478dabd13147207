"""What the request and the response checks share: the contract they read, and its compiled schemas.

:class:`SchemaChecks` converts and compiles each schema once per (operation, status or part, media
type or name, direction), caches it (thread-safe), and checks instances against it: the engine's
fast ``is_valid`` first, the detailed pass (:mod:`contracts.validation.violations`) only for an
instance that fails.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

from ..errors import ContractWarning, LoadIssue, Violation
from ..model import Match, Operation
from ..schema import BundledSchema, SchemaCompiler
from .engines import ENGINES, Compiled, rs_available
from .reading import ParamPlan
from .violations import describe_errors

__all__ = ["ContractView", "SchemaChecks"]


class ContractView(Protocol):
    """What the checks need of a contract; :class:`contracts.spec.Contract` is one.

    A protocol rather than the class: the contract builds its own shared validator
    (``Contract.validator()``), so the validator must not import the contract's module back.
    """

    @property
    def source(self) -> str: ...

    @property
    def issues(self) -> list[Any]: ...

    @property
    def security_schemes(self) -> dict[str, dict[str, Any]]: ...

    @property
    def compiler(self) -> SchemaCompiler: ...

    def __iter__(self) -> Iterator[Operation]: ...

    def operation(self, operation_id: str | Operation) -> Operation: ...

    def find(self, method: str, url: str) -> Match | None: ...

    def match(self, method: str, url: str) -> Match: ...

    def path_params(self, operation: str | Operation, url: str) -> dict[str, str] | None: ...

    def schema_top(self, schema: Any) -> dict[str, Any]: ...


class SchemaChecks:
    """One contract's compiled schemas, and instances checked against them."""

    def __init__(
        self,
        contract: ContractView,
        *,
        engine: str = "auto",
        max_errors: int = 50,
        report_unknown_query: bool = False,
    ) -> None:
        if engine == "auto":
            engine = "rs" if rs_available() else "python"
        if engine not in ENGINES:
            raise ValueError(f"unknown validation engine {engine!r}; valid: auto, {', '.join(ENGINES)}")
        self.contract = contract
        self.engine = engine
        self.max_errors = max_errors
        self.report_unknown_query = report_unknown_query
        self._engine_cls = ENGINES[engine]
        self._cache: dict[tuple[str, str, str, str], Compiled] = {}
        self._params: dict[str, list[ParamPlan]] = {}
        self._lock = threading.Lock()

    # -- compilation

    def compiled(self, schema: Any, origin: str, direction: str, key: tuple[str, str, str, str]) -> Compiled:
        found = self._cache.get(key)
        if found is None:
            with self._lock:
                found = self._cache.get(key)
                if found is None:
                    bundled = self.contract.compiler.bundle(schema, origin, direction)
                    try:
                        engine = self._engine_cls(bundled.schema)
                    except Exception as exc:  # a schema the engine refuses: report it, never crash
                        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                        issue = LoadIssue(
                            self.contract.source,
                            origin,
                            f"schema cannot be compiled ({message}); not checked",
                        )
                        self.contract.issues.append(issue)
                        warnings.warn(ContractWarning(issue), stacklevel=2)
                        bundled = BundledSchema(True, origin, {})
                        engine = self._engine_cls(True)
                    found = Compiled(bundled, engine)
                    self._cache[key] = found
        return found

    # -- schema checks

    def _schema_violations(
        self,
        compiled: Compiled,
        instance: Any,
        *,
        operation_id: str | None,
        phase: str,
        status: int | None,
        location: str,
        base: str,
    ) -> list[Violation]:
        if compiled.engine.is_valid(instance):
            return []
        return describe_errors(
            compiled,
            instance,
            self.max_errors,
            operation_id=operation_id,
            phase=phase,
            status=status,
            location=location,
            base=base,
        )
