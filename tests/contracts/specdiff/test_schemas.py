"""The schema comparison: references, recursion, the two OpenAPI 3 dialects, access modes."""

from __future__ import annotations

import copy
from typing import Any

from contracts.specdiff.schemas import SchemaDiff, SchemaSource
from tests.contracts.specdiff.helpers import body_document, diff, document


def _rules(base: dict[str, Any], revision: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.rule_id, c.location) for c in diff(base, revision).changes]


def _with_components(
    direction: str, schema: Any, components: dict[str, Any], version: str = "3.0.3"
) -> dict[str, Any]:
    doc = body_document(direction, schema)
    doc["components"] = {"schemas": copy.deepcopy(components)}
    doc["openapi"] = version
    return doc


def test_a_recursive_schema_is_compared_once_and_ends() -> None:
    def node(max_length: int) -> dict[str, Any]:
        return {"Node": {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": max_length},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Node"},
        }}}  # fmt: skip

    base = _with_components("request", {"$ref": "#/components/schemas/Node"}, node(10))
    revision = _with_components("request", {"$ref": "#/components/schemas/Node"}, node(5))
    assert _rules(base, revision) == [("request-max-length-tightened", "request body/x/name")]


def test_mutually_recursive_schemas_renamed_in_the_new_document() -> None:
    def pair(a: str, b: str, fmt: str) -> dict[str, Any]:
        return {
            a: {"type": "object", "properties": {"b": {"$ref": f"#/components/schemas/{b}"}}},
            b: {"type": "object", "properties": {"a": {"$ref": f"#/components/schemas/{a}"},
                                                 "n": {"type": "integer", "format": fmt}}},
        }  # fmt: skip

    base = _with_components("response", {"$ref": "#/components/schemas/A"}, pair("A", "B", "int32"))
    revision = _with_components("response", {"$ref": "#/components/schemas/A2"}, pair("A2", "B2", "int64"))
    assert _rules(base, revision) == [("response-format-widened", "response 200 body/x/b/n")]


def test_nullable_in_3_0_equals_a_null_type_in_3_1() -> None:
    base = body_document("response", {"type": "string", "nullable": True})
    revision = body_document("response", {"type": ["string", "null"]})
    revision["openapi"] = "3.1.0"
    assert _rules(base, revision) == []
    revision = body_document("response", {"type": ["string"]})
    revision["openapi"] = "3.1.0"
    assert _rules(base, revision) == [("response-nullable-removed", "response 200 body/x")]


def test_exclusive_bounds_in_both_dialects() -> None:
    base = body_document("request", {"type": "integer", "maximum": 10, "exclusiveMaximum": True})
    revision = body_document("request", {"type": "integer", "exclusiveMaximum": 10})
    revision["openapi"] = "3.1.0"
    assert _rules(base, revision) == []
    inclusive = body_document("request", {"type": "integer", "maximum": 10})
    assert _rules(base, inclusive) == [("request-max-loosened", "request body/x")]
    assert _rules(inclusive, base) == [("request-max-tightened", "request body/x")]


def test_read_only_properties_are_absent_from_requests_only() -> None:
    plain = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
    read_only = {
        "type": "object",
        "properties": {"id": {"type": "string", "readOnly": True}, "name": {"type": "string"}},
    }
    assert _rules(body_document("request", plain), body_document("request", read_only)) == [
        ("request-property-became-read-only", "request body/x/id")
    ]
    assert _rules(body_document("response", plain), body_document("response", read_only)) == []
    found = diff(body_document("request", plain), body_document("request", read_only)).changes[0]
    assert found.message == "property 'id' is now readOnly" and found.level.name == "ERR"


def test_a_property_an_all_of_sibling_no_longer_hides_is_now_required() -> None:
    """allOf: [Base, {required: [id]}] with Base.id readOnly: requests need no id; without readOnly they do."""

    def doc(read_only: bool) -> dict[str, Any]:
        base = {
            "type": "object",
            "properties": {"id": {"type": "string", **({"readOnly": True} if read_only else {})}},
        }
        return _with_components("request", {"allOf": [{"$ref": "#/components/schemas/Base"},
                                                      {"type": "object", "required": ["id"]}]}, {"Base": base})  # fmt: skip

    assert sorted(_rules(doc(True), doc(False))) == [
        ("request-property-no-longer-read-only", "request body/x/id"),
        ("request-required-property-added", "request body/x/id"),
    ]


