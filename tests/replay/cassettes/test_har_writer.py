"""replay.cassettes.har's writer: HAR 1.2 entries (``to_har``), streamed by ``write_cassette``, read back
losslessly: vcr -> har -> vcr and jsonl -> har -> jsonl over every cassette of the curated corpus."""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from contracts import __version__
from contracts.http import HttpRequest, HttpResponse
from replay.cassettes import detect_format, read_interactions, to_har, write_cassette
from replay.cassettes.har import NOT_RECORDED, POST_ENCODING, UNKNOWN_TIME
from replay.cassettes.model import Interaction, ReadProblem

from ..helpers import CORPUS

CASSETTES = sorted(CORPUS.glob("*.yaml"))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"  # not UTF-8: base64 in every format

# What HAR 1.2 requires (http://www.softwareishard.com/blog/har-12-spec/), as a JSON Schema: every
# required member with its type; the custom fields ("_...") allowed, as the spec allows them.
_PAIRS = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
          "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}  # fmt: skip
_MESSAGE = ["httpVersion", "headers", "cookies", "headersSize", "bodySize"]
HAR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["log"],
    "properties": {"log": {
        "type": "object",
        "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {
                        "type": "object",
                        "required": ["method", "url", "queryString", *_MESSAGE],
                        "properties": {"headers": _PAIRS, "queryString": _PAIRS, "bodySize": {"type": "integer"},
                                       "postData": {"type": "object", "required": ["mimeType", "text"]}},
                    },
                    "response": {
                        "type": "object",
                        "required": ["status", "statusText", "content", "redirectURL", *_MESSAGE],
                        "properties": {"headers": _PAIRS, "status": {"type": "integer"},
                                       "content": {"type": "object", "required": ["size", "mimeType"],
                                                   "properties": {"encoding": {"const": "base64"}}}},
                    },
                    "cache": {"type": "object"},
                    "timings": {
                        "type": "object",
                        "required": ["send", "wait", "receive"],
                        "properties": {k: {"type": "number", "minimum": 0} for k in ("send", "wait", "receive")},
                    },
                },
            }},
        },
    }},
}  # fmt: skip


def _read(path: Path) -> list[Interaction]:
    items = list(read_interactions(path))
    assert [i for i in items if isinstance(i, ReadProblem)] == []
    return items  # type: ignore[return-value]


def _fields(interaction: Interaction) -> tuple[Any, ...]:
    """What a conversion must keep: method, URL, headers (names, order, repeats), bodies byte for
    byte, status, when and how long (elapsed to the microsecond, as JSON Lines keeps it)."""
    request, response = interaction.request, interaction.response
    answer = (response.status, list(response.headers.items()), response.body) if response else None
    elapsed = round(interaction.elapsed, 6) if interaction.elapsed is not None else None
    return (request.method, request.url, list(request.headers.items()), request.body, answer,
            interaction.recorded_at, elapsed)  # fmt: skip


def _timed(interactions: list[Interaction]) -> list[Interaction]:
    """The corpus with what vcrpy cassettes do not hold: when each request was sent and its duration."""
    return [
        dataclasses.replace(
            i,
            recorded_at=f"2026-03-02T09:{n // 60:02d}:{n % 60:02d}.123456+00:00",
            elapsed=0.000731 * (n + 1),
        )
        for n, i in enumerate(interactions)
    ]


