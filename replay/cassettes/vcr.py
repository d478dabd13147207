"""vcrpy cassettes (cassette format 1), and schemathesis VCR reports, which share their record shape.

Read: YAML event by event with the C parser when available (bounded memory for any size: one
interaction at a time), only ever with safe constructors; the same records saved as JSON go
through ``replay.cassettes.reading``. ``http_interactions`` (schemathesis, ``st run --report vcr``)
holds the same records as ``interactions`` (vcrpy), plus what a schemathesis record says of itself
(``META``, kept). Written: vcrpy YAML, readable by vcrpy >= 8.2.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import yaml

from contracts.documents import MAX_DEPTH, AliasBudget, ExcessiveAliases
from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.fields import (
    RECORD_ERRORS,
    BadRecord,
    Item,
    body_of,
    header_lists,
    header_map,
    seconds_of,
    status_of,
    text_field,
    text_or_bytes,
    url_field,
    why,
)
from replay.cassettes.model import Interaction, ReadProblem

try:
    from yaml import CSafeDumper as Dumper
    from yaml import CSafeLoader as StreamLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as StreamLoader  # type: ignore[assignment]

__all__ = ["META", "SEQUENCE_KEYS", "Dumper", "from_record", "read_yaml", "to_vcr"]


META = ("id", "status", "checks")  # what a schemathesis record says of itself, kept as it is


def from_record(data: Any, source: str, index: int, line: int | None) -> Interaction:
    """A vcrpy, schemathesis or JSON Lines record -> Interaction (their shapes are close)."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise BadRecord(f"an interaction must be a mapping, not {type(data).__name__}")
    request = data.get("request")
    if type(request) is not dict and not isinstance(request, Mapping):
        raise BadRecord("the interaction has no request")
    http_request = HttpRequest(
        text_field(request, "method", "the request").upper(),
        url_field(request, "uri" if "uri" in request else "url", "the request"),
        header_map(request.get("headers")),
        body_of(request.get("body")),
    )
    response = data.get("response")
    http_response = None
    if response is not None:
        if type(response) is not dict and not isinstance(response, Mapping):
            raise BadRecord("the response must be a mapping")
        http_response = HttpResponse(
            status_of(response.get("status")),
            header_map(response.get("headers")),
            body_of(response.get("body")),
        )
    elapsed = data.get("elapsed", response.get("elapsed") if response is not None else None)
    recorded_at = data.get("recorded_at")
    # a request and a response is all most records hold: no look for the rest
    meta = {k: data[k] for k in META if k in data} if len(data) > 2 else {}
    return Interaction(
        source,
        index,
        http_request,
        http_response,
        str(recorded_at) if recorded_at is not None else None,
        seconds_of(elapsed),
        line,
        meta,
    )


_MERGE = "<<"


