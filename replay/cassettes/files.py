"""Cassette files on disk: which files are cassettes, and writing them atomically (a temporary
file renamed into place), so that an interrupted recording never replaces a good cassette with half
of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import orjson
import yaml

from replay.cassettes.fields import CassetteError
from replay.cassettes.gzipped import plain_suffix
from replay.cassettes.har import LOG_CLOSING, log_opening, to_har
from replay.cassettes.jsonl import to_jsonl
from replay.cassettes.model import Interaction
from replay.cassettes.vcr import Dumper, to_vcr

__all__ = [
    "CASSETTE_SUFFIXES",
    "WRITE_FORMATS",
    "atomic_write",
    "cassette_files",
    "input_files",
    "write_cassette",
]

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".har")  # each also gzipped (.jsonl.gz)


def _umask() -> int:
    current = os.umask(0o022)  # reading the umask means setting it; done once, at import
    os.umask(current)
    return current


_UMASK = _umask()


def _walk(directory: Path, unreadable: list[str] | None) -> list[Path]:
    """The cassette files under ``directory``, sorted. A subdirectory that cannot be listed is not
    skipped in silence (``Path.rglob`` would): it goes to ``unreadable``, or raises without it."""
    errors: list[str] = []
    found = []
    for root, _, names in os.walk(
        directory, onerror=lambda exc: errors.append(f"{exc.filename}: {exc.strerror or exc}")
    ):
        found += [Path(root, name) for name in names if plain_suffix(Path(name)) in CASSETTE_SUFFIXES]
    files = sorted(p for p in found if p.is_file())
    if errors and unreadable is None:
        raise CassetteError(f"{errors[0]} (a directory that cannot be listed)")
    if unreadable is not None:
        unreadable += [
            f"{error} (a directory that cannot be listed; its cassettes were not read)" for error in errors
        ]
    return files


def cassette_files(paths: Iterable[str | Path], unreadable: list[str] | None = None) -> list[Path]:
    """Files named directly, plus the cassette files inside named directories (sorted).

    With ``unreadable``, a subdirectory that cannot be listed is noted there and the rest is
    listed; without it, :class:`CassetteError` is raised.
    """
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            result += _walk(path, unreadable)
        elif path.exists():
            result.append(path)
        else:
            raise CassetteError(f"{path}: no such file or directory")
    return result


def input_files(paths: Iterable[str | Path], unreadable: list[str]) -> list[Path]:
    """The cassette files of every path for a command that reads them all: a path that is missing,
    holds none, or has a directory that cannot be listed is noted in ``unreadable``; the others
    still count."""
    files: list[Path] = []
    for raw in paths:
        try:
            found = cassette_files([raw], unreadable)
        except CassetteError as exc:
            unreadable.append(str(exc))
            continue
        if not found:
            unreadable.append(f"{raw}: no cassettes found (looked for {', '.join(CASSETTE_SUFFIXES)})")
        files += found
    return files


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


def _write_jsonl(stream: IO[bytes], interactions: Iterable[Interaction]) -> int:
    count = 0
    for interaction in interactions:
        stream.write(orjson.dumps(to_jsonl(interaction)) + b"\n")
        count += 1
    return count


def _write_vcr(stream: IO[bytes], interactions: Iterable[Interaction]) -> int:
    count = 0
    stream.write(b"interactions:\n")
    for interaction in interactions:
        # one list item at a time: the whole cassette is never held as one YAML document
        stream.write(yaml.dump([to_vcr(interaction)], Dumper=Dumper, allow_unicode=True,
                               default_flow_style=False, width=120).encode("utf-8"))  # fmt: skip
        count += 1
    if count == 0:
        stream.seek(0)
        stream.truncate()
        stream.write(b"interactions: []\n")
    stream.write(b"version: 1\n")
    return count


def _write_har(stream: IO[bytes], interactions: Iterable[Interaction]) -> int:
    # one entry at a time between the log's opening and closing: one JSON document, never held whole
    count = 0
    stream.write(log_opening())
    for interaction in interactions:
        stream.write((b",\n" if count else b"") + orjson.dumps(to_har(interaction)))
        count += 1
    stream.write(LOG_CLOSING)
    return count


_WRITERS = {"vcr": _write_vcr, "jsonl": _write_jsonl, "har": _write_har}
WRITE_FORMATS = tuple(_WRITERS)


def write_cassette(path: str | Path, interactions: Iterable[Interaction], *, fmt: str = "vcr") -> int:
    """Write interactions as a vcrpy YAML cassette (``vcr``), JSON Lines (``jsonl``) or a HAR 1.2
    log (``har``), streaming, atomically; returns how many.

    Redaction and the secret check are the caller's (``replay.recording.redaction.save``); this only writes.
    """
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown cassette format {fmt!r}; valid: {', '.join(WRITE_FORMATS)}")
    with atomic_write(path) as stream:
        return writer(stream, interactions)