def _awkward() -> list[Interaction]:
    """Shapes the corpus lacks: binary bodies both ways, a gzipped answer kept compressed, an empty
    body beside none, no answer at all, repeated headers in mixed case, non-ASCII text."""
    packed = gzip.compress(b'{"ok": true}', mtime=0)
    return [
        Interaction("memory", 0, HttpRequest("POST", "http://localhost:9000/v2/events?a=1&a=2&b=",
                                             {"Content-Type": ["application/octet-stream"], "X-B": ["1", "2"],
                                              "x-a": ["3"]}, PNG),
                    HttpResponse(200, {"Content-Type": ["image/png"], "Set-Cookie": ["a=1", "b=2"]}, PNG),
                    "2026-03-02T09:00:00Z", 0.0125),
        Interaction("memory", 1, HttpRequest("GET", "http://localhost:9000/v2/customer_sessions/s%C3%A9", {}, None),
                    HttpResponse(200, {"Content-Type": ["application/json"], "Content-Encoding": ["gzip"]}, packed)),
        Interaction("memory", 2, HttpRequest("PUT", "http://localhost:9000/v2/customer_profiles/zoë",
                                             {"Content-Type": ["application/json; charset=utf-8"]},
                                             '{"attributes": {"Name": "Zoë ☃"}}'.encode()),
                    HttpResponse(204, {}, b"")),
        Interaction("memory", 3, HttpRequest("DELETE", "http://localhost:9000/v2/coupon_reservations/X", {}, None),
                    None, None, 0.0),
        Interaction("memory", 4, HttpRequest("GET", "http://localhost:9000/v1/status", {}, None),
                    HttpResponse(302, {"Location": ["http://localhost:9000/v1/elsewhere"]}, None)),
    ]  # fmt: skip


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_vcr_to_har_to_vcr_is_lossless(tmp_path: Path, cassette: Path) -> None:
    original = _read(cassette)
    har = tmp_path / "story.har"
    assert write_cassette(har, original, fmt="har") == len(original)
    assert detect_format(har) == "har"
    back = _read(har)
    assert [_fields(i) for i in back] == [_fields(i) for i in original]
    direct, through = tmp_path / "direct.yaml", tmp_path / "through.yaml"
    write_cassette(direct, original)
    write_cassette(through, back)
    assert through.read_bytes() == direct.read_bytes()


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_jsonl_to_har_to_jsonl_is_lossless(tmp_path: Path, cassette: Path) -> None:
    first, har, last = tmp_path / "first.jsonl", tmp_path / "story.har", tmp_path / "last.jsonl"
    write_cassette(first, _timed(_read(cassette)), fmt="jsonl")
    lines = _read(first)
    write_cassette(har, lines, fmt="har")
    back = _read(har)
    assert [_fields(i) for i in back] == [_fields(i) for i in lines]
    assert all(i.recorded_at and i.elapsed for i in back)  # what JSON Lines and HAR both hold is kept
    write_cassette(last, back, fmt="jsonl")
    assert last.read_bytes() == first.read_bytes()


@pytest.mark.parametrize("start", ["vcr", "jsonl"])
def test_binary_compressed_empty_and_unanswered_exchanges_survive(tmp_path: Path, start: str) -> None:
    first = tmp_path / f"first.{start}"
    write_cassette(first, _awkward(), fmt=start)
    started = _read(first)
    har = tmp_path / "awkward.har"
    write_cassette(har, started, fmt="har")
    back = _read(har)
    assert [_fields(i) for i in back] == [_fields(i) for i in started]
    assert back[0].request.body == PNG and back[0].response is not None and back[0].response.body == PNG
    assert list(back[0].request.headers.items()) == list(_awkward()[0].request.headers.items())
    assert back[1].response is not None and gzip.decompress(back[1].response.body or b"") == b'{"ok": true}'
    assert back[3].response is None
    last = tmp_path / f"last.{start}"
    write_cassette(last, back, fmt=start)
    assert last.read_bytes() == first.read_bytes()


