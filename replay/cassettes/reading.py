"""Reading and writing recorded traffic.

Formats read (detected from the content, not the file name):

* **vcrpy cassettes** (``version: 1``, ``interactions``), YAML or JSON — what vcrpy and
  pytest-recording write, and what this project writes;
* **schemathesis VCR reports** (``http_interactions``, from ``st run --report vcr``);
* **HAR 1.2** (``log.entries``: browsers' devtools, proxies, mitmproxy);
* **JSON Lines**, one interaction per line (``{"request": ..., "response": ...}``), for large captures.

YAML is parsed event by event with the C parser when available, and JSON Lines line by line, so a
large capture is read in bounded memory: interactions are yielded one at a time. A HAR file or a
JSON cassette is a single JSON document and is parsed whole (orjson; about seven times the file's
size in memory): large captures belong in JSON Lines (``talon-contracts convert``). YAML is only ever
loaded with safe constructors. A problem with one interaction becomes a :class:`ReadProblem` and
the rest of the file is still read; a problem that makes the rest unreadable (a YAML syntax error)
ends the file with a fatal problem.

Written: vcrpy YAML (readable by vcrpy >= 8.2.1) and JSON Lines, always atomically (a temporary
file renamed into place), so an interrupted recording never replaces a good cassette with half
of one.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson
import yaml

from contracts.errors import TalonContractsError
from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.model import Interaction, ReadProblem

try:
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _StreamLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _StreamLoader  # type: ignore[assignment]

__all__ = [
    "FORMATS",
    "CassetteError",
    "atomic_write",
    "cassette_files",
    "detect_format",
    "header_lists",
    "read_interactions",
    "to_jsonl",
    "to_vcr",
    "write_cassette",
]


def _umask() -> int:
    current = os.umask(0o022)  # reading the umask means setting it; done once, at import
    os.umask(current)
    return current


_UMASK = _umask()
FORMATS = ("vcr", "schemathesis", "har", "jsonl")
CASSETTE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".har")
Item = Interaction | ReadProblem


class CassetteError(TalonContractsError, OSError):
    """A file cannot be read as recorded traffic at all (missing, unknown format ...)."""


class _Bad(Exception):
    """One interaction cannot be read (becomes a ReadProblem)."""


# --------------------------------------------------------------------------- common conversions


def _headers(value: Any) -> dict[str, list[str]]:
    """Header shapes of every format -> {name: [values]} (names keep their case)."""
    if value is None:
        return {}
    result: dict[str, list[str]] = {}
    if type(value) is dict:  # the usual shape, {name: [text, ...]}, is taken as it is (it is ours)
        for name, values in value.items():
            if type(values) is not list or not values or type(name) is not str:
                break
            if (len(values) != 1 or type(values[0]) is not str) and not all(type(v) is str for v in values):
                break
        else:
            return value
    if isinstance(value, Mapping):
        pairs: list[Any] = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, Mapping) and "name" in item:
                pairs.append((item["name"], item.get("value", "")))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                pairs.append(tuple(item))
            else:
                raise _Bad(f"a header entry must be a name/value pair, not {item!r}")
    else:
        raise _Bad(f"headers must be a mapping or a list, not {type(value).__name__}")
    for name, values in pairs:
        if not isinstance(name, str):
            raise _Bad(f"header name {name!r} is not text")
        for one in values if isinstance(values, list) else [values]:
            if one is None:
                continue
            result.setdefault(name, []).append(one.decode("latin-1") if isinstance(one, bytes) else str(one))
    return result


def _body(value: Any) -> bytes | None:
    """Body shapes: text, bytes (!!binary), {string: ...}, {base64_string: ...}, {encoding, string}."""
    if value is None:
        return None
    if type(value) is str:
        return value.encode("utf-8", "replace")
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    if isinstance(value, Mapping):
        if value.get("base64_string") is not None:
            try:
                return base64.b64decode(value["base64_string"], validate=True)
            except (ValueError, TypeError):
                raise _Bad("base64_string is not valid base64") from None
        if "string" in value:
            encoding = value.get("encoding") or "utf-8"
            inner = value["string"]
            if isinstance(inner, str):
                try:
                    return inner.encode(encoding)
                except (LookupError, UnicodeEncodeError):
                    return inner.encode("utf-8", "replace")  # an unknown encoding, a lone surrogate
            return _body(inner)
        if not value:
            return None
    raise _Bad(f"unreadable body of type {type(value).__name__}")


def _status(value: Any) -> int:
    if type(value) is int and 100 <= value <= 599:
        return value
    if isinstance(value, Mapping):
        value = value.get("code")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"response status {value!r} is not a number")
    status = value
    if not 100 <= status <= 599:
        raise _Bad(f"response status {status} is not an HTTP status")
    return status


def _text(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{what} has no {key}")
    return value


_META = ("id", "status", "checks")  # what a schemathesis record says of itself, kept as it is


def _from_record(data: Any, source: str, index: int, line: int | None) -> Interaction:
    """A vcrpy, schemathesis or JSON Lines record -> Interaction (their shapes are close)."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise _Bad(f"an interaction must be a mapping, not {type(data).__name__}")
    request = data.get("request")
    if type(request) is not dict and not isinstance(request, Mapping):
        raise _Bad("the interaction has no request")
    http_request = HttpRequest(
        _text(request, "method", "the request").upper(),
        _text(request, "uri", "the request") if "uri" in request else _text(request, "url", "the request"),
        _headers(request.get("headers")),
        _body(request.get("body")),
    )
    response = data.get("response")
    http_response = None
    if response is not None:
        if type(response) is not dict and not isinstance(response, Mapping):
            raise _Bad("the response must be a mapping")
        http_response = HttpResponse(
            _status(response.get("status")), _headers(response.get("headers")), _body(response.get("body"))
        )
    elapsed = data.get("elapsed", response.get("elapsed") if response is not None else None)
    recorded_at = data.get("recorded_at")
    # a request and a response is all most records hold: no look for the rest
    meta = {k: data[k] for k in _META if k in data} if len(data) > 2 else {}
    return Interaction(
        source,
        index,
        http_request,
        http_response,
        str(recorded_at) if recorded_at is not None else None,
        _seconds(elapsed),
        line,
        meta,
    )


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _from_har(entry: Any, source: str, index: int) -> Interaction:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("request"), Mapping):
        raise _Bad("a HAR entry needs a request")
    request = entry["request"]
    raw_post = request.get("postData")
    post: Mapping[str, Any] = raw_post if isinstance(raw_post, Mapping) else {}
    body = post.get("text")
    headers = {
        k: v for k, v in _headers(request.get("headers")).items() if not k.startswith(":")
    }  # HTTP/2 pseudo-headers
    http_request = HttpRequest(
        _text(request, "method", "the request").upper(),
        _text(request, "url", "the request"),
        headers,
        body.encode("utf-8") if isinstance(body, str) and body else None,
    )
    response = entry.get("response")
    http_response = None
    if isinstance(response, Mapping) and response.get("status"):  # status 0: the browser got no answer
        raw_content = response.get("content")
        content: Mapping[str, Any] = raw_content if isinstance(raw_content, Mapping) else {}
        text = content.get("text")
        if text is None:
            payload = None
        elif content.get("encoding") == "base64":
            try:
                payload = base64.b64decode(text, validate=True)
            except (ValueError, TypeError):
                raise _Bad("response content says base64 but is not") from None
        else:
            payload = str(text).encode("utf-8")
        response_headers = {
            k: v for k, v in _headers(response.get("headers")).items() if not k.startswith(":")
        }
        http_response = HttpResponse(_status(response["status"]), response_headers, payload)
    time_ms = _seconds(entry.get("time"))
    return Interaction(
        source=source,
        index=index,
        request=http_request,
        response=http_response,
        recorded_at=entry.get("startedDateTime"),
        elapsed=time_ms / 1000 if time_ms is not None and time_ms >= 0 else None,
    )


