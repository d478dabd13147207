"""Fields of a body its schema does not describe (valid JSON Schema, ignored by the API)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.spec import Contract, load_contract, load_spec
from contracts.validation.undocumented import undocumented_fields


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


def _session_body(contract: Contract) -> Any:
    body = contract.operation("updateCustomerSessionV2").request_body
    assert body is not None
    return body.content["application/json"].schema


def test_names_what_the_schema_does_not_describe_through_refs_and_arrays(contract: Contract) -> None:
    body = {
        "customerSession": {
            "profileId": "p-1",
            "cartItems": [{"sku": "a", "quantity": 1, "price": 1, "selectedPriceType": "member"}, {"sku": "b", "prices": {}}],
        },
        "responseContent": ["customerSession"],
        "strayTopLevel": 1,
    }  # fmt: skip
    assert undocumented_fields(contract, _session_body(contract), body) == [
        "body/customerSession/cartItems/0/selectedPriceType",
        "body/customerSession/cartItems/1/prices",
        "body/strayTopLevel",
    ]


def test_open_objects_and_maps_are_left_alone(contract: Contract) -> None:
    body = {
        "customerSession": {"attributes": {"anything": {"deep": 1}}, "cartItems": [{"attributes": {"x": 1}}]}
    }
    assert undocumented_fields(contract, _session_body(contract), body) == []


def test_alternatives_describe_the_union_of_their_properties() -> None:
    contract = load_spec({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {
            "A": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "B": {"type": "object", "properties": {"b": {"type": "object", "properties": {"c": {}}}}},
            "Map": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/A"}},
        }},
    }, warn=False)  # fmt: skip
    either = {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}
    assert undocumented_fields(contract, either, {"a": 1, "b": {"c": 1, "d": 2}, "e": 3}) == [
        "body/b/d",
        "body/e",
    ]
    assert undocumented_fields(contract, {"$ref": "#/components/schemas/Map"}, {"k": {"a": 1, "z": 1}}) == [
        "body/k/z"
    ]


def test_what_any_alternative_describes_is_documented() -> None:
    contract = load_spec({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {
            "A": {"type": "object", "properties": {"x": {"type": "object", "properties": {"p": {}}}}},
            "B": {"type": "object", "properties": {"x": {"type": "object", "properties": {"q": {}}}}},
            "Open": {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
            "ListA": {"type": "array", "items": {"type": "object", "properties": {"y": {}}}},
            "ListB": {"type": "array", "items": {"type": "object", "properties": {"z": {}}}},
        }},
    }, warn=False)  # fmt: skip
    either = {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}
    assert undocumented_fields(contract, either, {"x": {"p": 1, "q": 2, "r": 3}}) == ["body/x/r"]
    assert undocumented_fields(contract, {"$ref": "#/components/schemas/Open"}, {"a": 1, "b": 2}) == []
    lists = {"anyOf": [{"$ref": "#/components/schemas/ListA"}, {"$ref": "#/components/schemas/ListB"}]}
    assert undocumented_fields(contract, lists, [{"y": 1}, {"z": 1}, {"w": 1}]) == ["body/2/w"]
