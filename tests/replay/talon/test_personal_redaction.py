"""Redaction per operation over the 28: personal data planted wherever the contract puts it is gone
from what ``convert`` and ``record`` write, and nothing else changed.

Each operation's request and response are built from the contract's own examples (campaign names,
coupon codes, numbers ...), then a recognisable person is planted at every personal place the
contract has for that operation (attribute maps get personal and ordinary attributes, a person's
object a name, an e-mail and a phone). The interaction goes through ``save`` (what convert and record
call); the whole file is searched for the planted values, and every other value is compared.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contracts.http import HttpRequest, HttpResponse
from contracts.spec import Contract, load_contract
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction
from replay.cli import cli
from replay.recording.redaction import EMAIL, Redactor, save
from replay.talon.personal import CACHE_ENV, personal_data

from ..helpers import har

NAME, MAIL, PHONE, STREET = "Ana Lima", "ana.lima@example.com", "+351 912 345 678", "Rua Augusta 1"
BIRTH, IP, NEWS = "1990-04-01T00:00:00Z", "203.0.113.77", "ana.lima+news@example.org"
ATTRIBUTES = {
    "Email": MAIL, "Phone": PHONE, "Name": NAME, "ShippingStreet": STREET, "BirthDate": BIRTH,
    "LastLoginIp": IP, "Note": f"newsletter to {NEWS}",  # under an ordinary name: the e-mail backstop
    "Language": "pt", "ShippingCountry": "DE", "ShoeSize": 42, "Vip": True,  # not personal: kept
}  # fmt: skip
PERSON = {"name": NAME, "email": MAIL, "phoneNumber": PHONE}
PLANTED = {NAME, MAIL, PHONE, STREET, BIRTH, IP, f"newsletter to {NEWS}"}
#: fragments of the planted values that must not survive anywhere in the written file
FRAGMENTS = ("Ana Lima", "ana.lima", "912 345", "Augusta", "1990-04-01", "203.0.113.77")
CONTRACT = load_contract()
OPERATIONS = sorted(op.operation_id for op in CONTRACT)


def _set(node: Any, steps: list[str], planted: dict[str, Any]) -> Any:
    if not steps:
        target = node if isinstance(node, dict) else {}
        target.update(copy.deepcopy(planted))
        return target
    step, rest = steps[0], steps[1:]
    if step == "[*]":
        return [_set(item, rest, planted) for item in (node if isinstance(node, list) and node else [{}])]
    if step == "*":
        mapping = node if isinstance(node, dict) and node else {"k1": {}}
        return {key: _set(value, rest, planted) for key, value in mapping.items()}
    mapping = node if isinstance(node, dict) else {}
    mapping[step] = _set(mapping.get(step), rest, planted)
    return mapping


def _document(contract: Contract, operation_id: str, side: str, schema: Any) -> Any:
    """The contract's example for ``schema``, with a person planted at each personal place."""
    example = contract.schema_top(schema).get("example") if schema is not None else None
    document = copy.deepcopy(example) if isinstance(example, (dict, list)) else {}
    for location in personal_data(contract).locations(operation_id):
        if location.side == side:
            steps = [a or b for a, b in re.findall(r"\.([^.\[]+)|(\[\*\])", location.path[1:])]
            planted = ATTRIBUTES if location.kind == "attributes" else PERSON
            document = _set(document, steps, planted)
    return document


def _exchange(contract: Contract, operation_id: str) -> Interaction:
    operation = contract.operation(operation_id)
    url = "http://localhost:9000" + contract.base_path + re.sub(r"{[^}]+}", "p-1", operation.path)
    body = operation.request_body
    request_schema = next(iter(body.content.values())).schema if body and body.content else None
    request_body = None
    if request_schema is not None:
        request_body = json.dumps(_document(contract, operation_id, "request", request_schema)).encode()
    status, spec = next((s, r) for s, r in operation.responses.items() if s.startswith("2"))
    response_schema = next(iter(spec.content.values())).schema if spec.content else None
    response_body = b""
    if response_schema is not None:
        response_body = json.dumps(_document(contract, operation_id, "response", response_schema)).encode()
    json_type = {"Content-Type": ["application/json"]}
    headers = {"Authorization": ["ApiKey-v1 REDACTED"], **(json_type if request_body else {})}
    return Interaction(
        "memory",
        0,
        HttpRequest(operation.method, url, headers, request_body),
        HttpResponse(int(status), dict(json_type) if response_body else {}, response_body),
    )


