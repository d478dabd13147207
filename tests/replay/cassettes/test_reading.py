"""replay.cassettes.reading: every input format, malformed input, streaming, writing (and vcrpy both ways)."""

from __future__ import annotations

import gzip
import os
import stat
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import requests
import vcr
import yaml

from contracts.http import HttpRequest, HttpResponse
from contracts.sandbox import Sandbox
from replay.cassettes import (
    CassetteError,
    cassette_files,
    detect_format,
    read_interactions,
    write_cassette,
)
from replay.cassettes.model import Interaction, ReadProblem, decoded_body
from replay.recording.vcrpy import vcr_config

from ..helpers import CORPUS, corpus, har, jsonl, schemathesis_report, session_exchange


def _read(path: Path) -> tuple[list[Interaction], list[ReadProblem]]:
    items = list(read_interactions(path))
    return [i for i in items if isinstance(i, Interaction)], [i for i in items if isinstance(i, ReadProblem)]


def _same(read: list[Interaction], expected: list[Interaction]) -> None:
    """Method, URL, bodies and statuses survive; header values survive (names compared case-blind)."""
    assert len(read) == len(expected)
    for got, want in zip(read, expected, strict=False):
        assert (got.request.method, got.request.url) == (want.request.method, want.request.url)
        assert (got.request.body or None) == (want.request.body or None)
        assert got.response is not None and want.response is not None
        assert got.response.status == want.response.status
        assert got.response.body == want.response.body
        want_headers = {k.lower(): v for k, v in want.response.headers.items()}
        assert {k.lower(): v for k, v in got.response.headers.items()} == want_headers


# --------------------------------------------------------------------------- each format


def _converted(path: Path, content: bytes, fmt: str) -> list[Interaction]:
    """Write ``content`` (the corpus' catalog-sync story in some format); it must read back as that story."""
    path.write_bytes(content)
    interactions, problems = _read(path)
    assert problems == []
    _same(interactions, corpus("catalog-sync"))
    assert detect_format(path) == fmt
    return interactions


def test_our_vcr_cassettes_are_read_with_lines_and_indexes() -> None:
    interactions, problems = _read(CORPUS / "catalog-sync.yaml")
    assert problems == []
    assert [i.index for i in interactions] == list(range(len(interactions)))
    assert interactions[0].line == 2  # the first list item, right after "interactions:"
    assert all(
        b > a
        for a, b in zip(
            [i.line or 0 for i in interactions], [i.line or 0 for i in interactions[1:]], strict=False
        )
    )
    assert interactions[0].request.headers["Authorization"] == ["ApiKey-v1 REDACTED"]
    assert detect_format(CORPUS / "catalog-sync.yaml") == "vcr"


def test_schemathesis_vcr_report(tmp_path: Path) -> None:
    content = schemathesis_report(corpus("catalog-sync")).encode()
    interactions = _converted(tmp_path / "report.yaml", content, "schemathesis")
    assert interactions[0].meta["id"] == "1" and interactions[0].meta["status"] == "SUCCESS"
    assert interactions[0].recorded_at == "2026-03-02T09:00:00.000000+00:00"
    assert interactions[0].elapsed == pytest.approx(0.004)


