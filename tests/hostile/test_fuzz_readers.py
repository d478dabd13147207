"""A Hypothesis fuzz of every reader of files: good inputs broken a little (``mutations.py``).

Whatever the bytes, a reader returns what it read or raises an error of the tool's own tree
(:class:`~contracts.errors.TalonContractsError`: the one clear line the CLI prints, exit 2), in
bounded time. Any other exception is a traceback for the user: a failure here. The corpus
(``test_corpus.py``) holds the cases found by hand, through the commands; this looks for the ones
nobody thought of. A few examples a reader in the default run, 300 under the ``thorough``
profile (``TALON_HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.errors import TalonContractsError
from contracts.overlay import load_overlay
from contracts.sandbox.seed import load_seed
from contracts.spec import load_spec
from contracts.specdiff.policy import read_ignore_file
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction, ReadProblem
from replay.rules.noise import NoiseRules
from tests.hostile.mutations import mutated

ROOT = Path(__file__).resolve().parents[2]
HOST = "https://yourbaseurl.talon.one"
BOUND = 5.0  # seconds a small input may take to read (or refuse), on a loaded 2-core machine

_RESPONSE = {"status": {"code": 200, "message": "OK"}, "headers": {"Content-Type": ["application/json"]},
             "body": {"string": '{"effects": [], "createdCoupons": []}'}}  # fmt: skip
_REQUEST = {"method": "PUT", "uri": f"{HOST}/v2/customer_sessions/s1?dry=true",
            "headers": {"Authorization": ["ApiKey-v1 REDACTED"], "Content-Type": ["application/json"]},
            "body": '{"customerSession": {"profileId": "p1", "cartItems": [{"sku": "a", "quantity": 2}]}}'}  # fmt: skip
_RECORD = {"request": _REQUEST, "response": _RESPONSE}

VCR_YAML = f"""interactions:
- request:
    method: PUT
    uri: {HOST}/v2/customer_sessions/s1?dry=true
    headers:
      Authorization: [ApiKey-v1 REDACTED]
      Content-Type: [application/json]
    body: '{{"customerSession": {{"profileId": "p1"}}}}'
  response:
    status: {{code: 200, message: OK}}
    headers:
      Content-Type: [application/json]
      Content-Encoding: [gzip]
    body: {{base64_string: H4sIAAAAAAAAA6tWSk1JLUpVslKorgUAk8Tu1w8AAAA=}}
version: 1
""".encode()
VCR_JSON = json.dumps({"interactions": [_RECORD, _RECORD], "version": 1}).encode()
JSON_LINES = b"".join(json.dumps(record).encode() + b"\n" for record in (_RECORD, _RECORD))
HAR = json.dumps({"log": {"version": "1.2", "entries": [{
    "startedDateTime": "2026-12-02T10:00:00Z", "time": 12,
    "request": {"method": "PUT", "url": f"{HOST}/v2/customer_sessions/s1", "httpVersion": "HTTP/1.1",
                "headers": [{"name": "Authorization", "value": "ApiKey-v1 x"}],
                "postData": {"mimeType": "application/json", "text": '{"customerSession": {}}'}},
    "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                 "content": {"size": 14, "mimeType": "application/json", "text": '{"effects": []}'}},
}]}}).encode()  # fmt: skip
SCHEMATHESIS_VCR = f"""command: st run
recorded_with: Schemathesis 4.0
http_interactions:
- id: '1'
  status: SUCCESS
  seed: 1
  elapsed: '0.01'
  recorded_at: '2026-12-02T10:00:00'
  checks: []
  request:
    uri: '{HOST}/v2/customer_sessions/s1'
    method: 'GET'
    headers:
      Authorization: ['[Filtered]']
  response:
    status:
      code: '200'
      message: 'OK'
    headers:
      Content-Type: ['application/json']
    body:
      encoding: 'utf-8'
      string: '{{"effects": []}}'
    http_version: '1.1'
""".encode()

CONTRACT = b"""openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /v2/customer_sessions/{customerSessionId}:
    parameters:
    - {name: customerSessionId, in: path, required: true, schema: {type: string}}
    put:
      operationId: updateCustomerSessionV2
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Session'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {effects: {type: array, items: {}}}}
components:
  schemas:
    Session:
      type: object
      required: [customerSession]
      properties:
        customerSession: {type: object, additionalProperties: {type: string}}
"""
NOISE = b"""version: 1
rules:
- {path: '$.effects[*].triggeredAt', reason: a time of the run}
- {path: '$.createdCoupons[*].value', reason: generated, values: id}
"""
IGNORE = b"""ignore:
  - rule: response-enum-value-added
    operation: updateCustomerSessionV2
    reason: we never read state
"""


def _consume(path: Path) -> None:
    for item in read_interactions(path):
        assert isinstance(item, (Interaction, ReadProblem))


def _contract(path: Path) -> None:
    load_spec(path, warn=False)


#: (file name, a good input, the reader): every format the commands read from a file
READERS: list[tuple[str, bytes, Callable[[Path], Any]]] = [
    ("cassette.yaml", VCR_YAML, _consume),
    ("cassette.json", VCR_JSON, _consume),
    ("capture.jsonl", JSON_LINES, _consume),
    ("capture.har", HAR, _consume),
    ("schemathesis.yaml", SCHEMATHESIS_VCR, _consume),
    ("contract.yaml", CONTRACT, _contract),
    ("overlay.yaml", (ROOT / "contracts" / "openapi" / "talon-overlay.yaml").read_bytes(), load_overlay),
    ("noise.yaml", NOISE, NoiseRules.load),
    ("seed.yaml", (ROOT / "contracts" / "sandbox" / "seed.yaml").read_bytes(), load_seed),
    ("ignore.yaml", IGNORE, read_ignore_file),
]


@pytest.mark.parametrize(("name", "good", "reader"), READERS, ids=[name for name, _, _ in READERS])
def test_the_good_input_is_read(
    tmp_path: Path, name: str, good: bytes, reader: Callable[[Path], Any]
) -> None:
    """The fuzz starts from inputs the readers accept: else it would only test the first refusal."""
    path = tmp_path / name
    path.write_bytes(good)
    reader(path)
    if reader is _consume:
        items = list(read_interactions(path))
        assert items and all(isinstance(item, Interaction) for item in items), items[:1]


@pytest.mark.parametrize(("name", "good", "reader"), READERS, ids=[name for name, _, _ in READERS])
def test_a_broken_input_is_read_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, name: str, good: bytes, reader: Callable[[Path], Any]
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(data=mutated([good]) | st.binary(max_size=300))
    def read(data: bytes) -> None:
        path = directory / name
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            reader(path)
        except TalonContractsError as exc:
            assert str(exc).strip(), "an error says what was wrong"
        elapsed = time.perf_counter() - started
        assert elapsed < BOUND, f"{elapsed:.1f} s to read {len(data):,} bytes"

    read()
