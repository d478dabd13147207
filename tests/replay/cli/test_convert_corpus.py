"""``talon-contracts convert`` over every cassette of the curated corpus: through HAR and JSON Lines and
back, byte for byte; with one --redaction-salt, the same output twice, and a converted cassette
converted again is the same (pseudonyms are left as they are)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.http import HttpRequest, HttpResponse
from replay.cassettes import read_interactions, write_cassette
from replay.cassettes.model import Interaction
from replay.cli import cli

from ..helpers import CORPUS

CASSETTES = sorted(CORPUS.glob("*.yaml"))
SALT = "a team's fixed key"

# the corpus is redacted already: its pseudonyms, given back real-looking values (each its own)
_PSEUDONYM = re.compile(
    rb"person-([0-9a-f]{10})@example\.invalid|([A-Z][A-Za-z]*)-([0-9a-f]{10})|\+000(\d{9})"
)


def _real(match: re.Match[bytes]) -> bytes:
    mail, member, digest, phone = match.groups()
    if mail:
        return b"customer." + mail + b"@mail.example.com"
    if phone:
        return b"+351 " + phone
    return b"Real " + member + b" " + str(int(digest, 16) % 10_000).encode()


def _unredact(body: bytes | None) -> bytes | None:
    return _PSEUDONYM.sub(_real, body) if body else body


def _message(message: HttpRequest | HttpResponse, body: bytes | None) -> dict[str, list[str]]:
    headers = dict(message.headers)
    for name in headers:
        if name.lower() == "content-length":
            headers[name] = [str(len(body or b""))]
    return headers


def _raw(cassette: Path, target: Path) -> bytes:
    """``cassette`` as it was before redaction (as far as a test can tell): personal data in clear."""
    raw = []
    for item in read_interactions(cassette):
        assert isinstance(item, Interaction)
        request, response = item.request, item.response
        body = _unredact(request.body)
        new_request = HttpRequest(request.method, request.url, _message(request, body), body)
        new_response = None
        if response is not None:
            answer = _unredact(response.body)
            new_response = HttpResponse(response.status, _message(response, answer), answer)
        raw.append(dataclasses.replace(item, request=new_request, response=new_response))
    write_cassette(target, raw)
    return target.read_bytes()


def _convert(runner: CliRunner, source: Path, target: Path, salt: str = SALT) -> bytes:
    result = runner.invoke(cli, ["convert", str(source), str(target), "--redaction-salt", salt])
    assert result.exit_code == 0, result.output
    return target.read_bytes()


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_through_har_and_back_is_the_same_cassette(runner: CliRunner, tmp_path: Path, cassette: Path) -> None:
    assert _convert(runner, cassette, tmp_path / "same.yaml") == cassette.read_bytes()  # redacted already
    _convert(runner, cassette, tmp_path / "story.har")
    assert _convert(runner, tmp_path / "story.har", tmp_path / "back.yaml") == cassette.read_bytes()
    lines = _convert(runner, cassette, tmp_path / "story.jsonl")
    _convert(runner, tmp_path / "story.jsonl", tmp_path / "lines.har")
    assert _convert(runner, tmp_path / "lines.har", tmp_path / "back.jsonl") == lines


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_pseudonyms_are_stable_for_a_given_key(runner: CliRunner, tmp_path: Path, cassette: Path) -> None:
    raw = _raw(cassette, tmp_path / "raw.yaml")
    once = _convert(runner, tmp_path / "raw.yaml", tmp_path / "once.yaml")
    assert (
        _convert(runner, tmp_path / "raw.yaml", tmp_path / "again.yaml") == once
    )  # the same key, run after run
    assert _convert(runner, tmp_path / "once.yaml", tmp_path / "twice.yaml") == once  # a converted cassette
    assert _convert(runner, tmp_path / "once.yaml", tmp_path / "other.yaml", salt="another key") == once
    _convert(runner, tmp_path / "raw.yaml", tmp_path / "once.har")
    assert _convert(runner, tmp_path / "once.har", tmp_path / "from-har.yaml") == once
    for real in set(
        re.findall(rb"customer\.[0-9a-f]{10}@mail\.example\.com|Real [A-Za-z]+ \d+|\+351 \d{9}", raw)
    ):
        assert real not in once, real  # and the real values are gone
    if raw != cassette.read_bytes():  # a story with personal data: a new key gives new pseudonyms
        assert _convert(runner, tmp_path / "raw.yaml", tmp_path / "other.yaml", salt="another key") != once