def test_schemathesis_report_with_a_request_that_got_no_response(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    text = schemathesis_report([session_exchange()])
    path.write_text(text.replace("  response:\n", "  response: null\n  unused:\n", 1))
    interactions, problems = _read(path)
    assert problems == [] and interactions[0].response is None


def test_schemathesis_report_bodies_in_base64(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(
        "http_interactions:\n- id: '1'\n  request: {uri: 'http://h/v2/customer_sessions/a', method: GET, headers: {}}\n"
        "  response:\n    status: {code: '200', message: OK}\n    headers: {Content-Type: [application/json]}\n"
        "    body: {encoding: utf-8, base64_string: eyJhIjogMX0=}\n"
    )
    (interaction,), problems = _read(path)
    assert problems == []
    assert interaction.response is not None and interaction.response.body == b'{"a": 1}'


def test_har_from_devtools(tmp_path: Path) -> None:
    interactions = _converted(tmp_path / "capture.har", har(corpus("catalog-sync")), "har")
    assert not any(name.startswith(":") for name in interactions[0].request.headers)  # HTTP/2 pseudo-headers
    assert interactions[0].elapsed == pytest.approx(0.0125)


def test_har_base64_content_and_unanswered_entries(tmp_path: Path) -> None:
    document = orjson.loads(har([session_exchange(), session_exchange("order-2")]))
    content = document["log"]["entries"][0]["response"]["content"]
    content["text"], content["encoding"] = "eyJhIjogMX0=", "base64"
    document["log"]["entries"][1]["response"]["status"] = 0  # the browser got no answer
    path = tmp_path / "capture.har"
    path.write_bytes(orjson.dumps(document))
    (first, second), problems = _read(path)
    assert problems == []
    assert first.response is not None and first.response.body == b'{"a": 1}'
    assert second.response is None


def test_json_lines(tmp_path: Path) -> None:
    interactions = _converted(tmp_path / "capture.jsonl", jsonl(corpus("catalog-sync")), "jsonl")
    assert [i.line for i in interactions] == list(range(1, len(interactions) + 1))


def test_vcr_cassette_in_json(tmp_path: Path) -> None:
    """vcrpy's json serializer writes the same structure as JSON."""
    content = orjson.dumps(yaml.safe_load((CORPUS / "catalog-sync.yaml").read_text()))
    assert _converted(tmp_path / "cassette.json", content, "vcr")[0].line is None


def test_the_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "capture.yaml"
    misnamed.write_bytes(har([session_exchange()]))
    assert detect_format(misnamed) == "har"
    lines = tmp_path / "capture.json"
    lines.write_bytes(jsonl([session_exchange()]))
    assert detect_format(lines) == "jsonl"


def test_gzip_bodies_kept_by_vcrpy_are_decoded_for_checking() -> None:
    body = gzip.compress(b'{"a":1}')
    assert decoded_body({"Content-Encoding": ["gzip"]}, body) == b'{"a":1}'
    assert decoded_body({"Content-Encoding": ["gzip"]}, b"plain") == b"plain"  # a lying header
    assert decoded_body({}, body) == body


# --------------------------------------------------------------------------- malformed input


def test_bad_yaml_in_the_middle_names_the_line_and_keeps_what_came_before(tmp_path: Path) -> None:
    text = (CORPUS / "catalog-sync.yaml").read_text()
    lines = text.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines) if line.startswith("- request:")]
    broken_at = starts[2]
    lines.insert(broken_at + 1, "    method: [GET\n")
    path = tmp_path / "broken.yaml"
    path.write_text("".join(lines))
    interactions, problems = _read(path)
    assert [i.index for i in interactions] == [0, 1]
    (problem,) = problems
    assert problem.fatal and problem.index == 2
    assert problem.line is not None and broken_at + 1 <= problem.line <= broken_at + 4
    assert str(path) in str(problem) and f":{problem.line}" in str(problem)
    assert "invalid YAML" in problem.message and "rest of the file" in problem.message


def test_unsafe_yaml_tags_are_refused_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(
        "interactions:\n- request: !!python/object/apply:os.system ['touch pwned']\n  response: null\nversion: 1\n"
    )
    interactions, problems = _read(path)
    assert interactions == [] and len(problems) == 1
    assert not (tmp_path / "pwned").exists()


