"""The committed corpus (``cassettes/``): it conforms, it covers the API, it holds no secrets, it is current."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import vcr.serialize
from vcr.serializers import yamlserializer

from contracts.spec import Contract
from replay.cassettes import cassette_files, read_interactions
from replay.cassettes.model import Interaction
from replay.recording import scenarios
from replay.recording.record import record
from replay.recording.redaction import AUTH_PLACEHOLDER, DEFAULT_PATHS, FOREIGN_AUTH_PLACEHOLDER, find_secrets
from replay.recording.stories import SCENARIOS
from replay.verify import coverage, verify

from ..helpers import CORPUS

FILES = cassette_files([CORPUS])
#: The two documented 400s the sandbox cannot be made to answer (every parameter of these
#: operations is a free-form string with no bounds, so no request is malformed).
UNPROVOKABLE = {"getCustomerSession": ["400"], "getReservedCustomers": ["400"]}
PSEUDONYM = re.compile(
    r"[A-Za-z]+-[0-9a-f]{10}|person-[0-9a-f]{10}@example\.invalid|\+000\d{1,9}|18\d\d-\d\d-\d\dT00:00:00Z"
)
PERSONAL = {path.split("'")[1].lower() for path in DEFAULT_PATHS}


def _interactions() -> Iterator[Interaction]:
    for path in FILES:
        for item in read_interactions(path):
            assert isinstance(item, Interaction), item
            yield item


def test_there_is_one_cassette_per_scenario() -> None:
    assert sorted(p.stem for p in FILES) == sorted(SCENARIOS)
    assert all(p.suffix == ".yaml" for p in FILES)


def test_every_cassette_verifies_clean(contract: Contract) -> None:
    report = verify([CORPUS], contract)
    assert report.problems == [] and report.unreadable == []
    assert report.findings == [], [str(f.violation) for f in report.findings[:5]]
    assert report.exit_code == 0
    assert report.interactions > 100


def test_the_corpus_covers_every_operation_and_every_provokable_status(contract: Contract) -> None:
    report = coverage([CORPUS], contract)
    assert report.unmatched == 0 and not report.undocumented and not report.problems
    assert report.operations_seen() == {op.operation_id for op in contract}
    assert report.missing() == UNPROVOKABLE
    for op in contract:  # the success status of each operation, with or without a body (204)
        success = [s for s in op.statuses if s.startswith("2")]
        assert any(report.seen[(op.operation_id, s)] for s in success), op.operation_id
    conflicts = {op for (op, status), n in report.seen.items() if status == "409" and n}
    assert conflicts == {
        "updateCustomerSessionV2",
        "updateCustomerProfileV2",
        "trackEventV2",
        "createAudienceV2",
    }


def test_the_scenarios_explain_the_unprovokable_statuses() -> None:
    """The exception list above is the one the scenario module documents, not a silent gap."""
    source = Path(scenarios.__file__).read_text()
    for operation in UNPROVOKABLE:
        assert operation in source


def _json(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _personal_values(document: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "attributes" and isinstance(value, dict):
                for name, attribute in value.items():
                    if name.lower() in PERSONAL:
                        yield name, attribute
            yield from _personal_values(value)
    elif isinstance(document, list):
        for value in document:
            yield from _personal_values(value)


def test_no_credentials_in_the_corpus() -> None:
    for interaction in _interactions():
        assert find_secrets(interaction) == [], interaction.where
        for name, values in interaction.request.headers.items():
            if name.lower() == "authorization":
                assert values in ([AUTH_PLACEHOLDER], [FOREIGN_AUTH_PLACEHOLDER]), interaction.where
    raw = "".join(p.read_text() for p in FILES)
    assert not re.search(r"[0-9a-f]{32,}", raw)  # no key-like runs, not even as a substring


def test_no_personal_data_in_the_corpus() -> None:
    checked = 0
    for interaction in _interactions():
        for message in (interaction.request, interaction.response):
            if message is None:
                continue
            for name, value in _personal_values(_json(message.body)):
                checked += 1
                assert isinstance(value, str) and PSEUDONYM.fullmatch(value), (interaction.where, name, value)
    assert checked > 20
    # the plain values the stories send must not survive anywhere (bodies, URLs, headers)
    tree = ast.parse(Path(scenarios.__file__).read_text())
    attribute_maps = [
        value
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=False)
        if isinstance(key, ast.Constant) and key.value == "attributes" and isinstance(value, ast.Dict)
    ]
    plain = {
        value.value
        for node in attribute_maps
        for key, value in zip(node.keys, node.values, strict=False)
        if isinstance(key, ast.Constant) and str(key.value).lower() in PERSONAL
        and isinstance(value, ast.Constant) and value.value
    }  # fmt: skip
    assert {"Ana Lima", "zoe@example.com"} <= plain
    raw = "".join(p.read_text() for p in FILES)
    for value in plain:
        assert value not in raw, value


def test_vcrpy_reads_every_committed_cassette() -> None:
    for path in FILES:
        requests_, responses = vcr.serialize.deserialize(path.read_text(), yamlserializer)
        assert len(requests_) == len(responses) == sum(1 for _ in read_interactions(path))


def test_the_corpus_is_current(tmp_path: Path) -> None:
    """Recording again against the sandbox gives the committed files byte for byte.

    Recordings are reproducible (a stepping clock, fixed origin and pseudonym key): when this fails,
    the sandbox or a scenario changed; review the change and run ``make cassettes``.
    """
    results = record(sorted(SCENARIOS), tmp_path)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for path in FILES:
        fresh = tmp_path / path.name
        assert fresh.read_text() == path.read_text(), f"{path.name} is stale: run `make cassettes`"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_story_uses_several_operations(path: Path, contract: Contract) -> None:
    operations = set()
    for item in read_interactions(path):
        assert isinstance(item, Interaction)
        match = contract.find(item.request.method, item.request.url)
        assert match is not None
        operations.add(match.operation.operation_id)
    assert len(operations) >= 2, path.name
