"""Shared builders for the replay tests: realistic interactions and the files of every format."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import orjson
import yaml

from contracts.http import HttpRequest, HttpResponse
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "cassettes"


def corpus(name: str = "catalog-sync") -> list[Interaction]:
    """The interactions of a committed cassette."""
    items = list(read_interactions(CORPUS / f"{name}.yaml"))
    assert all(isinstance(i, Interaction) for i in items)
    return items  # type: ignore[return-value]


def session_exchange(session: str = "order-1", status: int = 200, body: bytes | None = None) -> Interaction:
    """A small, valid getCustomerSession exchange (or whatever ``body``/``status`` say)."""
    payload = body if body is not None else json.dumps(_session(session)).encode()
    return Interaction(
        "memory",
        0,
        HttpRequest(
            "GET",
            f"http://localhost:9000/v2/customer_sessions/{session}",
            {"Authorization": ["ApiKey-v1 REDACTED"], "Accept": ["application/json"]},
            None,
        ),
        HttpResponse(status, {"Content-Type": ["application/json"]}, payload),
    )


def _session(session: str) -> dict[str, Any]:
    return {
        "customerSession": {
            "id": 1,
            "created": "2026-03-02T09:00:00.000Z",
            "integrationId": session,
            "applicationId": 1,
            "profileId": "ana",
            "couponCodes": [],
            "referralCode": "",
            "loyaltyCards": [],
            "state": "open",
            "cartItems": [],
            "identifiers": [],
            "attributes": {},
            "firstSession": True,
            "total": 0.0,
            "cartItemTotal": 0.0,
            "additionalCostTotal": 0.0,
            "updated": "2026-03-02T09:00:00.000Z",
        }
    }


def schemathesis_report(interactions: list[Interaction]) -> str:
    """What ``st run --report vcr`` writes (schemathesis 4.x): http_interactions with status/checks."""
    items = []
    for number, interaction in enumerate(interactions, start=1):
        request, response = interaction.request, interaction.response
        item: dict[str, Any] = {
            "id": str(number),
            "status": "SUCCESS",
            "seed": 42,
            "elapsed": 0.004,
            "recorded_at": "2026-03-02T09:00:00.000000+00:00",
            "checks": [{"name": "status_code_conformance", "status": "SUCCESS", "message": None}],
            "request": {
                "uri": request.url,
                "method": request.method,
                "headers": {k: list(v) for k, v in request.headers.items()},
            },
            "response": None,
        }
        if request.body is not None:
            item["request"]["body"] = {"encoding": "utf-8", "string": request.body.decode()}
        if response is not None:
            item["response"] = {
                "status": {"code": str(response.status), "message": "OK"},
                "headers": {k: list(v) for k, v in response.headers.items()},
                "body": {"encoding": "utf-8", "string": (response.body or b"").decode()},
                "http_version": "1.1",
                "elapsed": 0.004,
            }
        items.append(item)
    head = "command: 'st run http://localhost:9000/openapi.json --report vcr'\nrecorded_with: 'Schemathesis 4.1.0'\nseed: 42\n"
    return head + yaml.safe_dump({"http_interactions": items}, sort_keys=False, width=120)


def har(interactions: list[Interaction]) -> bytes:
    """A HAR 1.2 log as browsers' devtools export it (headers as name/value lists, HTTP/2 pseudo-headers)."""
    entries = []
    for interaction in interactions:
        request, response = interaction.request, interaction.response
        assert response is not None
        entry: dict[str, Any] = {
            "startedDateTime": "2026-03-02T09:00:00.000Z",
            "time": 12.5,
            "request": {
                "method": request.method,
                "url": request.url,
                "httpVersion": "HTTP/2",
                "headers": [{"name": ":authority", "value": "localhost:9000"}]
                + [{"name": k, "value": v} for k, vs in request.headers.items() for v in vs],
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": len(request.body or b""),
            },
            "response": {
                "status": response.status,
                "statusText": "",
                "httpVersion": "HTTP/2",
                "headers": [{"name": k, "value": v} for k, vs in response.headers.items() for v in vs],
                "cookies": [],
                "content": {
                    "size": len(response.body or b""),
                    "mimeType": "application/json",
                    "text": (response.body or b"").decode(),
                },
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 12, "receive": 0.5},
        }
        if request.body is not None:
            entry["request"]["postData"] = {"mimeType": "application/json", "text": request.body.decode()}
        entries.append(entry)
    log = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "140"}, "entries": entries}}
    return orjson.dumps(log, option=orjson.OPT_INDENT_2)


def jsonl(interactions: list[Interaction]) -> bytes:
    lines = []
    for interaction in interactions:
        request, response = interaction.request, interaction.response
        record: dict[str, Any] = {
            "request": {"method": request.method, "uri": request.url, "headers": request.headers},
            "recorded_at": "2026-03-02T09:00:00Z",
            "elapsed": 0.01,
        }
        if request.body is not None:
            record["request"]["body"] = request.body.decode()
        if response is not None:
            record["response"] = {
                "status": response.status,
                "headers": response.headers,
                "body": (response.body or b"").decode(),
            }
        lines.append(orjson.dumps(record))
    return b"\n".join(lines) + b"\n"


def free_port() -> int:
    """A loopback port nothing listens on (for a server a test starts as a process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def corpus_copies(directory: Path, count: int) -> Path:
    """``count`` copies of the committed corpus under ``directory/inputs`` (149 interactions each)."""
    inputs = directory / "inputs"
    for copy in range(count):
        (inputs / str(copy)).mkdir(parents=True)
        for path in CORPUS.glob("*.yaml"):
            shutil.copy(path, inputs / str(copy) / path.name)
    return inputs
