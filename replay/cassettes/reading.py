"""Reading and writing recorded traffic.

Formats read (detected from the content, not the file name):

* **vcrpy cassettes** (``version: 1``, ``interactions``), YAML or JSON — what vcrpy and
  pytest-recording write, and what this project writes;
* **schemathesis VCR reports** (``http_interactions``, from ``st run --report vcr``);
* **HAR 1.2** (``log.entries``: browsers' devtools, proxies, mitmproxy);
* **JSON Lines**, one interaction per line (``{"request": ..., "response": ...}``), for large captures.

Any of them may be gzipped (``capture --gzip`` writes ``.jsonl.gz``): see ``gzipped``.

YAML is parsed event by event with the C parser when available, and JSON Lines line by line, so a
large capture is read in bounded memory: interactions are yielded one at a time. A HAR file or a
JSON cassette is a single JSON document and is parsed whole (orjson; about seven times the file's
size in memory): large captures belong in JSON Lines (``talon-contracts convert``). YAML is only ever
loaded with safe constructors. A problem with one interaction becomes a :class:`ReadProblem` and
the rest of the file is still read; a problem that makes the rest unreadable (a YAML syntax error)
ends the file with a fatal problem.

One module per format: ``vcr`` (vcrpy and schemathesis records, YAML), ``har``, ``jsonl``; what
they share is ``fields``; files on disk and writing are ``files``. This module detects the format
and reads a file with the right one.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from contracts.http import MAX_JSON_VALUES, check_json_size
from replay.cassettes.fields import MAX_PROBLEMS, RECORD_ERRORS, BadRecord, CassetteError, Item, why
from replay.cassettes.gzipped import open_capture, plain_suffix
from replay.cassettes.har import from_har
from replay.cassettes.jsonl import BOM, read_jsonl
from replay.cassettes.model import Interaction, ReadProblem
from replay.cassettes.vcr import SEQUENCE_KEYS, from_record, read_yaml

__all__ = ["FORMATS", "detect_format", "read_interactions"]

FORMATS = ("vcr", "schemathesis", "har", "jsonl")
#: Blank lines a file may start with before its content (a few are harmless; megabytes are an attack).
MAX_LEADING_BLANK = 1024 * 1024
#: A HAR or JSON cassette is parsed whole: this many values take ~450 MB at worst (tiny objects).
WHOLE_DOCUMENT_VALUES = 5 * MAX_JSON_VALUES


def _read_json_document(
    content: bytes | None, source: str, note_format: Callable[[str], None], parsed: Any = None
) -> Iterator[Item]:
    """HAR, or a vcrpy/schemathesis cassette saved as JSON: one document, parsed whole (or already)."""
    if content is not None:
        try:
            check_json_size(content, WHOLE_DOCUMENT_VALUES)
        except ValueError as exc:
            yield ReadProblem(
                source, f"{exc} (a capture this large reads in bounded memory as JSON Lines)", fatal=True
            )
            return
        try:
            parsed = orjson.loads(content.removeprefix(BOM))
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
        convert: Callable[[Any, int], Interaction] = lambda entry, index: from_har(entry, source, index)  # noqa: E731
    else:
        for key, name in SEQUENCE_KEYS.items():
            if isinstance(data, Mapping) and isinstance(data.get(key), list):
                note_format(name)
                records = data[key]
                convert = lambda record, index: from_record(record, source, index, None)  # noqa: E731
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
        except (BadRecord, *RECORD_ERRORS) as exc:
            yield ReadProblem(source, why(exc), index=index)
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

    At most ``MAX_PROBLEMS`` problems are reported per file; the last one says how many followed.
    """
    path = Path(path)
    source = str(path)
    note = on_format or (lambda name: None)
    try:
        stream = open_capture(path, source)  # inflating, when it is gzipped
    except OSError as exc:
        raise CassetteError(f"{source}: {exc.strerror or exc}") from None
    problems = 0
    with stream:
        for item in _read_stream(stream, path, source, note):
            if isinstance(item, ReadProblem):
                problems += 1
                if problems > MAX_PROBLEMS and not item.fatal:
                    continue
            yield item
    if problems > MAX_PROBLEMS:
        yield ReadProblem(source, f"{problems - MAX_PROBLEMS} more problem(s) not listed")


def _read_stream(stream: IO[bytes], path: Path, source: str, note: Callable[[str], None]) -> Iterator[Item]:
    # The first line with content decides: "{"/"[" is JSON (Lines when that line is a whole
    # record or other lines follow it), anything else YAML.
    try:
        kept = bytearray()  # (bytes += bytes was quadratic: a million blank lines took minutes)
        first = b""
        while True:
            first = stream.readline()
            kept += first
            if not first or first.strip(BOM + b" \t\r\n"):
                break
            if len(kept) > MAX_LEADING_BLANK:
                raise CassetteError(
                    f"{source}: more than {MAX_LEADING_BLANK:,} bytes of blank lines before any content"
                )
        prefix = bytes(kept)
    except CassetteError:
        raise  # (a gzipped file's: it says what is wrong already)
    except OSError as exc:
        raise CassetteError(f"{source}: {exc.strerror or exc}") from None
    stripped = first.lstrip(BOM + b" \t")
    if not stripped.startswith((b"{", b"[")):
        yield from read_yaml(_Prefixed(prefix, stream), source, note)  # type: ignore[arg-type]
        return
    try:
        check_json_size(stripped, WHOLE_DOCUMENT_VALUES)
    except ValueError as exc:
        yield ReadProblem(source, f"the first line: {exc}", fatal=True)
        return
    try:
        record = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        record = None  # a document spread over lines, or a broken first record
    if record is not None and not (isinstance(record, Mapping) and "request" in record):
        # a complete value on the first line: JSON Lines if another line with content follows
        blank = bytearray()
        while True:
            line = stream.readline()
            blank += line
            if not line or line.strip():
                break
            if len(blank) > MAX_LEADING_BLANK:
                raise CassetteError(
                    f"{source}: more than {MAX_LEADING_BLANK:,} bytes of blank lines after the first"
                )
        prefix += bytes(blank)
        is_lines = bool(line.strip())
    else:
        is_lines = record is not None or plain_suffix(path) in (".jsonl", ".ndjson")
    if is_lines:
        del record
        note("jsonl")
        yield from read_jsonl(itertools.chain(io.BytesIO(prefix), stream), source)
    elif record is not None:  # the whole document was on the first line (minified): parsed already
        del prefix, first, stripped
        yield from _read_json_document(None, source, note, record)
    else:
        yield from _read_json_document(prefix + stream.read(), source, note)