class _YamlEvents:
    """Builds plain data from a YAML event stream, one top-level entry at a time.

    A value that cannot be built (a bad explicit tag, an undecodable ``!!binary`` ...) does not
    stop the walk: the rest of its node is still consumed, so the reader stays in step with the
    file and the next interaction is read normally; the first such problem is kept in ``error``.
    Anchors, aliases and merge keys (``<<``) are supported, as PyYAML's safe loader does.
    """

    def __init__(self, stream: Any) -> None:
        self.loader = StreamLoader(stream)
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, how many values it holds)
        self.error: str | None = None
        self.values = 0  # values built, an alias counted for what it stands for
        self.aliases = AliasBudget()  # per record: one bound for cassettes and contracts alike
        self.depth = 0

    def close(self) -> None:
        self.loader.dispose()

    def next(self) -> yaml.Event:
        event = self.loader.get_event()
        if event is None:
            raise BadRecord("the file ends in the middle of a cassette")
        return event

    def peek(self) -> yaml.Event:
        event = self.loader.peek_event()
        if event is None:
            raise BadRecord("the file ends in the middle of a cassette")
        return event

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None or tag == "tag:yaml.org,2002:timestamp":
            return event.value  # other tags stay text; timestamps stay strings
        try:
            return constructor(self.loader, yaml.ScalarNode(tag, event.value, style=event.style))
        except Exception as exc:  # any constructor failure concerns this value only
            self._fail(f"cannot read the value {event.value[:40]!r} as {tag.rsplit(':', 1)[-1]}: {exc}")
            return None

    def value(self) -> Any:
        event = self.next()
        result: Any
        before = self.values
        self.values += 1
        tag = getattr(event, "tag", None)
        if tag and tag.startswith("tag:yaml.org,2002:python/"):
            self._fail(f"the YAML tag {tag} is not allowed (cassettes are loaded safely)")
        if isinstance(event, yaml.ScalarEvent):
            result = self._scalar(event)
        elif self.depth >= MAX_DEPTH and isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._fail(f"nested deeper than {MAX_DEPTH} levels")
            self._skip()
            return None
        elif isinstance(event, yaml.SequenceStartEvent):
            result = []
            self.depth += 1
            while not isinstance(self.peek(), yaml.SequenceEndEvent):
                result.append(self.value())
            self.depth -= 1
            self.next()
        elif isinstance(event, yaml.MappingStartEvent):
            result = {}
            merged: dict[str, Any] = {}
            self.depth += 1
            while not isinstance(self.peek(), yaml.MappingEndEvent):
                key = self.value()
                item = self.value()
                if key == _MERGE:
                    for source in item if isinstance(item, list) else [item]:
                        if isinstance(source, dict):
                            merged = {**source, **merged}  # earlier sources win, as in YAML 1.1
                        else:
                            self._fail("a merge key (<<) needs a mapping")
                    continue
                result[key if isinstance(key, str) else str(key)] = item
            self.depth -= 1
            self.next()
            result = {**merged, **result}  # explicit keys win over merged ones
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                self._fail(f"unknown YAML alias *{event.anchor}")
                return None
            aliased, size = self.anchors[event.anchor]
            try:
                self.aliases.spend(size)
            except ExcessiveAliases as exc:
                self._fail(str(exc))  # one event: the reader stays in step
                return None
            self.values += size
            return aliased
        else:
            raise BadRecord(f"unexpected YAML {type(event).__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = (result, self.values - before)
        return result

    def _skip(self) -> None:
        """Consume the rest of a collection whose start event was just read, building nothing."""
        open_collections = 1
        while open_collections:
            event = self.next()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                open_collections += 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                open_collections -= 1

    def item(self) -> Any:
        """The next complete value; raises ``BadRecord`` (after consuming it) when part of it was unreadable."""
        self.error = None
        self.aliases = AliasBudget()
        data = self.value()
        if self.error is not None:
            raise BadRecord(self.error)
        return data


SEQUENCE_KEYS = {"interactions": "vcr", "http_interactions": "schemathesis"}


def read_yaml(stream: IO[bytes], source: str, note_format: Callable[[str], None]) -> Iterator[Item]:
    events = _YamlEvents(stream)
    index = 0
    found = False
    try:
        for expected in (yaml.StreamStartEvent, yaml.DocumentStartEvent):
            if not isinstance(events.next(), expected):
                raise BadRecord("the file is empty")
        if not isinstance(events.next(), yaml.MappingStartEvent):
            yield ReadProblem(source, "not a cassette: the top level is not a mapping", fatal=True)
            return
        while not isinstance(events.peek(), yaml.MappingEndEvent):
            key = events.value()
            if key in SEQUENCE_KEYS and isinstance(events.peek(), yaml.SequenceStartEvent):
                found = True
                note_format(SEQUENCE_KEYS[key])
                events.next()
                while not isinstance(events.peek(), yaml.SequenceEndEvent):
                    mark = events.peek().start_mark
                    line = mark.line + 1 if mark is not None else None
                    try:
                        data = events.item()
                        yield from_record(data, source, index, line)
                    except (BadRecord, *RECORD_ERRORS) as exc:
                        yield ReadProblem(source, why(exc), index=index, line=line)
                    index += 1
                events.next()
            else:
                events.value()  # version, command, seed ...: not needed
        if not found:
            yield ReadProblem(
                source, "not a cassette: no 'interactions' or 'http_interactions' list", fatal=True
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(p for p in (exc.context, exc.problem) if p)
        yield ReadProblem(source, f"invalid YAML: {problem}; the rest of the file cannot be read",
                          index=index if found else None, line=mark.line + 1 if mark else None, fatal=True)  # fmt: skip
    except yaml.reader.ReaderError as exc:  # not text: binary data, a wrong encoding
        yield ReadProblem(source, f"invalid YAML: {exc.reason} at byte {exc.position}; not a text file?",
                          index=index if found else None, fatal=True)  # fmt: skip
    except yaml.YAMLError as exc:
        yield ReadProblem(source, f"invalid YAML: {exc}", index=index if found else None, fatal=True)
    except BadRecord as exc:
        yield ReadProblem(source, str(exc), index=index if found else None, fatal=True)
    finally:
        events.close()


def to_vcr(interaction: Interaction) -> dict[str, Any]:
    """The vcrpy (cassette format 1) form of an interaction."""
    request = interaction.request
    record: dict[str, Any] = {
        "request": {
            "body": text_or_bytes(request.body),
            "headers": header_lists(request.headers),
            "method": request.method,
            "uri": request.url,
        }
    }
    response = interaction.response
    if response is not None:
        from http import HTTPStatus

        try:
            message = HTTPStatus(response.status).phrase
        except ValueError:
            message = ""
        record["response"] = {
            "body": {"string": text_or_bytes(response.body) or ""},
            "headers": header_lists(response.headers),
            "status": {"code": response.status, "message": message},
        }
    return record