def _leaves(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, node


#: The contract's examples hold personal data of their own: a session's ``ShippingCity`` (Berlin).
EXAMPLES_PERSONAL = {"ShippingCity"}


def _personal(place: str, value: Any) -> bool:
    if value in PLANTED or place.rsplit(".", 1)[-1] in EXAMPLES_PERSONAL:
        return True
    return isinstance(value, str) and EMAIL.search(value) is not None


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_no_planted_value_survives_and_nothing_else_changes(operation_id: str, tmp_path: Path) -> None:
    original = _exchange(CONTRACT, operation_id)
    path = tmp_path / "story.yaml"
    save(path, [original], redactor=Redactor(salt=b"fixed-test-key", contract=CONTRACT))
    text = path.read_text()
    for fragment in FRAGMENTS:
        assert fragment not in text, (operation_id, fragment)
    [written] = list(read_interactions(path))
    assert isinstance(written, Interaction) and written.response is not None
    assert original.response is not None
    for before, after in ((original.request, written.request), (original.response, written.response)):
        if not before.body:
            continue
        old, new = dict(_leaves(json.loads(before.body))), dict(_leaves(json.loads(after.body or b"")))
        assert old.keys() == new.keys()  # the same shape: nothing added or dropped
        for place, value in old.items():
            if _personal(place, value):
                assert new[place] != value and type(new[place]) is type(value), (operation_id, place)
            else:
                assert new[place] == value, (operation_id, place)  # campaign names, codes, numbers ...


def test_the_planting_reached_every_operation_with_personal_places() -> None:
    """Not vacuous: every operation the contract gives personal places had a person planted."""
    planted = set()
    for operation_id in OPERATIONS:
        exchange = _exchange(CONTRACT, operation_id)
        bodies = (exchange.request.body or b"") + (
            exchange.response.body or b"" if exchange.response else b""
        )
        if MAIL.encode() in bodies:
            planted.add(operation_id)
    assert planted == {op for op in OPERATIONS if personal_data(CONTRACT).locations(op)}
    assert len(planted) >= 14


def test_pseudonyms_keep_the_shape_formats_check() -> None:
    exchange = _exchange(CONTRACT, "updateCustomerProfileV2")
    redacted = Redactor(salt=b"fixed-test-key", contract=CONTRACT).interaction(exchange)
    attributes = json.loads(redacted.request.body or b"")["attributes"]
    assert re.fullmatch(r"person-[0-9a-f]{10}@example\.invalid", attributes["Email"])
    assert re.fullmatch(r"18\d\d-\d\d-\d\dT00:00:00Z", attributes["BirthDate"])
    assert re.fullmatch(r"198\.1[89]\.\d{1,3}\.\d{1,3}", attributes["LastLoginIp"])  # RFC 2544 space
    assert re.fullmatch(r"newsletter to person-[0-9a-f]{10}@example\.invalid", attributes["Note"])
    assert attributes["ShoeSize"] == 42 and attributes["Vip"] is True
    assert (
        CONTRACT.validator().validate_request(redacted.request, CONTRACT.operation("updateCustomerProfileV2"))
        == []
    )


# --------------------------------------------------------------------------- the reported case


def _audience_update(content_type: str) -> Interaction:
    body = {"Email": MAIL, "Name": NAME, "Newsletter": NEWS, "ShippingCountry": "PT"}
    return Interaction(
        "memory",
        0,
        HttpRequest(
            "PUT",
            "https://acme.europe-west1.talon.one/v2/audience_customers/7/attributes",
            {"Authorization": ["ApiKey-v1 " + "c0ffee" * 8], "Content-Type": [content_type]},
            json.dumps(body).encode(),
        ),
        HttpResponse(204, {}, b""),
    )


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain;charset=UTF-8"]
)  # fetch()'s default
def test_update_audience_customers_attributes_converted_from_har_keeps_no_email(
    content_type: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    source = tmp_path / "capture.har"
    source.write_bytes(har([_audience_update(content_type)]))
    target = tmp_path / "capture.yaml"
    result = CliRunner().invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert "ana.lima" not in text and "Ana Lima" not in text and "c0ffee" not in text
    [written] = list(read_interactions(target))
    assert isinstance(written, Interaction)
    body = json.loads(written.request.body or b"")
    assert body["ShippingCountry"] == "PT"  # an ordinary attribute: kept
    assert body["Email"].endswith("@example.invalid") and body["Newsletter"].endswith("@example.invalid")
    assert body["Name"].startswith("Name-")