def test_write_only_properties_are_absent_from_responses_only() -> None:
    plain = {"type": "object", "properties": {"secret": {"type": "string"}}}
    write_only = {"type": "object", "properties": {"secret": {"type": "string", "writeOnly": True}}}
    assert _rules(body_document("response", plain), body_document("response", write_only)) == [
        ("response-property-became-write-only", "response 200 body/x/secret")
    ]
    assert _rules(body_document("request", plain), body_document("request", write_only)) == []


def test_a_required_property_that_is_not_described_still_counts() -> None:
    base = {"type": "object", "properties": {"a": {"type": "string"}}}
    revision = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}
    assert _rules(body_document("request", base), body_document("request", revision)) == [
        ("request-required-property-added", "request body/x/b")
    ]


def test_composition_members_are_matched_by_their_reference() -> None:
    components = {"Cat": {"type": "object", "properties": {"lives": {"type": "integer", "maximum": 9}}},
                  "Dog": {"type": "object"}, "Fish": {"type": "object"}}  # fmt: skip
    base = _with_components("request", {"oneOf": [{"$ref": "#/components/schemas/Cat"},
                                                  {"$ref": "#/components/schemas/Dog"}]}, components)  # fmt: skip
    components_new = {
        **components,
        "Cat": {"type": "object", "properties": {"lives": {"type": "integer", "maximum": 7}}},
    }
    revision = _with_components("request", {"oneOf": [{"$ref": "#/components/schemas/Fish"},
                                                      {"$ref": "#/components/schemas/Cat"}]}, components_new)  # fmt: skip
    assert sorted(_rules(base, revision)) == sorted([
        ("request-max-tightened", "request body/x/lives"),
        ("request-one-of-member-removed", "request body/x"),
        ("request-one-of-member-added", "request body/x"),
    ])  # fmt: skip


def test_array_items_and_map_values_have_a_star_in_the_location() -> None:
    base = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "costs": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    }
    revision = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a"]}},
            "costs": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    }
    assert sorted(_rules(body_document("request", base), body_document("request", revision))) == [
        ("request-enum-value-removed", "request body/x/tags/*"),
        ("request-type-narrowed", "request body/x/costs/*"),
    ]


def test_unchanged_components_are_not_walked() -> None:
    """A component whose text and references did not change is judged the same without a walk."""
    components = {"Big": {"type": "object", "properties": {f"p{i}": {"$ref": "#/components/schemas/Leaf"} for i in range(50)}},
                  "Leaf": {"type": "string"}}  # fmt: skip
    old = _with_components("response", {"$ref": "#/components/schemas/Big"}, components)
    new = _with_components("response", {"$ref": "#/components/schemas/Big"}, components)
    differ = SchemaDiff(SchemaSource(old, "3.0.3"), SchemaSource(new, "3.0.3"))
    assert (
        differ.compare(
            "response", {"$ref": "#/components/schemas/Big"}, "", {"$ref": "#/components/schemas/Big"}, ""
        )
        == []
    )
    assert differ.stable("/components/schemas/Big") and differ.stable("/components/schemas/Leaf")
    new["components"]["schemas"]["Leaf"] = {"type": "integer"}
    differ = SchemaDiff(SchemaSource(old, "3.0.3"), SchemaSource(new, "3.0.3"))
    assert not differ.stable("/components/schemas/Big")
    assert (
        len(
            differ.compare(
                "response", {"$ref": "#/components/schemas/Big"}, "", {"$ref": "#/components/schemas/Big"}, ""
            )
        )
        == 50
    )


def test_prose_and_examples_are_not_compared() -> None:
    base = {"type": "string", "description": "old words", "example": "a", "title": "T"}
    revision = {
        "type": "string",
        "description": "new words",
        "example": "b",
        "title": "U",
        "x-internal": True,
    }
    assert _rules(body_document("request", base), body_document("request", revision)) == []


def test_other_keywords_fall_to_keyword_changed() -> None:
    base = {"type": "array", "items": {"type": "string"}}
    revision = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert _rules(body_document("request", base), body_document("request", revision)) == [
        ("request-keyword-changed", "request body/x")
    ]


