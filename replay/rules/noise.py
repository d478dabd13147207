"""Noise rules: which differences between a recorded and a live response are expected.

Replaying a recording against a live target never yields byte-identical answers: the server stamps
every write with its clock and numbers what it creates. A *noise rule* names such a location with
a JSONPath pattern and says why it differs; the diff (``replay.engine.diff``) marks a difference at that
location as noise instead of a real change.

Patterns are RFC 9535 JSONPath (``replay.paths``): most are matched against the location of a
difference as the diff descends; a pattern that needs the document (a filter such as
``$.effects[?@.effectType=='setDiscount'].props.value``) is evaluated against both bodies when
they differ.

The built-in rules, and why each family is noise, are in ``replay.talon.noise``.

Rules files (YAML, or JSON, which is YAML)::

    version: 1
    rules:
      - path: "$..lastActivity"
        reason: "set by the server on every write"
        operations: [updateCustomerSessionV2]   # optional: only these operations
        values: timestamp                      # optional: only between date-times (or: id)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contracts.documents import read_document
from contracts.errors import ContractLoadError, TalonContractsError
from replay.cassettes import atomic_write
from replay.paths import PathMatcher, PathPattern, Token

__all__ = ["VALUE_KINDS", "NoiseRule", "NoiseRules", "NoiseRulesError", "write_rules"]


# --------------------------------------------------------------------------- rules

#: Value conditions a rule may carry (``values:`` in a rules file).
VALUE_KINDS = ("timestamp", "id")

# RFC 3339 date-time (or a full date): the only shape a "clock reading" rule explains.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
)


def _is_timestamp(value: Any) -> bool:
    return type(value) is str and _TIMESTAMP.fullmatch(value) is not None


# What a generated identifier looks like: a whole number, or one word of letters, digits and
# ``_ . : -`` (UUIDs, codes, batch ids); not a sentence, not a boolean, not a fraction.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def _is_id(value: Any) -> bool:
    return type(value) is int or (type(value) is str and _ID.fullmatch(value) is not None)


_COVERS = {"timestamp": _is_timestamp, "id": _is_id}


@dataclass(frozen=True, slots=True)
class NoiseRule:
    """A location whose differences are expected, and why.

    ``operations`` restricts the rule to those operation ids (None: every operation; a rule with
    operations never matches an exchange of no known operation). ``values`` restricts it to
    differences between values of a kind (``"timestamp"``: both sides, where present, are RFC 3339
    date-times); :meth:`matches` looks at the location only, :meth:`covers` at a value.
    """

    pattern: str
    reason: str
    operations: frozenset[str] | None = None
    source: str = "builtin"
    values: str | None = None
    _compiled: PathPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", PathPattern(self.pattern))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"noise rule {self.pattern!r}: a reason is required (it is shown in reports)")
        operations: Any = self.operations
        if operations is not None and not isinstance(operations, frozenset):
            if isinstance(operations, str):  # frozenset("op") would be a set of letters
                raise TypeError(
                    f"noise rule {self.pattern!r}: operations is a set of operation ids, not a string"
                )
            object.__setattr__(self, "operations", frozenset(operations))
        if self.values is not None and self.values not in VALUE_KINDS:
            raise ValueError(
                f"noise rule {self.pattern!r}: unknown value kind {self.values!r} (valid: {', '.join(VALUE_KINDS)})"
            )

    @property
    def compiled(self) -> PathPattern:
        return self._compiled

    def applies_to(self, operation_id: str | None) -> bool:
        return self.operations is None or operation_id in self.operations

    def matches(self, operation_id: str | None, location: Sequence[Token]) -> bool:
        """Whether the rule selects a bare location (never, for a pattern that needs the document)."""
        return self.applies_to(operation_id) and self._compiled.matches(location)

    def covers(self, value: Any) -> bool:
        """Whether a value found at a matching location is of the kind this rule explains."""
        return self.values is None or _COVERS[self.values](value)


class NoiseRules:
    """An ordered collection of rules; :meth:`match` returns the first rule that selects a location.

    Matchers are compiled per operation on first use and kept: build a ``NoiseRules`` once and
    reuse it (``replay.talon.noise.builtin_noise()`` is shared).
    """

    __slots__ = ("_by_operation", "_documents", "_rules")

    def __init__(self, rules: Iterable[NoiseRule] = ()) -> None:
        self._rules = tuple(rules)
        for rule in self._rules:
            if not isinstance(rule, NoiseRule):
                raise TypeError(f"NoiseRules holds NoiseRule objects, not {type(rule).__name__}")
        self._by_operation: dict[str | None, tuple[PathMatcher, tuple[NoiseRule, ...]]] = {}
        self._documents: dict[str | None, tuple[NoiseRule, ...]] = {}

    def matcher(self, operation_id: str | None) -> tuple[PathMatcher, tuple[NoiseRule, ...]]:
        """The compiled matcher of the location rules that apply to an operation, and those rules
        (same order). Rules whose pattern needs the document are :meth:`document_rules`."""
        found = self._by_operation.get(operation_id)
        if found is None:
            applying = [r for r in self._rules if r.applies_to(operation_id)]
            rules = tuple(r for r in applying if r.compiled.located)
            found = self._by_operation[operation_id] = (PathMatcher(r.compiled for r in rules), rules)
            self._documents[operation_id] = tuple(r for r in applying if not r.compiled.located)
        return found

    def document_rules(self, operation_id: str | None) -> tuple[NoiseRule, ...]:
        """The rules that apply to an operation and are evaluated against the bodies (filters ...)."""
        if operation_id not in self._documents:
            self.matcher(operation_id)
        return self._documents[operation_id]

    def match(self, operation_id: str | None, location: Sequence[Token]) -> NoiseRule | None:
        """The first rule that selects the location for this operation (value conditions not checked)."""
        matcher, rules = self.matcher(operation_id)
        accept = matcher.match(location)
        return rules[accept[0]] if accept else None

    def __add__(self, other: NoiseRules) -> NoiseRules:
        if not isinstance(other, NoiseRules):
            return NotImplemented
        return NoiseRules(self._rules + other._rules)

    def __iter__(self) -> Iterator[NoiseRule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"NoiseRules({len(self._rules)} rules)"

    @classmethod
    def load(cls, path: str | Path) -> NoiseRules:
        return cls(_load_rules(Path(path)))


# --------------------------------------------------------------------------- rules files


class NoiseRulesError(TalonContractsError, ValueError):
    """A noise rules file cannot be used: unreadable, not YAML, or a rule that is not valid."""

    def __init__(
        self, message: str, *, source: str, rule: int | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.rule = rule  # 1-based, as people count rules in a file
        self.line = line
        where = source + (f":{line}" if line is not None else "")
        if rule is not None:
            where += f": rule {rule}"
        super().__init__(f"{where}: {message}")


_TOP_KEYS = ("version", "rules")
_RULE_KEYS = ("path", "reason", "operations", "values")


def _near(word: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"(valid: {', '.join(valid)}){hint}"


def _load_rules(path: Path) -> list[NoiseRule]:
    source = str(path)
    # The one reader of YAML documents (contracts.documents): safe tags, bounded aliases, depth and
    # size, regular files only, and the line of every node.
    try:
        parsed = read_document(path)
    except ContractLoadError as exc:
        if exc.message == "the document is empty":
            raise NoiseRulesError(
                "the file is empty; expected 'version: 1' and 'rules:'", source=source
            ) from None
        if exc.line is not None or "YAML" in exc.message:
            raise NoiseRulesError(f"not valid YAML: {exc.message}", source=source, line=exc.line) from None
        raise NoiseRulesError(f"cannot read the noise rules: {exc.message}", source=source) from None
    document = parsed.data
    if document is None:
        raise NoiseRulesError("the file is empty; expected 'version: 1' and 'rules:'", source=source)
    if not isinstance(document, Mapping):
        raise NoiseRulesError(
            f"expected a mapping with 'version' and 'rules', found {_type_name(document)}", source=source
        )
    for key in document:
        if key not in _TOP_KEYS:
            raise NoiseRulesError(
                f"unknown top-level key {key!r} {_near(str(key), _TOP_KEYS)}", source=source
            )
    version = document.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise NoiseRulesError(f"unsupported version {version!r}; this tool reads version 1", source=source)
    raw_rules = document.get("rules")
    if raw_rules is None:
        raise NoiseRulesError("no 'rules' list (write 'rules: []' for none)", source=source)
    if not isinstance(raw_rules, list):
        raise NoiseRulesError(f"'rules' must be a list, found {_type_name(raw_rules)}", source=source)
    return [
        _rule(raw, source, number, parsed.lines.get(f"/rules/{number - 1}"))
        for number, raw in enumerate(raw_rules, start=1)
    ]


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _rule(raw: Any, source: str, number: int, line: int | None) -> NoiseRule:
    def fail(message: str) -> NoiseRulesError:
        return NoiseRulesError(message, source=source, rule=number, line=line)

    if not isinstance(raw, Mapping):
        raise fail(f"a rule is a mapping with 'path' and 'reason', found {_type_name(raw)}")
    for key in raw:
        if key not in _RULE_KEYS:
            raise fail(f"unknown key {key!r} {_near(str(key), _RULE_KEYS)}")
    for required in ("path", "reason"):
        if required not in raw:
            raise fail(f"missing {required!r}")
        value = raw[required]
        if not isinstance(value, str):
            raise fail(f"{required!r} must be a string, found {_type_name(value)}")
        if not value.strip():
            raise fail(f"{required!r} is empty")
    operations = raw.get("operations")
    if operations is not None:
        if isinstance(operations, str):
            raise fail(f"'operations' must be a list of operation ids, e.g. [{operations}]")
        if not isinstance(operations, list) or not all(isinstance(o, str) and o for o in operations):
            raise fail(f"'operations' must be a list of operation ids, found {_type_name(operations)}")
        if not operations:
            raise fail("'operations' is empty (leave it out for every operation)")
    values = raw.get("values")
    if values is not None and values not in VALUE_KINDS:
        raise fail(f"unknown 'values' kind {values!r} (valid: {', '.join(VALUE_KINDS)})")
    try:
        return NoiseRule(
            raw["path"],
            raw["reason"],
            frozenset(operations) if operations is not None else None,
            source,
            values,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people write rules files (PyYAML's default does not)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def write_rules(path: str | Path, rules: Iterable[NoiseRule], *, header: str | None = None) -> None:
    """Write rules in the rules-file format (atomically); ``NoiseRules.load`` reads them back.

    ``header`` becomes ``#`` comment lines at the top (e.g. how and when learned rules were found).
    """
    entries: list[dict[str, Any]] = []
    for rule in rules:
        entry: dict[str, Any] = {"path": rule.pattern, "reason": rule.reason}
        if rule.operations is not None:
            entry["operations"] = sorted(rule.operations)
        if rule.values is not None:
            entry["values"] = rule.values
        entries.append(entry)
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    body = yaml.dump(
        {"version": 1, "rules": entries},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=110,
    )
    text = "\n".join([*lines, body]) if lines else body
    with atomic_write(path) as stream:
        stream.write(text.encode("utf-8"))