def test_one_bad_interaction_does_not_stop_the_others(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    text = schemathesis_report([session_exchange("a"), session_exchange("b"), session_exchange("c")])
    document = yaml.safe_load(text)
    del document["http_interactions"][1]["request"]
    document["http_interactions"][2]["response"]["status"]["code"] = "abc"
    path.write_text(yaml.safe_dump(document))
    interactions, problems = _read(path)
    assert [i.request.url.rsplit("/", 1)[1] for i in interactions] == ["a"]
    assert [(p.index, p.fatal) for p in problems] == [(1, False), (2, False)]
    assert "no request" in problems[0].message
    assert "'abc' is not a number" in problems[1].message
    assert problems[0].line is not None


def test_har_entry_without_a_request_is_reported_by_index(tmp_path: Path) -> None:
    document = orjson.loads(har([session_exchange("a"), session_exchange("b")]))
    document["log"]["entries"].insert(1, {"response": {"status": 200}})
    path = tmp_path / "capture.har"
    path.write_bytes(orjson.dumps(document))
    interactions, (problem,) = _read(path)
    assert [i.index for i in interactions] == [0, 2] and problem.index == 1 and not problem.fatal


def test_truncated_json_line(tmp_path: Path) -> None:
    content = jsonl([session_exchange("a"), session_exchange("b"), session_exchange("c")])
    path = tmp_path / "capture.jsonl"
    path.write_bytes(content[: len(content) - 40])  # the capture was cut off while writing
    interactions, (problem,) = _read(path)
    assert [i.index for i in interactions] == [0, 1]
    assert problem.line == 3 and problem.index == 2 and "truncated" in problem.message
    assert f"{path}:3 (interaction 2)" in str(problem)


def test_bad_json_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    lines = jsonl([session_exchange("a"), session_exchange("b")]).splitlines()
    path = tmp_path / "capture.jsonl"
    path.write_bytes(
        b"\n".join([lines[0], b'{"request": {"method": "GET", "uri"', lines[1], b"[1, 2]"]) + b"\n"
    )
    interactions, problems = _read(path)
    assert [i.index for i in interactions] == [0, 2]
    assert [(p.line, p.index) for p in problems] == [(2, 1), (4, 3)]
    assert "not valid JSON" in problems[0].message and "truncated" not in problems[0].message
    assert "must be a mapping" in problems[1].message


def test_a_body_claiming_json_that_is_not_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    from contracts.spec import load_contract
    from replay.verify import verify

    path = tmp_path / "capture.jsonl"
    path.write_bytes(jsonl([session_exchange(body=b'{"customerSession": {"id": 1,')]))
    report = verify([path], load_contract())
    (finding,) = report.findings
    assert finding.violation.keyword == "json" and finding.violation.location == "body"
    assert finding.source == str(path) and finding.index == 0 and finding.line == 1
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("thing.yaml", b"", "empty"),
        ("thing.yaml", b"- just\n- a list\n", "top level is not a mapping"),
        ("thing.yaml", b"version: 1\nsomething: else\n", "no 'interactions'"),
        ("thing.json", b'[{"not": "a request"}]', "not a cassette"),
        ("thing.json", b"{broken json", "invalid JSON"),
        ("thing.yaml", b"\x00\xff\xfe binary", "not a text file"),
        ("capture.har", b'{"log": {"version": "1.2"}}', "log.entries"),  # a HAR without entries
        ("capture.har", b'{"log": {"entries": {"not": "a list"}}}', "log.entries"),
        ("capture.har", b'{"log": []}', "log.entries"),
    ],
)
def test_files_that_are_not_cassettes(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    interactions, problems = _read(path)
    assert interactions == []
    assert len(problems) == 1 and problems[0].fatal
    assert message in problems[0].message, problems[0].message
    assert str(problems[0]).startswith(str(path))
    if name.endswith(".har"):  # recognised as HAR, then found wanting
        assert detect_format(path) == "har"
    else:
        with pytest.raises(CassetteError, match="not a recognised cassette format"):
            detect_format(path)


def test_a_cassette_cut_off_in_its_first_interaction(tmp_path: Path) -> None:
    path = tmp_path / "cut.yaml"
    path.write_bytes(
        b"interactions:\n- request: {method: GET, uri: 'http://h/x'}\n  response: {status: {code: 200}"
    )
    interactions, (problem,) = _read(path)
    assert (
        interactions == [] and problem.fatal and problem.index == 0 and problem.line in (3, 4)
    )  # at the end
    assert "invalid YAML" in problem.message
    assert detect_format(path) == "vcr"


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"no-such\.yaml"):
        list(read_interactions(tmp_path / "no-such.yaml"))
    with pytest.raises(CassetteError, match="no such file"):
        cassette_files([tmp_path / "missing"])


def test_cassette_files_walks_directories_for_known_suffixes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.yaml", "sub/b.jsonl", "sub/c.har", "notes.txt", "d.json"):
        (tmp_path / name).write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in cassette_files([tmp_path])]
    assert found == ["a.yaml", "d.json", "sub/b.jsonl", "sub/c.har"]


