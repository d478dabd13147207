"""JSON Lines captures: one interaction per line (``{"request": ..., "response": ...}``), read line
by line in bounded memory, whatever the size; the format for large captures."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from contracts.http import check_json_size
from replay.cassettes.fields import RECORD_ERRORS, BadRecord, Item, header_lists, text_or_bytes, why
from replay.cassettes.model import Interaction, ReadProblem
from replay.cassettes.vcr import from_record

__all__ = ["BOM", "read_jsonl", "to_jsonl"]

BOM = b"\xef\xbb\xbf"


def read_jsonl(lines: Iterable[bytes], source: str) -> Iterator[Item]:
    index = 0
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if not raw or raw.isspace():
            continue
        try:
            check_json_size(raw)  # a line of tiny objects costs ~90 bytes a value once parsed
            data = orjson.loads(raw)
        except ValueError as exc:  # orjson.JSONDecodeError too
            truncated = " (truncated?)" if not raw.endswith(b"\n") else ""
            what = f"line is not valid JSON{truncated}" if isinstance(exc, orjson.JSONDecodeError) else "line"
            yield ReadProblem(source, f"{what}: {exc}", index=index, line=number)
            index += 1
            continue
        try:
            yield from_record(data, source, index, number)
        except (BadRecord, *RECORD_ERRORS) as exc:
            yield ReadProblem(source, why(exc), index=index, line=number)
        index += 1


def to_jsonl(interaction: Interaction) -> dict[str, Any]:
    """The JSON Lines form: text bodies as text, others in base64."""

    def body(value: bytes | str | None) -> dict[str, Any]:
        text = text_or_bytes(value)
        if isinstance(text, bytes):
            return {"body": {"base64_string": base64.b64encode(text).decode()}}
        return {"body": text}

    request = interaction.request
    record: dict[str, Any] = {
        "request": {"method": request.method, "uri": request.url, "headers": header_lists(request.headers),
                    **body(request.body)},
    }  # fmt: skip
    if interaction.response is not None:
        response = interaction.response
        record["response"] = {
            "status": response.status,
            "headers": header_lists(response.headers),
            **body(response.body),
        }
    if interaction.recorded_at:
        record["recorded_at"] = interaction.recorded_at
    if interaction.elapsed is not None:
        record["elapsed"] = round(interaction.elapsed, 6)
    return record