def test_the_file_is_har_1_2(tmp_path: Path) -> None:
    har = tmp_path / "awkward.har"
    write_cassette(har, [*_awkward(), *_read(CASSETTES[0])], fmt="har")
    document = orjson.loads(har.read_bytes())
    jsonschema.validate(document, HAR_SCHEMA)
    log = document["log"]
    assert log["creator"] == {"name": "talon-contracts", "version": __version__}
    binary, compressed, text, unanswered, moved = log["entries"][:5]
    assert binary["request"]["postData"] == {"mimeType": "application/octet-stream", "text": "iVBORw0KGgoAAAANSUhEUv/+",
                                             POST_ENCODING: "base64"}  # fmt: skip
    assert binary["request"]["queryString"] == [{"name": "a", "value": "1"}, {"name": "a", "value": "2"},
                                                {"name": "b", "value": ""}]  # fmt: skip
    assert binary["response"]["content"]["encoding"] == "base64"
    assert binary["response"]["bodySize"] == binary["response"]["content"]["size"] == len(PNG)
    assert binary["startedDateTime"] == "2026-03-02T09:00:00Z" and binary["time"] == 12.5
    assert binary["timings"] == {"send": 0, "wait": 12.5, "receive": 0} and NOT_RECORDED not in binary
    assert compressed["response"]["content"]["encoding"] == "base64"  # as recorded: still gzip
    assert compressed["startedDateTime"] == UNKNOWN_TIME and compressed["time"] == 0
    assert compressed[NOT_RECORDED] == ["startedDateTime", "time"]
    assert text["request"]["postData"]["text"] == '{"attributes": {"Name": "Zoë ☃"}}'
    assert text["request"]["bodySize"] == len('{"attributes": {"Name": "Zoë ☃"}}'.encode())
    assert text["response"]["content"] == {"size": 0, "mimeType": "", "text": ""}
    assert "postData" not in compressed["request"] and compressed["request"]["bodySize"] == 0
    assert unanswered["response"]["status"] == 0 and unanswered[NOT_RECORDED] == ["startedDateTime"]
    assert moved["response"]["redirectURL"] == "http://localhost:9000/v1/elsewhere"
    assert moved["response"]["statusText"] == "Found" and "text" not in moved["response"]["content"]


def test_an_entry_alone_is_plain_data() -> None:
    entry = to_har(_awkward()[2])
    assert orjson.loads(orjson.dumps(entry)) == entry
    content_type = {"name": "Content-Type", "value": "application/json; charset=utf-8"}
    assert entry["request"]["headers"] == [content_type]


def test_an_empty_log_is_still_a_har_file(tmp_path: Path) -> None:
    har = tmp_path / "empty.har"
    assert write_cassette(har, [], fmt="har") == 0
    assert orjson.loads(har.read_bytes())["log"]["entries"] == []
    assert _read(har) == [] and detect_format(har) == "har"


def test_entries_are_streamed_to_the_file_one_at_a_time(tmp_path: Path) -> None:
    """The log is never held whole: by the time the third interaction is asked for, the first two
    are in the (temporary) file."""
    big = b'{"blob": "' + b"x" * 200_000 + b'"}'
    seen: list[int] = []

    def interactions() -> Iterator[Interaction]:
        for n in range(4):
            if n == 2:
                (temporary,) = tmp_path.glob(".big.har.*.tmp")
                seen.append(temporary.stat().st_size)
            yield Interaction("memory", n, HttpRequest("GET", "http://h/v1/status", {}, None),
                              HttpResponse(200, {"Content-Type": ["application/json"]}, big))  # fmt: skip

    write_cassette(tmp_path / "big.har", interactions(), fmt="har")
    assert seen and seen[0] > 2 * len(big)
    assert len(_read(tmp_path / "big.har")) == 4


def test_a_failed_har_write_leaves_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[Interaction]:
        yield from _awkward()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_cassette(tmp_path / "x.har", broken(), fmt="har")
    assert list(tmp_path.iterdir()) == []


def test_request_bodies_in_base64_are_read_under_either_name(tmp_path: Path) -> None:
    entry = to_har(_awkward()[0])
    post = entry["request"]["postData"]
    post["encoding"] = post.pop(POST_ENCODING)  # what a tool following the content's spelling writes
    bad = to_har(_awkward()[0])
    bad["request"]["postData"]["text"] = "not base64!"
    har = tmp_path / "mixed.har"
    har.write_bytes(orjson.dumps({"log": {"version": "1.2", "entries": [entry, bad]}}))
    good, problem = read_interactions(har)
    assert isinstance(good, Interaction) and good.request.body == PNG
    assert isinstance(problem, ReadProblem) and "request postData says base64 but is not" in problem.message