def _unlistable(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """``locked`` cannot be listed, as a directory without read permission (tests run as root)."""
    real = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_subdirectory_that_cannot_be_listed_is_said_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.yaml").write_text("")
    (tmp_path / "seen.yaml").write_text("")
    _unlistable(monkeypatch, tmp_path / "locked")
    with pytest.raises(CassetteError, match="locked: Permission denied"):
        cassette_files([tmp_path])
    unreadable: list[str] = []
    assert cassette_files([tmp_path], unreadable) == [tmp_path / "seen.yaml"]  # the rest is listed
    assert len(unreadable) == 1 and "its cassettes were not read" in unreadable[0]


def test_verify_exits_2_for_a_subdirectory_it_cannot_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from replay.cli import cli

    (tmp_path / "locked").mkdir()
    good = tmp_path / "good.yaml"
    good.write_bytes((CORPUS / sorted(p.name for p in CORPUS.glob("*.yaml"))[0]).read_bytes())
    _unlistable(monkeypatch, tmp_path / "locked")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path)])
    assert result.exit_code == 2, result.output  # as for a file that cannot be read
    assert "locked: Permission denied" in result.output and "good.yaml" in result.output


# --------------------------------------------------------------------------- streaming


def _many(count: int) -> Iterator[Interaction]:
    for n in range(count):
        exchange = session_exchange(f"order-{n}")
        exchange.index = n
        yield exchange