# --------------------------------------------------------------------------- streaming YAML

_MERGE = "<<"
_MAX_PROBLEMS = 1000  # per file; beyond this problems are counted, not kept (see ``ReadProblem``)


class _YamlEvents:
    """Builds plain data from a YAML event stream, one top-level entry at a time.

    A value that cannot be built (a bad explicit tag, an undecodable ``!!binary`` ...) does not
    stop the walk: the rest of its node is still consumed, so the reader stays in step with the
    file and the next interaction is read normally; the first such problem is kept in ``error``.
    Anchors, aliases and merge keys (``<<``) are supported, as PyYAML's safe loader does.
    """

    def __init__(self, stream: Any) -> None:
        self.loader = _StreamLoader(stream)
        self.anchors: dict[str, Any] = {}
        self.error: str | None = None

    def close(self) -> None:
        self.loader.dispose()

    def next(self) -> yaml.Event:
        event = self.loader.get_event()
        if event is None:
            raise _Bad("the file ends in the middle of a cassette")
        return event

    def peek(self) -> yaml.Event:
        event = self.loader.peek_event()
        if event is None:
            raise _Bad("the file ends in the middle of a cassette")
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
        tag = getattr(event, "tag", None)
        if tag and tag.startswith("tag:yaml.org,2002:python/"):
            self._fail(f"the YAML tag {tag} is not allowed (cassettes are loaded safely)")
        if isinstance(event, yaml.ScalarEvent):
            result = self._scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            result = []
            while not isinstance(self.peek(), yaml.SequenceEndEvent):
                result.append(self.value())
            self.next()
        elif isinstance(event, yaml.MappingStartEvent):
            result = {}
            merged: dict[str, Any] = {}
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
            self.next()
            result = {**merged, **result}  # explicit keys win over merged ones
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                self._fail(f"unknown YAML alias *{event.anchor}")
                return None
            return self.anchors[event.anchor]
        else:
            raise _Bad(f"unexpected YAML {type(event).__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = result
        return result

    def item(self) -> Any:
        """The next complete value; raises ``_Bad`` (after consuming it) when part of it was unreadable."""
        self.error = None
        data = self.value()
        if self.error is not None:
            raise _Bad(self.error)
        return data


_SEQUENCE_KEYS = {"interactions": "vcr", "http_interactions": "schemathesis"}


def _read_yaml(stream: IO[bytes], source: str, note_format: Callable[[str], None]) -> Iterator[Item]:
    events = _YamlEvents(stream)
    index = 0
    found = False
    try:
        for expected in (yaml.StreamStartEvent, yaml.DocumentStartEvent):
            if not isinstance(events.next(), expected):
                raise _Bad("the file is empty")
        if not isinstance(events.next(), yaml.MappingStartEvent):
            yield ReadProblem(source, "not a cassette: the top level is not a mapping", fatal=True)
            return
        while not isinstance(events.peek(), yaml.MappingEndEvent):
            key = events.value()
            if key in _SEQUENCE_KEYS and isinstance(events.peek(), yaml.SequenceStartEvent):
                found = True
                note_format(_SEQUENCE_KEYS[key])
                events.next()
                while not isinstance(events.peek(), yaml.SequenceEndEvent):
                    mark = events.peek().start_mark
                    line = mark.line + 1 if mark is not None else None
                    try:
                        data = events.item()
                        yield _from_record(data, source, index, line)
                    except (_Bad, *_RECORD_ERRORS) as exc:
                        yield ReadProblem(source, _why(exc), index=index, line=line)
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
    except _Bad as exc:
        yield ReadProblem(source, str(exc), index=index if found else None, fatal=True)
    finally:
        events.close()


# Whatever a malformed record makes the conversion raise: it concerns that record only.
_RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeError, RecursionError)


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, _Bad) else f"unreadable interaction ({type(exc).__name__}: {exc})"


