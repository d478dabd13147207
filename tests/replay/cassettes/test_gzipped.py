"""Gzipped captures (what ``capture --gzip`` writes) read as they inflate, and bounded."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from replay.cassettes import CassetteError, input_files, read_interactions
from replay.cassettes.gzipped import Inflating, plain_suffix
from replay.cassettes.model import Interaction
from replay.cli import cli

RECORD = {"request": {"method": "GET", "uri": "https://x.talon.one/v2/customer_sessions/s1"},
          "response": {"status": 404, "headers": {"Content-Type": ["application/json"]},
                       "body": '{"message": "not found", "StatusCode": 404}'}}  # fmt: skip


def _lines(count: int) -> bytes:
    return (json.dumps(RECORD) + "\n").encode() * count


def test_a_gzipped_json_lines_capture_is_read_and_found(tmp_path: Path) -> None:
    (tmp_path / "seg").mkdir()
    path = tmp_path / "seg" / "profile-a.jsonl.gz"
    path.write_bytes(gzip.compress(_lines(3)))
    items = list(read_interactions(path))
    assert len(items) == 3 and all(isinstance(i, Interaction) for i in items)
    unreadable: list[str] = []
    assert input_files([tmp_path], unreadable) == [path] and unreadable == []
    assert plain_suffix(path) == ".jsonl" and plain_suffix(Path("a.yaml")) == ".yaml"


def test_a_truncated_gzip_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(_lines(50))[:120])
    with pytest.raises(CassetteError, match="the gzip stream is broken"):
        list(read_interactions(path))
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2 and "the gzip stream is broken" in result.output
    assert result.output.count(str(path)) == 2  # the file named once on each of its two lines


def test_what_one_read_inflates_to_is_bounded() -> None:
    bomb = gzip.compress(b"x" * (4 * 1024 * 1024))  # one line of 4 MiB, from 4 KB
    with pytest.raises(CassetteError, match="inflates past 1,048,576 bytes"):
        Inflating(io.BytesIO(bomb), "bomb.jsonl.gz", limit=1024 * 1024).readline()
    with pytest.raises(CassetteError, match="inflates past"):
        Inflating(io.BytesIO(bomb), "bomb.jsonl.gz", limit=1024 * 1024).read()
    whole = Inflating(io.BytesIO(gzip.compress(_lines(2))), "ok.jsonl.gz", limit=1024 * 1024)
    assert list(whole) == _lines(2).splitlines(keepends=True)


def test_a_million_blank_lines_are_one_clear_error_at_once(tmp_path: Path) -> None:
    import time

    path = tmp_path / "blank.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n" * 2_000_000))  # 2 MB of line breaks in ~2 KB
    started = time.process_time()
    with pytest.raises(CassetteError, match="bytes of blank lines"):
        list(read_interactions(path))
    assert time.process_time() - started < 2.0  # was quadratic: minutes for a million lines