@pytest.mark.parametrize(("fmt", "count"), [("jsonl", 6000), ("vcr", 1500)])
def test_reading_streams_in_bounded_memory(tmp_path: Path, fmt: str, count: int) -> None:
    """Peak memory while reading does not grow with the file: interactions come one at a time."""
    peaks = []
    for size in (count // 6, count):
        path = tmp_path / f"capture-{size}.{fmt}"
        assert write_cassette(path, _many(size), fmt=fmt) == size
        tracemalloc.start()
        try:
            seen = sum(1 for item in read_interactions(path) if isinstance(item, Interaction))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert seen == size
    file_size = (tmp_path / f"capture-{count}.{fmt}").stat().st_size
    assert peaks[1] < file_size / 4, (peaks, file_size)
    assert peaks[1] < peaks[0] * 2, peaks  # 6x the interactions, about the same peak


def test_read_interactions_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    write_cassette(path, _many(3), fmt="jsonl")
    items = read_interactions(path)
    first = next(items)
    assert isinstance(first, Interaction) and first.index == 0
    with path.open("ab") as stream:  # appended after reading started: still seen (nothing was preloaded)
        stream.write(jsonl([session_exchange("late")]))
    assert [i.request.url.rsplit("/", 1)[1] for i in items if isinstance(i, Interaction)][-1] == "late"


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("fmt", ["vcr", "jsonl", "har"])
def test_write_then_read_round_trip(tmp_path: Path, fmt: str) -> None:
    expected = corpus("checkout-coupon-referral")
    binary = Interaction(
        "memory",
        len(expected),
        HttpRequest(
            "POST",
            "http://localhost:9000/v2/events",
            {"Content-Type": ["application/octet-stream"]},
            b"\x00\xff",
        ),
        HttpResponse(400, {"Content-Type": ["application/json"]}, b'{"message":"bad"}'),
    )
    path = tmp_path / f"out.{fmt}"
    assert write_cassette(path, [*expected, binary], fmt=fmt) == len(expected) + 1
    interactions, problems = _read(path)
    assert problems == []
    _same(interactions, [*expected, binary])
    assert detect_format(path) == fmt


def test_an_empty_cassette_is_still_a_cassette(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    assert write_cassette(path, []) == 0
    assert yaml.safe_load(path.read_text()) == {"interactions": [], "version": 1}
    assert _read(path) == ([], [])


def test_unknown_output_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid: vcr, jsonl, har"):
        write_cassette(tmp_path / "x", [], fmt="xml")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_the_old_cassette_in_place(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    write_cassette(path, corpus("catalog-sync"))
    before = path.read_bytes()

    def interrupted() -> Iterator[Interaction]:
        yield from corpus("checkout-coupon-referral")[:3]
        raise KeyboardInterrupt  # Ctrl-C in the middle of a recording

    with pytest.raises(KeyboardInterrupt):
        write_cassette(path, interrupted())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["story.yaml"]  # no temporary file left behind


def test_written_cassettes_are_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    write_cassette(path, [session_exchange()])
    mode = stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    os.chmod(path, 0o640)
    write_cassette(path, [session_exchange()])  # a rewrite keeps the mode the user chose
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --------------------------------------------------------------------------- vcrpy, both ways


def test_vcrpy_plays_back_our_cassettes(tmp_path: Path) -> None:
    expected = corpus("checkout-coupon-referral")
    path = tmp_path / "ours.yaml"
    write_cassette(path, expected)
    with vcr.use_cassette(str(path), record_mode="none", match_on=["method", "uri", "body"]) as cassette:
        assert len(cassette) == len(expected)
        for interaction in expected[:4]:
            request = interaction.request
            answer = requests.request(
                request.method, request.url, data=request.body, headers={"Accept": "application/json"}
            )
            assert interaction.response is not None
            assert answer.status_code == interaction.response.status
            assert answer.content == interaction.response.body


def test_vcrpy_recordings_are_read_and_redacted_with_our_rules(tmp_path: Path) -> None:
    path = tmp_path / "recorded-by-vcrpy.yaml"
    with Sandbox() as sandbox:
        recorder = vcr.VCR(**vcr_config(api_key=sandbox.api_key))
        headers = {"Authorization": f"ApiKey-v1 {sandbox.api_key}", "Content-Type": "application/json"}
        with recorder.use_cassette(str(path)):
            profile = {"attributes": {"Name": "Rita Hayworth", "Email": "rita@example.com"}}
            answer = requests.put(
                f"{sandbox.base_url}/v2/customer_profiles/rita", json=profile, headers=headers
            )
            assert answer.status_code == 200
            assert (
                answer.json()["customerProfile"]["attributes"]["Name"] == "Rita Hayworth"
            )  # the caller sees the truth
            requests.get(f"{sandbox.base_url}/v2/customer_sessions/none", headers=headers)
    text = path.read_text()
    assert sandbox.api_key not in text and "Rita" not in text and "rita@example.com" not in text
    interactions, problems = _read(path)
    assert problems == [] and len(interactions) == 2
    first, second = interactions
    assert first.request.headers["Authorization"] == ["ApiKey-v1 REDACTED"]
    assert first.response is not None and second.response is not None
    assert second.response.status == 404
    sent = orjson.loads(first.request.body or b"")
    answered = orjson.loads(first.response.body or b"")
    assert sent["attributes"]["Email"].endswith("@example.invalid")
    assert (
        answered["customerProfile"]["attributes"] == sent["attributes"]
    )  # the same pseudonyms on both sides

    from contracts.spec import load_contract
    from replay.verify import verify

    assert verify([path], load_contract()).exit_code == 0


# --------------------------------------------------------------------------- what real files contain


def test_anchors_aliases_and_merge_keys_read_as_yaml_means_them(tmp_path: Path) -> None:
    path = tmp_path / "anchored.yaml"
    path.write_text(
        "defaults: &request {method: GET, headers: {Accept: [&json application/json]}}\n"
        "interactions:\n"
        "- request: {<<: *request, uri: 'http://h/v2/customer_sessions/a'}\n"
        "  response: {status: {code: 200}, headers: {Content-Type: [*json]}, body: {string: '{}'}}\n"
        "- request: {<<: *request, uri: 'http://h/v2/customer_sessions/b', method: POST}\n"
        "  response: null\n"
        "version: 1\n"
    )
    (first, second), problems = _read(path)
    assert problems == []
    assert first.request.method == "GET" and first.request.headers == {"Accept": ["application/json"]}
    assert first.response is not None and first.response.headers == {"Content-Type": ["application/json"]}
    assert second.request.method == "POST"  # an explicit key wins over the merged one
    assert second.request.url.endswith("/b")


@pytest.mark.parametrize(
    "bad_value",
    ["!!int 'abc'", "!!float 'x'", "!!binary 'é'", "*undefined", "!!python/name:os.system ''"],
)
def test_a_bad_value_spoils_only_its_own_interaction(tmp_path: Path, bad_value: str) -> None:
    path = tmp_path / "cassette.yaml"
    item = "- request: {{method: GET, uri: 'http://h/v2/customer_sessions/{}', headers: {{X: [{}]}}}}\n  response: null\n"
    path.write_text(
        "interactions:\n" + item.format("a", "ok") + item.format("b", bad_value) + item.format("c", "ok")
    )
    interactions, (problem,) = _read(path)
    assert [i.request.url[-1] for i in interactions] == ["a", "c"]  # the reader stays in step after it
    assert problem.index == 1 and problem.line == 4 and not problem.fatal


@pytest.mark.parametrize(
    ("status", "message"),
    [("200.7", "not a number"), ("true", "not a number"), ("700", "not an HTTP status")],
)
def test_statuses_must_be_whole_http_statuses(tmp_path: Path, status: str, message: str) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_text(
        f'{{"request": {{"method": "GET", "uri": "http://h/x"}}, "response": {{"status": {status}}}}}\n'
    )
    interactions, (problem,) = _read(path)
    assert interactions == [] and message in problem.message


def test_non_text_base64_is_a_problem_of_that_interaction(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    good = jsonl([session_exchange()])
    path.write_bytes(
        good + b'{"request": {"method": "GET", "uri": "http://h/x", "body": {"base64_string": 5}}}\n' + good
    )
    interactions, (problem,) = _read(path)
    assert len(interactions) == 2 and problem.index == 1 and "base64" in problem.message


def test_byte_order_marks_are_tolerated(tmp_path: Path) -> None:
    lines = tmp_path / "capture.jsonl"
    lines.write_bytes(
        b"\xef\xbb\xbf" + jsonl([session_exchange(), session_exchange()]).replace(b"\n", b"\r\n")
    )
    assert len(_read(lines)[0]) == 2 and _read(lines)[1] == []
    document = tmp_path / "capture.har"
    document.write_bytes(b"\xef\xbb\xbf" + har([session_exchange()]))
    assert len(_read(document)[0]) == 1 and _read(document)[1] == []


def test_json_lines_are_recognised_whatever_the_first_line(tmp_path: Path) -> None:
    """A first record without a request, or longer than any sniffing buffer, still means JSON Lines."""
    path = tmp_path / "capture.json"
    long_body = session_exchange(body=b'{"customerSession": {"note": "' + b"x" * 20_000 + b'"}}')
    path.write_bytes(b'{"capturedBy": "proxy"}\n' + jsonl([long_body, session_exchange()]))
    interactions, (problem,) = _read(path)
    assert problem.line == 1 and "no request" in problem.message
    assert [i.line for i in interactions] == [2, 3]
    assert detect_format(path) == "jsonl"


def test_pipes_are_read_once(tmp_path: Path) -> None:
    """The format is detected from what is read, not by opening the file twice: FIFOs and stdin work."""
    fifo = tmp_path / "capture.yaml"
    os.mkfifo(fifo)
    content = (CORPUS / "catalog-sync.yaml").read_bytes()

    def feed() -> None:
        with fifo.open("wb") as stream:
            stream.write(content)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        interactions, problems = _read(fifo)
    finally:
        writer.join(timeout=10)
    assert problems == [] and len(interactions) == len(corpus("catalog-sync"))


def test_problems_are_capped_per_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"{not json}\n" * 1_200)
    _, problems = _read(path)
    assert len(problems) == 1_001
    assert problems[-1].message == "200 more problem(s) not listed"


def test_a_decompression_bomb_stays_compressed(monkeypatch: pytest.MonkeyPatch) -> None:
    import replay.cassettes.model

    monkeypatch.setattr(replay.cassettes.model, "MAX_DECODED_BODY", 1_000)
    bomb = gzip.compress(b"0" * 100_000)
    assert decoded_body({"Content-Encoding": "gzip"}, bomb) == bomb
    assert decoded_body({"Content-Encoding": "gzip"}, gzip.compress(b"0" * 999)) == b"0" * 999


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip, identity", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw deflate
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),  # applied in order
    ],
)
def test_content_codings(coding: str, compress: Callable[[bytes], bytes]) -> None:
    assert decoded_body({"Content-Encoding": coding}, compress(b'{"a":1}')) == b'{"a":1}'
