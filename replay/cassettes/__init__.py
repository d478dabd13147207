"""Recorded traffic: one model of an interaction (``model``), a module per format (``vcr`` for
vcrpy and schemathesis, ``har``, ``jsonl``), format detection and reading (``reading``), files on
disk and atomic writing in three formats (``files``: vcr, jsonl, har). The names other layers use are here."""

from replay.cassettes.fields import CassetteError, header_lists
from replay.cassettes.files import (
    CASSETTE_SUFFIXES,
    WRITE_FORMATS,
    atomic_write,
    cassette_files,
    input_files,
    write_cassette,
)
from replay.cassettes.har import to_har
from replay.cassettes.jsonl import to_jsonl
from replay.cassettes.model import Interaction, ReadProblem, decoded_body
from replay.cassettes.reading import FORMATS, detect_format, read_interactions
from replay.cassettes.vcr import to_vcr

__all__ = [
    "CASSETTE_SUFFIXES",
    "FORMATS",
    "WRITE_FORMATS",
    "CassetteError",
    "Interaction",
    "ReadProblem",
    "atomic_write",
    "cassette_files",
    "decoded_body",
    "detect_format",
    "header_lists",
    "input_files",
    "read_interactions",
    "to_har",
    "to_jsonl",
    "to_vcr",
    "write_cassette",
]