# --------------------------------------------------------------------------- JSON formats

_BOM = b"\xef\xbb\xbf"


def _read_jsonl(lines: Iterable[bytes], source: str) -> Iterator[Item]:
    index = 0
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw or raw.isspace():
            continue
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            truncated = " (truncated?)" if not raw.endswith(b"\n") else ""
            yield ReadProblem(source, f"line is not valid JSON{truncated}: {exc}", index=index, line=number)
            index += 1
            continue
        try:
            yield _from_record(data, source, index, number)
        except (_Bad, *_RECORD_ERRORS) as exc:
            yield ReadProblem(source, _why(exc), index=index, line=number)
        index += 1


def _read_json_document(
    content: bytes | None, source: str, note_format: Callable[[str], None], parsed: Any = None
) -> Iterator[Item]:
    """HAR, or a vcrpy/schemathesis cassette saved as JSON: one document, parsed whole (or already)."""
    if content is not None:
        try:
            parsed = orjson.loads(content.removeprefix(_BOM))
        except orjson.JSONDecodeError as exc:
            yield ReadProblem(source, f"invalid JSON: {exc}", fatal=True)
            return
        del content
    data = parsed
    del parsed
    if isinstance(data, Mapping) and "log" in data:
        note_format("har")
        log = data["log"]
        entries = log.get("entries") if isinstance(log, Mapping) else None
        if not isinstance(entries, list):
            yield ReadProblem(source, "a HAR file needs log.entries (a list)", fatal=True)
            return
        records: list[Any] = entries
        convert: Callable[[Any, int], Interaction] = lambda entry, index: _from_har(entry, source, index)  # noqa: E731
    else:
        for key, name in _SEQUENCE_KEYS.items():
            if isinstance(data, Mapping) and isinstance(data.get(key), list):
                note_format(name)
                records = data[key]
                convert = lambda record, index: _from_record(record, source, index, None)  # noqa: E731
                break
        else:
            yield ReadProblem(
                source, "not a cassette: no 'interactions', 'http_interactions' or HAR 'log'", fatal=True
            )
            return
    del data
    records.reverse()  # popped from the end: memory is released as the file is read
    index = 0
    while records:
        record = records.pop()
        try:
            yield convert(record, index)
        except (_Bad, *_RECORD_ERRORS) as exc:
            yield ReadProblem(source, _why(exc), index=index)
        index += 1