def test_a_type_change_does_not_also_report_the_facets_of_the_old_type() -> None:
    base = {"type": "string", "maxLength": 10, "pattern": "^a"}
    revision = {"type": "integer", "maximum": 5}
    assert _rules(body_document("request", base), body_document("request", revision)) == [
        ("request-type-changed", "request body/x")
    ]


def test_a_change_reached_twice_is_reported_at_each_place() -> None:
    components = {"Money": {"type": "number", "minimum": 0}}
    schema = {"type": "object", "properties": {"price": {"$ref": "#/components/schemas/Money"},
                                                "total": {"$ref": "#/components/schemas/Money"}}}  # fmt: skip
    base = _with_components("response", schema, components)
    revision = _with_components("response", schema, {"Money": {"type": "number"}})
    assert sorted(_rules(base, revision)) == [
        ("response-min-loosened", "response 200 body/x/price"),
        ("response-min-loosened", "response 200 body/x/total"),
    ]
    change = diff(base, revision).changes[0]
    assert change.old is not None and change.old.pointer == "/components/schemas/Money/minimum"
    assert change.new is not None and change.new.pointer == "/components/schemas/Money"


def test_file_lines_point_at_both_documents(tmp_path: Any) -> None:
    from contracts.spec import load_spec
    from contracts.specdiff.operations import diff_contracts

    def write(name: str, max_length: int) -> Any:
        path = tmp_path / name
        path.write_text(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /t:\n    put:\n      operationId: putT\n"
            "      requestBody:\n        content:\n          application/json:\n            schema:\n"
            f"              type: string\n              maxLength: {max_length}\n"
            "      responses:\n        '200': {{description: OK}}\n"
        )
        return path

    found = diff_contracts(
        load_spec(write("a.yaml", 10), warn=False), load_spec(write("b.yaml", 5), warn=False)
    )
    change = found.changes[0]
    assert (change.rule_id, change.old.line, change.new.line) == ("request-max-length-tightened", 12, 12)  # type: ignore[union-attr]
    assert str(change.old).endswith("a.yaml:12") and str(change.new).endswith("b.yaml:12")


def test_parameter_that_became_a_list_compares_its_items_with_the_old_value() -> None:
    def op(schema: dict[str, Any]) -> dict[str, Any]:
        return document(paths={"/t": {"get": {"operationId": "getT", "responses": {"200": {"description": "OK"}},
                                               "parameters": [{"name": "s", "in": "query", "schema": schema}]}}})  # fmt: skip

    base = op({"type": "string", "enum": ["a", "b"]})
    revision = op({"type": "array", "items": {"type": "string", "enum": ["a"]}})
    assert sorted(_rules(base, revision)) == [
        ("request-enum-value-removed", "request query/s/*"),
        ("request-parameter-became-list", "request query/s"),
    ]
    # a list that must hold two values refuses the single one a client sends
    revision = op({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 2})
    assert sorted(_rules(base, revision)) == [
        ("request-min-items-tightened", "request query/s"),
        ("request-parameter-became-list", "request query/s"),
    ]


# --------------------------------------------------------------------------- found by a second read


def test_null_in_an_enum_is_an_enum_value_not_a_type() -> None:
    # 3.0: nullable admits null beside an enum; without it, null in the enum is refused by the type
    base = body_document("request", {"type": "string", "nullable": True, "enum": ["a", None]})
    revision = body_document("request", {"type": "string", "enum": ["a", None]})
    assert _rules(base, revision) == [("request-nullable-removed", "request body/x")]
    untyped = body_document("response", {"enum": ["a", "b"]}, required=True)
    with_null = body_document("response", {"enum": ["a", "b", None]}, required=True)
    assert _rules(untyped, with_null) == [("response-enum-value-added", "response 200 body/x")]
    assert _rules(
        body_document("request", {"enum": ["a", None]}), body_document("request", {"enum": ["a"]})
    ) == [("request-enum-value-removed", "request body/x")]


