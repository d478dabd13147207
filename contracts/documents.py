"""Reading JSON/YAML documents safely and tolerantly.

Contract documents come from vendors and are not always strictly valid. Reading one
must never execute anything (safe tags only), never crash on a quirk, and say where
each quirk is (file, line, JSON pointer). So instead of letting PyYAML build Python
objects, we let it *compose* the node graph (with the C parser when available) and
build the data ourselves, tracking the JSON pointer of every node.

Scalars are resolved with YAML 1.2 core-schema rules, which is what OpenAPI means by
YAML: ``yes``/``no``/``on``/``off`` stay strings, ``0755`` is decimal, and timestamps
stay strings (OpenAPI examples are strings on the wire; a ``datetime`` object would
not survive JSON serialisation).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ContractLoadError, LoadIssue

try:  # the C parser is ~10x faster; fall back silently where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

__all__ = [
    "MAX_ALIASED_VALUES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "AliasBudget",
    "Document",
    "ExcessiveAliases",
    "escape_pointer_token",
    "join_pointer",
    "parse_document",
    "read_document",
]

#: The most values YAML aliases may stand for in one document (or one cassette record). A "billion
#: laughs" text of a few hundred bytes (ten aliases of ten aliases, nine deep) stands for 10^9
#: values; no contract, overlay or cassette we know uses aliases for more than a few hundred (our
#: overlay: 8 aliases of ~10 values each; vcrpy never writes any).
MAX_ALIASED_VALUES = 100_000
#: How deep YAML or JSON may nest. The deepest vendor schema is 24 levels; Python's own stack
#: would end near 1,000 with a RecursionError (an internal error, not a message).
MAX_DEPTH = 300
#: The largest file a document may be read from: the biggest vendor release is 1.7 MB.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


class ExcessiveAliases(ValueError):
    """YAML aliases that stand for more values than :data:`MAX_ALIASED_VALUES`."""


class AliasBudget:
    """What the aliases read so far stand for, against :data:`MAX_ALIASED_VALUES`: the one bound on
    alias expansion, shared by the document reader here and the cassette reader."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: int = MAX_ALIASED_VALUES) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, values: int) -> None:
        """Note an alias standing for ``values`` values; raise :class:`ExcessiveAliases` past the limit."""
        self.spent += values
        if self.spent > self.limit:
            raise ExcessiveAliases(
                f"YAML aliases here stand for more than {self.limit:,} values (a 'billion laughs' "
                "document?); refused"
            )


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_VALUE = "tag:yaml.org,2002:value"  # YAML 1.1's "=" scalar: no safe constructor exists


class _Loader(_BaseLoader):
    """Composes nodes only; resolvers follow the YAML 1.2 core schema."""

    # PyYAML's own resolve() runs in Python once per node, even under the C parser, and was 0.22 s of
    # the 0.48 s that composing a 1.7 MB vendor document takes. With no path resolvers and no wildcard
    # resolvers (we register neither) it is one dict lookup and a regex or two.
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    (_MERGE, r"^<<$", "<"),
    (_VALUE, r"^=$", "="),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    if len(tokens) == 1:  # the common case, once per node read: 2.8 -> 0.6 us
        text = tokens[0] if type(tokens[0]) is str else str(tokens[0])
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        return base + "/" + text
    return base + "".join("/" + escape_pointer_token(t) for t in tokens)


@dataclass(slots=True)
class Document:
    """Parsed data plus everything learned while reading it."""

    data: Any
    source: str
    issues: list[LoadIssue] = field(default_factory=list)
    #: JSON pointer -> 1-based line of the node, for YAML sources (empty for JSON and dicts)
    lines: dict[str, int] = field(default_factory=dict)
    base_dir: Path | None = None

    def issue(self, pointer: str, message: str, line: int | None = None) -> None:
        self.issues.append(LoadIssue(self.source, pointer, message, line or self.line_of(pointer)))

    def line_of(self, pointer: str) -> int | None:
        """Line of the node at ``pointer``, or of its nearest ancestor that has one."""
        while True:
            line = self.lines.get(pointer)
            if line is not None or not pointer:
                return line
            pointer = pointer.rsplit("/", 1)[0]


