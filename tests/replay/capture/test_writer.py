"""Capture files: segments that rotate by size and age, gzipped whole or absent, lines never torn."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import orjson
import pytest

from replay.capture import CaptureWriter, Rotation, parse_rotation
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction

LINE = orjson.dumps({"request": {"method": "GET", "uri": "https://x.talon.one/v2/customer_sessions/s"},
                     "response": {"status": 200, "headers": {}, "body": "{}"}}) + b"\n"  # fmt: skip


@pytest.mark.parametrize(
    ("values", "expected"),
    [(("100MB",), Rotation(100_000_000, None)), (("1h", "512KiB"), Rotation(512 * 1024, 3600.0)),
     (("30s",), Rotation(None, 30.0)), ((), Rotation())],
)  # fmt: skip
def test_rotation_is_read_from_sizes_and_ages(values: tuple[str, ...], expected: Rotation) -> None:
    assert parse_rotation(values) == expected


@pytest.mark.parametrize("value", ["100", "1 parsec", "0MB", "-1h"])
def test_a_rotation_that_means_nothing_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="--rotate"):
        parse_rotation((value,))


def test_segments_rotate_by_size_and_a_story_goes_on_in_the_next(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, Rotation(size=len(LINE) * 3))
    for n in range(7):
        assert writer.write("profile-a" if n % 2 else "profile-b", LINE)
    writer.close()
    segments = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(segments) == 3 == len(writer.segments)
    counts = [sum(len(f.read_bytes().splitlines()) for f in s.iterdir()) for s in segments]
    assert counts == [3, 3, 1]
    assert {f.name for f in segments[1].iterdir()} == {"profile-a.jsonl", "profile-b.jsonl"}


def test_segments_rotate_by_age(tmp_path: Path) -> None:
    now = [1_000.0]
    writer = CaptureWriter(tmp_path, Rotation(age=60), clock=lambda: now[0])
    writer.write("shared", LINE)
    now[0] += 59
    writer.write("shared", LINE)
    now[0] += 2
    writer.write("shared", LINE)
    writer.close()
    assert [len(list(s.glob("*.jsonl"))) for s in writer.segments] == [1, 1]


def test_closed_segments_are_gzipped_and_read_back(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, Rotation(size=len(LINE) * 2), compress=True)
    for _ in range(5):
        writer.write("profile-a", LINE)
    writer.close()
    packed = sorted(tmp_path.rglob("*.jsonl.gz"))
    assert len(packed) == 3 and not list(tmp_path.rglob("*.jsonl")) and not list(tmp_path.rglob("*.part"))
    items = [i for p in packed for i in read_interactions(p)]
    assert len(items) == 5 and all(isinstance(i, Interaction) for i in items)
    assert gzip.decompress(packed[0].read_bytes()) == LINE * 2


def test_more_stories_than_open_files_are_all_written(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, open_files=16)
    for n in range(400):  # past open_files: the least recent are closed and reopened
        writer.write(f"profile-{n % 300}", LINE)
    writer.close()
    files = list(tmp_path.rglob("*.jsonl"))
    assert len(files) == 300 and sum(len(f.read_bytes().splitlines()) for f in files) == 400


def test_a_reader_of_a_file_being_written_never_sees_a_torn_interaction(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path)
    big = orjson.dumps({"request": {"method": "GET", "uri": "https://x.talon.one/v2/customer_sessions/s",
                                    "body": "z" * 5000}}) + b"\n"  # longer than a page: written in one call  # fmt: skip
    writer.write("profile-a", big)
    (path,) = tmp_path.rglob("*.jsonl")
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not done.is_set():
            for item in read_interactions(path):
                if not isinstance(item, Interaction) and "truncated" not in str(item):
                    seen.append(str(item))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(2000):
        writer.write("profile-a", big)
    done.set()
    reader.join()
    writer.close()
    assert seen == []  # at worst the start of the line being written, reported as truncated
    assert all(orjson.loads(line) for line in path.read_bytes().splitlines())


def test_a_write_that_fails_half_way_is_cut_back_and_stops_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = CaptureWriter(tmp_path)
    writer.write("profile-a", LINE)
    real = os.write

    def half(descriptor: int, data: bytes) -> int:  # what a disk that fills up does
        return real(descriptor, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", half)
    assert not writer.write("profile-a", LINE)
    monkeypatch.setattr(os, "write", real)
    assert writer.failed is not None and "recording stopped" in writer.failed
    assert not writer.write("profile-a", LINE)  # nothing after the failure
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.read_bytes() == LINE  # the torn half is gone


def test_an_idle_segment_is_closed_when_it_comes_of_age(tmp_path: Path) -> None:
    now = [1_000.0]
    writer = CaptureWriter(tmp_path, Rotation(age=60), compress=True, clock=lambda: now[0])
    writer.write("profile-a", LINE)
    writer.tick()
    assert not list(tmp_path.rglob("*.jsonl.gz"))  # not yet: younger than its age
    now[0] += 61
    writer.tick()  # nothing written since: closed and gzipped all the same
    writer.close()
    (packed,) = tmp_path.rglob("*.jsonl.gz")
    assert gzip.decompress(packed.read_bytes()) == LINE and not list(tmp_path.rglob("*.jsonl"))


def test_two_captures_into_one_directory_in_the_same_second_do_not_collide(tmp_path: Path) -> None:
    first, second = (CaptureWriter(tmp_path, clock=lambda: 1_000.0) for _ in range(2))
    assert first.write("profile-a", LINE) and second.write("profile-a", LINE)
    first.close()
    second.close()
    assert len({*first.segments, *second.segments}) == 2 and first.failed is None is second.failed
