"""The JSON Schema engines behind the validator, and the compiled schemas they give.

Two engines answer the same protocol (:class:`CompiledSchema`): ``jsonschema-rs`` (compiled; the
default) and the pure-Python ``jsonschema``, the fallback where no ``jsonschema-rs`` wheel exists
and the reference in tests. Each reports its errors as :class:`RawError`, before they become
violations (:mod:`contracts.validation.violations`).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..schema import BundledSchema, ecma_pattern

__all__ = ["ENGINES", "Compiled", "CompiledSchema", "RawError", "rs_available"]


@dataclass(slots=True)
class RawError:
    """An engine's error, before it becomes a :class:`Violation`."""

    keyword: str
    instance_path: list[str | int]
    schema_path: list[str | int]
    expected: Any
    actual: Any
    message: str


class CompiledSchema(Protocol):
    def is_valid(self, instance: Any) -> bool: ...

    def errors(self, instance: Any) -> Iterator[RawError]: ...


class _RsCompiled:
    __slots__ = ("_validator", "is_valid")

    def __init__(self, schema: Any) -> None:
        import jsonschema_rs

        self._validator = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True, ignore_unknown_formats=True
        )
        self.is_valid = self._validator.is_valid

    def errors(self, instance: Any) -> Iterator[RawError]:
        for error in self._validator.iter_errors(instance):
            kind = error.kind
            name = kind.name
            if name in ("anyOf", "oneOf", "not"):
                expected: Any = None  # filled in from the schema by the validator
            elif name == "additionalProperties":
                expected = list(getattr(kind, "unexpected", []))
            elif name == "type":
                types = list(kind.value)
                expected = types[0] if len(types) == 1 else types
            else:
                expected = kind.value
            yield RawError(
                name,
                list(error.instance_path),
                list(error.schema_path),
                expected,
                error.instance,
                error.message,
            )


@functools.lru_cache(maxsize=1024)
def _python_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


@functools.cache
def _ecma_validator_class() -> Any:
    r"""jsonschema's Draft 2020-12 validator, with ``pattern`` read as ECMA-262 (as JSON Schema
    says and jsonschema-rs does): Python's ``\s`` also matches U+0085, its ``\d`` any digit."""
    import jsonschema

    def pattern(validator: Any, expected: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not _python_regex(expected).search(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {expected!r}")

    base = jsonschema.Draft202012Validator
    return jsonschema.validators.extend(base, {"pattern": pattern})  # type: ignore[no-untyped-call]


class _PyCompiled:
    __slots__ = ("_paths", "_schema", "_validator")

    def __init__(self, schema: Any) -> None:
        cls = _ecma_validator_class()
        self._schema = schema
        self._validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self._paths: dict[int, list[str | int]] | None = None

    def is_valid(self, instance: Any) -> bool:
        return bool(self._validator.is_valid(instance))

    def _path_of(self, node: Any) -> list[str | int] | None:
        """Where a subschema sits in the bundled schema.

        jsonschema reports schema paths relative to the last ``$ref`` target, so the failing
        subschema is located by identity instead (built once, on the first error).
        """
        if self._paths is None:
            paths: dict[int, list[str | int]] = {}
            stack: list[tuple[Any, list[str | int]]] = [(self._schema, [])]
            while stack:
                current, path = stack.pop()
                if isinstance(current, dict):
                    paths.setdefault(id(current), path)
                    stack.extend((v, [*path, k]) for k, v in current.items())
                elif isinstance(current, list):
                    stack.extend((v, [*path, i]) for i, v in enumerate(current))
            self._paths = paths
        return self._paths.get(id(node))

    def errors(self, instance: Any) -> Iterator[RawError]:
        for error in self._validator.iter_errors(instance):
            keyword = str(error.validator)
            expected: Any = error.validator_value
            if keyword == "required":
                name = error.message.rsplit(" is a required property", 1)[0]
                try:
                    expected = ast.literal_eval(name)
                except (ValueError, SyntaxError):
                    expected = name
            elif keyword == "additionalProperties":
                expected = sorted(set(error.instance) - set((error.schema or {}).get("properties", {})))
            elif keyword in ("anyOf", "oneOf", "not"):
                expected = None
            elif keyword == "false":
                keyword = "falseSchema"
            parent = self._path_of(error.schema)
            schema_path = (
                [*parent, error.relative_schema_path[-1]]
                if parent is not None and error.relative_schema_path
                else list(error.absolute_schema_path)
            )
            yield RawError(
                keyword, list(error.absolute_path), schema_path, expected, error.instance, error.message
            )


def rs_available() -> bool:
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the platform
        return False
    return True


ENGINES: dict[str, type] = {"rs": _RsCompiled, "python": _PyCompiled}


@dataclass(slots=True)
class Compiled:
    """A schema as the validator keeps it: bundled (for pointers into the contract) and compiled."""

    bundled: BundledSchema
    engine: CompiledSchema