class _Builder:
    """Turns a composed YAML node graph into plain data, noting quirks as it goes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.constructor = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()  # nodes being built: an alias back into one is a cycle
        self.done: dict[int, tuple[Any, int]] = {}  # anchors: node -> (value, how many values it holds)
        self.values = 0  # values built so far, aliases counted for what they stand for
        self.aliases = AliasBudget()

    def build(self, node: yaml.Node, pointer: str, depth: int = 0) -> Any:
        self.doc.lines.setdefault(pointer, node.start_mark.line + 1)
        key = id(node)
        if key in self.done:
            shared, size = self.done[key]
            try:
                self.aliases.spend(size)
            except ExcessiveAliases as exc:
                raise ContractLoadError(
                    str(exc), source=self.doc.source, line=node.start_mark.line + 1
                ) from None
            self.values += size
            # an alias gets its own copy: editing one (an overlay update) must not edit the other
            return copy.deepcopy(shared)
        if key in self.active:
            self.doc.issue(pointer, "recursive YAML alias; replaced by null")
            return None
        if depth > MAX_DEPTH:
            raise ContractLoadError(
                f"nested deeper than {MAX_DEPTH} levels; refused", source=self.doc.source,
                line=node.start_mark.line + 1,
            )  # fmt: skip
        before = self.values
        self.values += 1
        self.active.add(key)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in (_MAP, _SEQ):
            self.doc.issue(pointer, f"unsupported YAML tag {node.tag!r}; read as plain data")
        try:
            if isinstance(node, yaml.MappingNode):
                value: Any = self._mapping(node, pointer, depth)
            elif isinstance(node, yaml.SequenceNode):
                value = [
                    self.build(item, join_pointer(pointer, i), depth + 1) for i, item in enumerate(node.value)
                ]
            else:
                value = self._scalar(node, pointer)
        finally:
            self.active.discard(key)
        if node.tag != _MERGE:
            self.done[key] = (value, self.values - before)
        return value

    def _scalar(self, node: yaml.Node, pointer: str) -> Any:
        try:
            return self._resolve_scalar(node, pointer)
        except (ValueError, yaml.YAMLError):
            # e.g. `!!int abc`: an explicit tag on text that cannot have it
            self.doc.issue(pointer, f"{node.value!r} cannot be read as {node.tag!r}; kept as a string")
            return node.value

    def _resolve_scalar(self, node: yaml.Node, pointer: str) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _INT:
            sign = -1 if text.startswith("-") else 1
            digits = text.lstrip("+-")
            if digits.startswith("0o"):
                return sign * int(digits[2:], 8)
            if digits.startswith("0x"):
                return sign * int(digits[2:], 16)
            return int(text, 10)
        if tag == _FLOAT:
            assert isinstance(node, yaml.ScalarNode)
            return self.constructor.construct_yaml_float(node)
        if tag == _VALUE:
            self.doc.issue(pointer, "bare '=' scalar (a YAML 1.1 'value' key); read as the string '='")
            return "="
        if tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp"):
            # explicitly tagged; keep the text, which is what goes on the wire anyway
            return text
        self.doc.issue(pointer, f"unsupported YAML tag {tag!r}; value kept as the string {text!r}")
        return text

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                source = self.build(value_node, pointer, depth + 1)
                for item in source if isinstance(source, list) else [source]:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            merged.setdefault(k, v)
                    else:
                        self.doc.issue(pointer, "YAML merge key '<<' needs a mapping; ignored")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.issue(pointer, "complex (non-scalar) mapping key ignored")
                continue
            key = self._scalar(key_node, pointer)
            if not isinstance(key, str):
                # JSON (and OpenAPI) keys are strings; YAML lets `200:` be an int.
                key = "null" if key is None else (str(key).lower() if isinstance(key, bool) else str(key))
            child = join_pointer(pointer, key)
            if key in result:
                self.doc.issue(child, "duplicate key; the last value wins", key_node.start_mark.line + 1)
            result[key] = self.build(value_node, child, depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def _json_pairs(doc: Document) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                doc.issue("", f"duplicate key {key!r} in a JSON object; the last value wins")
            result[key] = value
        return result

    return hook


def parse_document(text: str | bytes, source: str = "<string>", base_dir: Path | None = None) -> Document:
    """Parse JSON or YAML text (detected from the content, not the name)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ContractLoadError(
                f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source
            ) from None
    doc = Document(data=None, source=source, base_dir=base_dir)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            doc.data = json.loads(text, object_pairs_hook=_json_pairs(doc))
        except json.JSONDecodeError:
            doc.issues.clear()  # not JSON after all (YAML flow style?); let YAML have a go
        except RecursionError:
            raise ContractLoadError(
                f"nested deeper than {MAX_DEPTH} levels; refused", source=source
            ) from None
        except ValueError:  # the only other ValueError: a number past Python's int limit
            raise ContractLoadError(
                f"holds a number of more than {sys.get_int_max_str_digits():,} digits; refused", source=source
            ) from None
        else:
            if _deeper_than(doc.data, MAX_DEPTH):
                raise ContractLoadError(f"nested deeper than {MAX_DEPTH} levels; refused", source=source)
            return doc
    try:
        with _collector_paused():
            node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        column = f", column {mark.column + 1}" if mark is not None else ""
        raise ContractLoadError(f"{problem}{column}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ContractLoadError(f"invalid YAML: {exc}", source=source) from None
    if node is None:
        raise ContractLoadError("the document is empty", source=source)
    with _collector_paused():
        doc.data = _Builder(doc).build(node, "")
    return doc


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a document is read. Reading creates millions of objects
    that all stay alive, and each full collection walks them all: composing a 16,000-operation
    document took 7.9 s with the collector on, 1.6 s with it off (4,000 operations: 0.8 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether parsed JSON nests deeper than ``limit`` (iterative: the point is not to recurse)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if type(value) is dict:
            stack.extend((v, depth + 1) for v in value.values() if type(v) in (dict, list))
        elif type(value) is list:
            stack.extend((v, depth + 1) for v in value if type(v) in (dict, list))
    return False


def read_document(path: str | Path) -> Document:
    """Read a JSON or YAML file; unreadable files raise :class:`ContractLoadError`.

    Only regular files of at most :data:`MAX_DOCUMENT_BYTES` are read: a ``$ref`` or an option
    naming ``/dev/zero``, a FIFO or a huge file is refused before a byte is read (it would
    otherwise hang or exhaust memory).
    """
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one, for ever
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ContractLoadError("not a regular file; refused", source=str(path))
            if status.st_size > MAX_DOCUMENT_BYTES:
                raise ContractLoadError(
                    f"{status.st_size:,} bytes, more than the {MAX_DOCUMENT_BYTES:,} a document may have; refused",
                    source=str(path),
                )
            raw = stream.read()  # sized by fstat; read(n) would allocate n bytes at once
    except OSError as exc:
        raise ContractLoadError(exc.strerror or str(exc), source=str(path)) from None
    return parse_document(raw, source=str(path), base_dir=path.resolve().parent)