def test_stability_is_not_decided_by_a_cycle_still_being_walked() -> None:
    """A refs B1..B3 and D, each Bi refs A; D changes: every B is changed too, whatever the order."""

    def components(max_length: int | None) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "string", **({"maxLength": max_length} if max_length else {})}
        a = {"type": "object", "properties": {**{f"b{i}": {"$ref": f"#/components/schemas/B{i}"} for i in (1, 2, 3)},
                                              "d": {"$ref": "#/components/schemas/D"}}}  # fmt: skip
        bs = {
            f"B{i}": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
            for i in (1, 2, 3)
        }
        return {"A": a, "D": d, **bs}

    old = _with_components("request", {"$ref": "#/components/schemas/A"}, components(None))
    new = _with_components("request", {"$ref": "#/components/schemas/A"}, components(3))
    differ = SchemaDiff(SchemaSource(old, "3.0.3"), SchemaSource(new, "3.0.3"))
    assert not differ.stable("/components/schemas/A")
    assert [differ.stable(f"/components/schemas/B{i}") for i in (1, 2, 3)] == [False, False, False]
    assert differ.stable("/components/schemas/A") is False  # asked again, from the cache


def test_keywords_without_a_facet_see_changes_behind_their_refs() -> None:
    components = {"Reserved": {"type": "string", "enum": ["admin"]}}
    schema = {"type": "string", "not": {"$ref": "#/components/schemas/Reserved"}}
    base = _with_components("request", schema, components)
    revision = _with_components(
        "request", schema, {"Reserved": {"type": "string", "enum": ["admin", "root"]}}
    )
    assert _rules(base, revision) == [("request-keyword-changed", "request body/x")]
    found = diff(base, revision).changes[0]
    assert found.level.name == "ERR"


def test_siblings_of_a_ref_count_in_3_1() -> None:
    components = {"S": {"type": "string"}}
    base = _with_components("request", {"$ref": "#/components/schemas/S"}, components, version="3.1.0")
    revision = _with_components("request", {"$ref": "#/components/schemas/S", "maxLength": 5}, components,
                                version="3.1.0")  # fmt: skip
    assert _rules(base, revision) == [("request-max-length-tightened", "request body/x")]
    legacy = _with_components("request", {"$ref": "#/components/schemas/S", "maxLength": 5}, components)
    assert _rules(_with_components("request", {"$ref": "#/components/schemas/S"}, components), legacy) == []


def test_one_and_true_are_different_values() -> None:
    assert _rules(body_document("request", {"const": 1}), body_document("request", {"const": True})) == [
        ("request-enum-value-removed", "request body/x"),
        ("request-enum-value-added", "request body/x"),
    ]
    assert _rules(body_document("request", {"type": "integer", "default": 0}),
                  body_document("request", {"type": "integer", "default": False})) == [
        ("request-default-changed", "request body/x")
    ]  # fmt: skip


def test_a_false_schema_accepts_nothing() -> None:
    assert _rules(body_document("request", {"type": "string"}), body_document("request", False)) == [
        ("request-type-narrowed", "request body/x")
    ]
    found = diff(body_document("request", {"type": "string"}), body_document("request", False)).changes[0]
    assert found.message == "type string -> nothing" and found.level.name == "ERR"
    items = {"type": "array", "items": False}
    assert _rules(body_document("request", {"type": "array", "items": {"type": "string"}}),
                  body_document("request", items)) == [("request-type-narrowed", "request body/x/*")]  # fmt: skip


def test_odd_but_loadable_schemas_do_not_crash() -> None:
    odd = [{"type": [["string"]]}, {"properties": None}, {"enum": []}, {"items": []}, {"required": "x"},
           {"allOf": "x"}, {"additionalProperties": "no"}, True, False, {"type": "object", "properties": {"a": 3}}]  # fmt: skip
    for old in odd:
        for new in odd:
            diff(body_document("request", old), body_document("response", new))


def test_a_very_deep_schema_is_followed() -> None:
    depth = 400
    components = {f"S{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/S{i + 1}"}}}
                  for i in range(depth)}  # fmt: skip
    components[f"S{depth}"] = {"type": "string"}
    changed = {**components, f"S{depth}": {"type": "integer"}}
    base = _with_components("request", {"$ref": "#/components/schemas/S0"}, components)
    revision = _with_components("request", {"$ref": "#/components/schemas/S0"}, changed)
    [(rule_id, location)] = _rules(base, revision)
    assert rule_id == "request-type-changed" and location.count("/next") == depth
