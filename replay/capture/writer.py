"""Capture files: one JSON Lines file per story, in segments that rotate by size and age.

``DIR/<segment>/<story>.jsonl``, a segment being a directory named by when it started
(``20261203T101500Z-0001``). When a segment reaches its size or its age, its files are closed
(gzipped if asked: ``<story>.jsonl.gz``, written beside and renamed, so a file is whole or absent)
and the next segment begins; a story that goes on continues in the next segment under the same
name. Each segment is a capture a replay can take as it is (a file is a story).

Lines are never torn: each is written with one ``write(2)`` on a file opened for appending, and
a write that fails half-way (the disk full) is cut back to the last whole line. A reader of a
file being written sees whole lines, and at worst the start of one still being written, without
its line break (which the JSON Lines reader reports as truncated, not as an interaction).
A write that fails stops recording (``failed`` says why); the proxy goes on proxying.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import gzip
import os
import re
import resource
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OPEN_FILES_MAX", "CaptureWriter", "Rotation", "parse_rotation"]

#: story files kept open at once (least recently written closed first): a capture of thousands
#: of customers must not run out of descriptors. A quarter of the process's limit, at most 4,096
#: (the soft limit is raised to the hard one first, as servers do): reopening a file for every
#: line cost 75 us of the ~500 of recording one exchange with 500 customers and 128 open files.
OPEN_FILES_MAX = 4096


def _open_files() -> int:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            wanted = OPEN_FILES_MAX * 4 if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_MAX * 4)
            if wanted > soft:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                soft = wanted
    except (OSError, ValueError):
        return 128
    return max(16, min(OPEN_FILES_MAX, soft // 4))


_SIZE = re.compile(r"(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*(b|kb|mb|gb|kib|mib|gib)\s*")
_AGE = re.compile(r"(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|min|h|d)\s*")
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rotation:
    """When a segment ends: after ``size`` bytes, or ``age`` seconds (None: never)."""

    size: int | None = None
    age: float | None = None


def parse_rotation(values: tuple[str, ...] | list[str]) -> Rotation:
    """``("100MB", "1h")`` -> Rotation(100_000_000, 3600.0); a clear ``ValueError`` otherwise."""
    size: int | None = None
    age: float | None = None
    for value in values:
        if found := _SIZE.fullmatch(value):
            size = int(float(found[1]) * _UNITS[found[2].lower()])
        elif found := _AGE.fullmatch(value):
            age = float(found[1]) * _UNITS[found[2].lower()]
        else:
            raise ValueError(f"--rotate {value!r}: a size (100MB, 512KiB) or an age (30s, 10m, 1h, 1d)")
        if (size is not None and size <= 0) or (age is not None and age <= 0):
            raise ValueError(f"--rotate {value!r} must be more than zero")
    return Rotation(size, age)


@dataclass(slots=True)
class CaptureWriter:
    """Appends lines to story files under ``directory``; ``compress``: gzip closed segments."""

    directory: Path
    rotation: Rotation = field(default_factory=Rotation)
    compress: bool = False
    clock: Callable[[], float] = time.time
    failed: str | None = None  # why recording stopped (a write failed): nothing is written after it
    bytes_written: int = 0
    lines_written: int = 0
    segments: list[Path] = field(default_factory=list)
    _open: OrderedDict[str, int] = field(default_factory=OrderedDict)  # story -> descriptor
    _segment: Path | None = None
    _segment_bytes: int = 0
    _segment_started: float = 0.0
    _packing: concurrent.futures.ThreadPoolExecutor | None = None  # compresses closed segments
    _packed: list[concurrent.futures.Future[None]] = field(default_factory=list)
    open_files: int = field(default_factory=_open_files)  # story files kept open at once

    def check(self) -> None:
        """Refuse to start when the directory cannot be written (``OSError`` saying why)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        probe = self.directory / f".probe-{os.getpid()}"
        try:
            probe.write_bytes(b"")
        finally:
            probe.unlink(missing_ok=True)

    def write(self, story: str, line: bytes) -> bool:
        """Append one line (ending in a line break) to ``story``'s file; False once recording stopped."""
        if self.failed is not None:
            return False
        try:
            if self._segment is None or self._due():
                self._rotate()
            descriptor = self._descriptor(story)
            before = os.lseek(descriptor, 0, os.SEEK_END)
            try:
                written = os.write(descriptor, line)
                if written != len(line):  # (only when out of space): the line would be torn
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError:
                os.ftruncate(descriptor, before)  # back to the last whole line
                raise
        except OSError as exc:
            self.failed = f"recording stopped: cannot write to {self.directory}: {exc.strerror or exc}"
            self._close_all()
            return False
        self.bytes_written += len(line)
        self.lines_written += 1
        self._segment_bytes += len(line)
        return True

    def close(self, wait: bool = True) -> None:
        """Close the segment; a segment to compress is compressed on a thread of its own (a
        100 MB segment takes seconds: the proxy must not wait), finished here when ``wait``."""
        self._close_all()
        if self._segment is not None and self.compress:
            if self._packing is None:
                self._packing = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="capture-gzip")
            self._packed.append(self._packing.submit(self._compress, self._segment))
        self._segment = None
        if wait and self._packing is not None:
            concurrent.futures.wait(self._packed)
            self._packed.clear()

    def tick(self) -> None:
        """Close a segment whose age has come while nothing was written (an idle capture's last
        segment would otherwise stay open, and ungzipped, until the next line)."""
        if self._segment is not None and self.rotation.age is not None and self._due():
            self.close(wait=False)

    def _due(self) -> bool:
        rotation = self.rotation
        if rotation.size is not None and self._segment_bytes >= rotation.size:
            return True
        return rotation.age is not None and self.clock() - self._segment_started >= rotation.age

    def _rotate(self) -> None:
        self.close(wait=False)
        started = self.clock()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
        number = len(self.segments) + 1
        while True:  # another capture into the same directory, or a restart within the second
            segment = self.directory / f"{stamp}-{number:04d}"
            try:
                segment.mkdir(parents=True)
                break
            except FileExistsError:
                number += 1
        self._segment, self._segment_bytes, self._segment_started = segment, 0, started
        self.segments.append(segment)

    def _descriptor(self, story: str) -> int:
        descriptor = self._open.get(story)
        if descriptor is not None:
            self._open.move_to_end(story)
            return descriptor
        assert self._segment is not None
        path = self._segment / f"{story}.jsonl"
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._open[story] = descriptor
        if len(self._open) > self.open_files:
            os.close(self._open.popitem(last=False)[1])
        return descriptor

    def _close_all(self) -> None:
        while self._open:
            with contextlib.suppress(OSError):
                os.close(self._open.popitem()[1])

    def _compress(self, segment: Path) -> None:
        """Each story file of a closed segment, gzipped beside it, then renamed over (whole or absent)."""
        for path in sorted(segment.glob("*.jsonl")):
            packed = path.with_name(path.name + ".gz")
            partial = path.with_name(f".{path.name}.gz.part")
            try:
                with path.open("rb") as source, gzip.open(partial, "wb", compresslevel=6) as target:
                    shutil.copyfileobj(source, target, 1 << 20)
                os.replace(partial, packed)
                path.unlink()
            except OSError as exc:
                partial.unlink(missing_ok=True)
                if self.failed is None:  # the plain file stays: nothing is lost
                    self.failed = f"recording stopped: cannot compress {path}: {exc.strerror or exc}"
