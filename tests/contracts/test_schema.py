"""OpenAPI 3.0 -> JSON Schema 2020-12 conversion, checked through the validator."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import HttpRequest, load_spec
from contracts.schema import REQUEST, RESPONSE, SchemaCompiler
from contracts.validation import Validator


def _spec(schemas: dict[str, Any], version: str = "3.0.3") -> dict[str, Any]:
    """One operation taking and returning `#/components/schemas/Thing`."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
    return {
        "openapi": version,
        "paths": {
            "/things": {
                "post": {
                    "operationId": "putThing",
                    "requestBody": {"required": True, "content": content},
                    "responses": {"200": {"description": "OK", "content": content}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


@pytest.fixture(params=["rs", "python"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _check(
    schemas: dict[str, Any], body: Any, engine: str, *, response: bool = True
) -> list[tuple[str, str]]:
    validator = Validator(load_spec(_spec(schemas)), engine=engine)
    violations = validator.validate_body("putThing", body, status=200 if response else None)
    return [(v.pointer, v.keyword) for v in violations]


def test_nullable_widens_type_and_enum(engine: str) -> None:
    schemas = {
        "Thing": {
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": True},
                "b": {"type": "string", "enum": ["x"], "nullable": True},
                "c": {"type": "string"},
                "d": {"allOf": [{"$ref": "#/components/schemas/Other"}], "nullable": True},
            },
        },
        "Other": {"type": "integer"},
    }
    assert _check(schemas, {"a": None, "b": None, "d": None}, engine) == []
    assert _check(schemas, {"c": None}, engine) == [("/c", "type")]
    assert _check(schemas, {"b": "y", "d": "z"}, engine) == [("/b", "enum"), ("/d", "anyOf")]


def test_boolean_exclusive_bounds(engine: str) -> None:
    schemas = {
        "Thing": {
            "type": "object",
            "properties": {
                "n": {"type": "number", "maximum": 10, "exclusiveMaximum": True},
                "m": {"type": "number", "minimum": 0, "exclusiveMinimum": False},
            },
        }
    }
    assert _check(schemas, {"n": 9.5, "m": 0}, engine) == []
    assert _check(schemas, {"n": 10}, engine) == [("/n", "exclusiveMaximum")]


def test_int32_format_becomes_bounds(engine: str) -> None:
    schemas = {"Thing": {"type": "object", "properties": {"i": {"type": "integer", "format": "int32"}}}}
    assert _check(schemas, {"i": 2**31 - 1}, engine) == []
    assert _check(schemas, {"i": 2**31}, engine) == [("/i", "maximum")]


def test_date_time_format_is_enforced(engine: str) -> None:
    schemas = {"Thing": {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}}}}
    assert _check(schemas, {"t": "2026-11-25T20:14:03Z"}, engine) == []
    assert _check(schemas, {"t": "2026-11-25T20:14:03.123+01:00"}, engine) == []
    assert _check(schemas, {"t": "25/11/2026"}, engine) == [("/t", "format")]
    assert _check(schemas, {"t": "2026-11-25"}, engine) == [("/t", "format")]


def test_unknown_formats_are_ignored(engine: str) -> None:
    # the vendor document has `format: string` on integration ids
    schemas = {"Thing": {"type": "object", "properties": {"s": {"type": "string", "format": "string"}}}}
    assert _check(schemas, {"s": "anything"}, engine) == []


def test_read_only_and_write_only_depend_on_direction(engine: str) -> None:
    schemas = {
        "Thing": {
            "type": "object",
            "required": ["id", "secret", "name"],
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                "secret": {"$ref": "#/components/schemas/Secret"},
                "name": {"type": "string"},
            },
        },
        "Secret": {"type": "string", "writeOnly": True},
    }
    # request: readOnly id is not required and must not be sent; writeOnly secret is required
    assert _check(schemas, {"secret": "s", "name": "n"}, engine, response=False) == []
    assert _check(schemas, {"id": 1, "secret": "s", "name": "n"}, engine, response=False) == [
        ("/id", "readOnly")
    ]
    # response: the mirror image
    assert _check(schemas, {"id": 1, "name": "n"}, engine) == []
    assert _check(schemas, {"id": 1, "secret": "s", "name": "n"}, engine) == [("/secret", "writeOnly")]


def test_additional_properties(engine: str) -> None:
    schemas = {
        "Thing": {
            "type": "object",
            "properties": {
                "closed": {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                "open": {"type": "object", "properties": {"a": {}}},
            },
        }
    }
    assert _check(schemas, {"closed": {"a": 1}, "map": {"x": 1}, "open": {"b": 2}}, engine) == []
    assert _check(schemas, {"closed": {"a": 1, "b": 2}, "map": {"x": "1"}}, engine) == [
        ("/closed", "additionalProperties"),
        ("/map/x", "type"),
    ]


def test_ref_siblings_are_ignored_in_3_0() -> None:
    # The vendor's LoyaltyCardBalances has `additionalProperties: {$ref: ..., mysubledger: {...}}`.
    compiler = SchemaCompiler({"components": {"schemas": {"A": {"type": "string"}}}}, "3.0.1")
    bundled = compiler.bundle({"$ref": "#/components/schemas/A", "maxLength": 1, "junk": {}}, "/x", RESPONSE)
    assert bundled.schema == {"$ref": "#/$defs/A", "$defs": {"A": {"type": "string"}}}


def test_annotations_and_extensions_are_dropped() -> None:
    compiler = SchemaCompiler({}, "3.0.1")
    bundled = compiler.bundle(
        {"type": "string", "example": "x", "x-foo": 1, "xml": {}, "externalDocs": {}, "description": "kept"},
        "/s",
        REQUEST,
    )
    assert bundled.schema == {"type": "string", "description": "kept"}


def test_bundle_maps_schema_paths_back_to_the_contract() -> None:
    doc = {
        "components": {"schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {}}}
    }
    bundled = SchemaCompiler(doc, "3.0.1").bundle(
        {"$ref": "#/components/schemas/A"}, "/paths/~1x/get", RESPONSE
    )
    assert set(bundled.defs) == {"A", "B"}
    assert bundled.contract_pointer(["$defs", "B", "type"]) == "#/components/schemas/B/type"
    assert bundled.contract_pointer(["properties", "x"]) == "#/paths/~1x/get/properties/x"


def test_request_validation_sees_converted_parameter_schemas() -> None:
    spec = _spec({"Thing": {"type": "object"}})
    spec["paths"]["/things"]["post"]["parameters"] = [
        {"in": "query", "name": "n", "schema": {"type": "integer", "maximum": 5, "exclusiveMaximum": True}}
    ]
    validator = load_spec(spec).validator()
    request = HttpRequest("POST", "/things?n=5", {"content-type": "application/json"}, b"{}")
    assert [(v.where, v.keyword) for v in validator.validate_request(request)] == [
        ("query/n", "exclusiveMaximum")
    ]


def test_read_only_required_by_an_all_of_sibling(engine: str) -> None:
    schemas = {
        "Thing": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"required": ["id", "name"]}]},
        "Base": {
            "type": "object",
            "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
        },
    }
    assert _check(schemas, {"name": "n"}, engine, response=False) == []
    assert _check(schemas, {"name": "n"}, engine) == [("/id", "required")]
    validator = Validator(load_spec(_spec(schemas)), engine=engine)
    [violation] = validator.validate_body("putThing", {"id": 1, "name": "n"})
    assert violation.keyword == "readOnly"
    assert violation.schema_path == "#/components/schemas/Base/properties/id/readOnly"
