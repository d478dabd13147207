"""``talon-contracts convert``: a capture to a redacted cassette, credentials refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from replay.cassettes import detect_format, read_interactions
from replay.cli import cli

from ..helpers import har, jsonl, session_exchange
from .conftest import STORIES


def test_convert_a_browser_har_to_redacted_json_lines(runner: CliRunner, tmp_path: Path) -> None:
    exchanges = [session_exchange("a"), session_exchange("b")]
    for exchange in exchanges:
        exchange.request.headers["Authorization"] = ["ApiKey-v1 " + "c0ffee" * 8]  # what devtools export
    source = tmp_path / "capture.har"
    source.write_bytes(har(exchanges))
    target = tmp_path / "capture.jsonl"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    assert f"2 interaction(s) -> {target} [jsonl]" in result.stderr
    assert "c0ffee" not in target.read_text() and "ApiKey-v1 REDACTED" in target.read_text()
    assert runner.invoke(cli, ["verify", str(target)]).exit_code == 0


def test_convert_refuses_to_write_a_credential(runner: CliRunner, tmp_path: Path) -> None:
    leaky = session_exchange(body=json.dumps({"note": "ApiKey-v1 0123456789abcdef"}).encode())
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange(), leaky]))
    target = tmp_path / "out.yaml"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 2
    assert "interaction 1, response body" in result.stderr
    assert not target.exists()


def test_convert_keeps_what_it_can_read(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange("a"), session_exchange("b")]) + b'{"request": {"meth')
    target = tmp_path / "out.yaml"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 2 and "truncated" in result.stderr and "1 part(s)" in result.stderr
    assert [i.index for i in read_interactions(target)] == [0, 1]
    assert runner.invoke(cli, ["convert", str(target), str(target)]).exit_code == 2  # same file: refused


def test_a_failed_conversion_never_replaces_a_good_target(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl([session_exchange("s1")]))
    before = good.read_bytes()
    broken = tmp_path / "broken.yaml"
    broken.write_text("interactions: [\n  - request: {method: GET\n")  # not YAML: nothing can be read
    result = runner.invoke(cli, ["convert", str(broken), str(good)])
    assert result.exit_code == 2 and "is kept as it was" in result.stderr
    assert good.read_bytes() == before  # untouched, not an empty cassette
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    fresh = tmp_path / "new.jsonl"  # no target yet: what can be read is written, and the exit says 2
    result = runner.invoke(cli, ["convert", str(broken), str(fresh)])
    assert result.exit_code == 2 and fresh.exists()


def test_ctrl_c_exits_130_and_leaves_the_target_as_it_was(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl([session_exchange("s1")]))
    before = good.read_bytes()
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange("s2"), session_exchange("s3")]))

    def interrupted(path: Any, **kwargs: Any) -> Iterator[Any]:
        yield session_exchange("s2")
        raise KeyboardInterrupt  # what Ctrl-C does in the middle of a long conversion

    monkeypatch.setattr("replay.cassettes.read_interactions", interrupted)
    result = runner.invoke(cli, ["convert", str(source), str(good)])
    assert result.exit_code == 130 and "interrupted: nothing written" in result.stderr
    assert good.read_bytes() == before


# --------------------------------------------------------------------------- HAR 1.2


@pytest.mark.parametrize(
    ("name", "option", "fmt"),
    [("out.har", None, "har"), ("out.HAR", None, "har"), ("out.json", "har", "har"), ("out.ndjson", None, "jsonl"),
     ("out.yaml", None, "vcr"), ("out.txt", None, "vcr"), ("out.har", "jsonl", "jsonl")],
)  # fmt: skip
def test_the_format_follows_the_target_unless_given(
    runner: CliRunner, tmp_path: Path, name: str, option: str | None, fmt: str
) -> None:
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange("a")]))
    target = tmp_path / name
    result = runner.invoke(
        cli, ["convert", str(source), str(target), *(["--format", option] if option else [])]
    )
    assert result.exit_code == 0, result.output
    assert f"1 interaction(s) -> {target} [{fmt}]" in result.stderr
    assert detect_format(target) == fmt


def test_convert_writes_har_that_verify_reads(runner: CliRunner, tmp_path: Path) -> None:
    """x.jsonl -> out.har is HAR 1.2 (it was vcrpy YAML under a .har name), read back by verify."""
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange("a"), session_exchange("b")]))
    target = tmp_path / "out.har"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    log = json.loads(target.read_text())["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "talon-contracts"
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in log["entries"]] == ["a", "b"]
    assert [e["startedDateTime"] for e in log["entries"]] == [
        "2026-03-02T09:00:00Z"
    ] * 2  # kept from the capture
    assert [e["time"] for e in log["entries"]] == [10.0, 10.0]  # elapsed 0.01 s, in milliseconds
    verified = runner.invoke(cli, ["verify", str(target)])
    assert verified.exit_code == 0, verified.output
    assert "[har]: 2 interaction(s)" in verified.stdout


def test_replay_reads_the_har_convert_writes(runner: CliRunner, tmp_path: Path) -> None:
    converted = []
    for story in STORIES:
        target = tmp_path / f"{Path(story).stem}.har"
        assert runner.invoke(cli, ["convert", story, str(target)]).exit_code == 0
        converted.append(str(target))
    result = runner.invoke(cli, ["replay", *converted, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "28 interaction(s) from 2 file(s)" in result.stdout