def detect_format(path: str | Path) -> str:
    """``vcr``, ``schemathesis``, ``har`` or ``jsonl``, from the file's content."""
    found: list[str] = []
    for item in read_interactions(path, on_format=found.append):
        if found or isinstance(item, ReadProblem):
            break
    if not found:
        raise CassetteError(f"{path}: not a recognised cassette format (valid: {', '.join(FORMATS)})")
    return found[0]


class _Prefixed:
    """A binary stream with lines already read put back in front (the file is opened once: pipes work)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self.prefix = prefix
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.read(size)
        if size is None or size < 0:
            data, self.prefix = self.prefix + self.stream.read(), b""
            return data
        data, self.prefix = self.prefix[:size], self.prefix[size:]
        return data


def read_interactions(path: str | Path, *, on_format: Callable[[str], None] | None = None) -> Iterator[Item]:
    """Interactions (and problems) of a capture, in file order, one at a time.

    At most ``_MAX_PROBLEMS`` problems are reported per file; the last one says how many followed.
    """
    path = Path(path)
    source = str(path)
    note = on_format or (lambda name: None)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CassetteError(f"{source}: {exc.strerror or exc}") from None
    problems = 0
    with stream:
        for item in _read_stream(stream, path, source, note):
            if isinstance(item, ReadProblem):
                problems += 1
                if problems > _MAX_PROBLEMS and not item.fatal:
                    continue
            yield item
    if problems > _MAX_PROBLEMS:
        yield ReadProblem(source, f"{problems - _MAX_PROBLEMS} more problem(s) not listed")


def _read_stream(stream: IO[bytes], path: Path, source: str, note: Callable[[str], None]) -> Iterator[Item]:
    # The first line with content decides: "{"/"[" is JSON (Lines when that line is a whole
    # record or other lines follow it), anything else YAML.
    try:
        prefix = b""
        first = b""
        while True:
            first = stream.readline()
            prefix += first
            if not first or first.strip(_BOM + b" \t\r\n"):
                break
    except OSError as exc:
        raise CassetteError(f"{source}: {exc.strerror or exc}") from None
    stripped = first.lstrip(_BOM + b" \t")
    if not stripped.startswith((b"{", b"[")):
        yield from _read_yaml(_Prefixed(prefix, stream), source, note)  # type: ignore[arg-type]
        return
    try:
        record = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        record = None  # a document spread over lines, or a broken first record
    if record is not None and not (isinstance(record, Mapping) and "request" in record):
        # a complete value on the first line: JSON Lines if another line with content follows
        while True:
            line = stream.readline()
            prefix += line
            if not line or line.strip():
                break
        is_lines = bool(line.strip())
    else:
        is_lines = record is not None or path.suffix.lower() in (".jsonl", ".ndjson")
    if is_lines:
        del record
        note("jsonl")
        yield from _read_jsonl(itertools.chain(io.BytesIO(prefix), stream), source)
    elif record is not None:  # the whole document was on the first line (minified): parsed already
        del prefix, first, stripped
        yield from _read_json_document(None, source, note, record)
    else:
        yield from _read_json_document(prefix + stream.read(), source, note)


def cassette_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the cassette files inside named directories (sorted)."""
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            result += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CASSETTE_SUFFIXES
            )
        elif path.exists():
            result.append(path)
        else:
            raise CassetteError(f"{path}: no such file or directory")
    return result


# --------------------------------------------------------------------------- writing


def _text_or_bytes(body: bytes | str | None) -> str | bytes | None:
    if body is None or body == b"" or body == "":
        return None
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body  # YAML writes it as !!binary, as vcrpy does


def header_lists(headers: Any) -> dict[str, list[str]]:
    """Any header shape -> {name: [values]}, names as written (an unreadable shape -> {})."""
    try:
        return _headers(headers)
    except _Bad:
        return {}


def to_vcr(interaction: Interaction) -> dict[str, Any]:
    """The vcrpy (cassette format 1) form of an interaction."""
    request = interaction.request
    record: dict[str, Any] = {
        "request": {
            "body": _text_or_bytes(request.body),
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
            "body": {"string": _text_or_bytes(response.body) or ""},
            "headers": header_lists(response.headers),
            "status": {"code": response.status, "message": message},
        }
    return record


def to_jsonl(interaction: Interaction) -> dict[str, Any]:
    """The JSON Lines form: text bodies as text, others in base64."""

    def body(value: bytes | str | None) -> dict[str, Any]:
        text = _text_or_bytes(value)
        if isinstance(text, bytes):
            return {"body": {"base64_string": base64.b64encode(text).decode()}}
        return {"body": text}

    request = interaction.request
    record: dict[str, Any] = {
        "request": {"method": request.method, "uri": request.url, "headers": header_lists(request.headers),
                    **body(request.body)},
    }  # fmt: skip
    if interaction.response is not None:
        response = interaction.response
        record["response"] = {
            "status": response.status,
            "headers": header_lists(response.headers),
            **body(response.body),
        }
    if interaction.recorded_at:
        record["recorded_at"] = interaction.recorded_at
    if interaction.elapsed is not None:
        record["elapsed"] = round(interaction.elapsed, 6)
    return record


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file next to ``path`` and rename it into place only when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; a cassette gets the mode of the file it replaces, or the usual one
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_cassette(path: str | Path, interactions: Iterable[Interaction], *, fmt: str = "vcr") -> int:
    """Write interactions as a vcrpy YAML cassette (``vcr``) or JSON Lines (``jsonl``); returns how many.

    Redaction and the secret check are the caller's (``replay.recording.redaction.save``); this only writes.
    """
    count = 0
    with atomic_write(path) as stream:
        if fmt == "jsonl":
            for interaction in interactions:
                stream.write(orjson.dumps(to_jsonl(interaction)) + b"\n")
                count += 1
        elif fmt == "vcr":
            stream.write(b"interactions:\n")
            for interaction in interactions:
                # one list item at a time: the whole cassette is never held as one YAML document
                stream.write(yaml.dump([to_vcr(interaction)], Dumper=_Dumper, allow_unicode=True,
                                       default_flow_style=False, width=120).encode("utf-8"))  # fmt: skip
                count += 1
            if count == 0:
                stream.seek(0)
                stream.truncate()
                stream.write(b"interactions: []\n")
            stream.write(b"version: 1\n")
        else:
            raise ValueError(f"unknown cassette format {fmt!r}; valid: vcr, jsonl")
    return count
