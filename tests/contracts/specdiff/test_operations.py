"""Pairing operations and comparing their parameters, responses and security (beyond one rule per case)."""

from __future__ import annotations

from typing import Any

from tests.contracts.specdiff.helpers import diff, document

OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}


def _op(**fields: Any) -> dict[str, Any]:
    return {"operationId": "getThing", "responses": {"200": OK}, **fields}


def _rules(base: dict[str, Any], revision: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((c.rule_id, c.location) for c in diff(base, revision).changes)


def test_requirements_on_the_same_scheme_are_kept_apart() -> None:
    schemes = {"securitySchemes": {"oauth": {"type": "oauth2", "flows": {"clientCredentials": {
        "tokenUrl": "/t", "scopes": {"read": "r", "admin": "a"}}}}}}  # fmt: skip

    def doc(*requirements: list[str]) -> dict[str, Any]:
        security = [{"oauth": list(r)} for r in requirements]
        return document(components=schemes, paths={"/t": {"get": _op(security=security)}})

    # clients holding only `read` are refused now
    assert _rules(doc(["read"], ["admin"]), doc(["admin"])) == [("security-scopes-added", "security/oauth")]
    assert _rules(doc(["admin"]), doc(["read"], ["admin"])) == [("security-requirement-added", "security")]
    assert _rules(doc(["read", "admin"]), doc(["read"])) == [("security-scopes-removed", "security/oauth")]


def test_no_security_is_an_alternative_too() -> None:
    schemes = {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "Authorization"}}}
    open_op = document(components=schemes, paths={"/t": {"get": _op(security=[])}})
    keyed = document(components=schemes, paths={"/t": {"get": _op(security=[{"key": []}])}})
    assert _rules(open_op, keyed) == [("security-requirement-added", "security"),
                                      ("security-requirement-removed", "security")]  # fmt: skip
    global_security = document(components=schemes, security=[{"key": []}], paths={"/t": {"get": _op()}})
    assert _rules(keyed, global_security) == []


def test_a_parameter_in_two_places_that_moves_to_a_third_does_not_crash() -> None:
    base = document(paths={"/t": {"get": _op(parameters=[
        {"name": "id", "in": "query", "schema": {"type": "string"}},
        {"name": "id", "in": "cookie", "schema": {"type": "string"}}])}})  # fmt: skip
    revision = document(
        paths={"/t": {"get": _op(parameters=[{"name": "id", "in": "header", "schema": {"type": "string"}}])}}
    )
    assert _rules(base, revision) == [("request-parameter-moved", "request header/id"),
                                      ("request-parameter-removed", "request cookie/id")]  # fmt: skip


def test_query_names_are_case_sensitive_header_names_are_not() -> None:
    def doc(name: str, where: str) -> dict[str, Any]:
        return document(
            paths={"/t": {"get": _op(parameters=[{"name": name, "in": where, "schema": {"type": "string"}}])}}
        )

    assert _rules(doc("ID", "query"), doc("id", "query")) == [("request-parameter-added", "request query/id"),
                                                               ("request-parameter-removed", "request query/ID")]  # fmt: skip
    assert _rules(doc("X-Trace", "header"), doc("x-trace", "header")) == []


def test_how_a_value_is_written_on_the_wire() -> None:
    def doc(**param: Any) -> dict[str, Any]:
        spec = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}, **param}
        return document(paths={"/t/{id}": {"get": _op(parameters=[spec])}})

    assert _rules(doc(), doc(style="label")) == [("request-parameter-style-changed", "request path/id")]
    found = diff(doc(), doc(style="matrix")).changes[0]
    assert found.message == "parameter id: style/explode simple/false -> matrix/false"

    def query(**param: Any) -> dict[str, Any]:
        return document(paths={"/t": {"get": _op(parameters=[{"name": "f", "in": "query", **param}])}})

    as_json = query(content={"application/json": {"schema": {"type": "object"}}})
    as_text = query(content={"text/plain": {"schema": {"type": "object"}}})
    plain = query(schema={"type": "object"})
    assert _rules(as_json, as_text) == [("request-parameter-style-changed", "request query/f")]
    assert _rules(as_json, plain) == [("request-parameter-style-changed", "request query/f")]
    assert _rules(
        query(schema={"type": "string"}, allowEmptyValue=True), query(schema={"type": "string"})
    ) == [("request-parameter-style-changed", "request query/f")]
    assert (
        _rules(
            query(schema={"type": "string"}, style="form"), query(schema={"type": "string"}, explode=False)
        )
        == []
    )


def test_a_base_path_from_server_variables() -> None:
    def doc(default: str) -> dict[str, Any]:
        servers = [
            {"url": "https://api.example.com/{version}", "variables": {"version": {"default": default}}}
        ]
        return document(servers=servers, paths={"/t": {"get": _op()}})

    assert _rules(doc("v1"), doc("v2")) == [("api-base-path-changed", "server")]
    assert _rules(doc("v1"), doc("v1")) == []


def test_a_status_now_answered_by_a_range_compares_the_bodies() -> None:
    def doc(key: str, enum: list[str]) -> dict[str, Any]:
        answer = {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "string", "enum": enum}}},
        }
        return document(paths={"/t": {"get": {"operationId": "getThing", "responses": {key: answer}}}})

    assert _rules(doc("200", ["a"]), doc("2XX", ["a", "b"])) == [
        ("response-enum-value-added", "response 2XX body")
    ]
    assert _rules(doc("2XX", ["a"]), doc("200", ["a"])) == []
    assert _rules(doc("default", ["a"]), doc("201", ["a", "b"])) == [
        ("response-enum-value-added", "response 201 body"),
        ("response-error-status-removed", "response default"),
    ]


def test_a_json_body_keeps_its_location_when_another_media_type_appears() -> None:
    def doc(*media: str) -> dict[str, Any]:
        body = {"content": {m: {"schema": {"type": "object", "properties": {"a": {"type": "string", "maxLength": 9}}}}
                            for m in media}}  # fmt: skip
        return document(
            paths={"/t": {"put": {"operationId": "putThing", "requestBody": body, "responses": {"200": OK}}}}
        )

    changed = doc("application/json", "text/csv")
    changed["paths"]["/t"]["put"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["a"][
        "maxLength"
    ] = 5
    assert _rules(doc("application/json"), changed) == [
        ("request-max-length-tightened", "request body/a"),
        ("request-media-type-added", "request body[text/csv]"),
    ]


def test_changes_in_referenced_parameters_point_at_the_component() -> None:
    def doc(maximum: int) -> dict[str, Any]:
        components = {"parameters": {"PageSize": {"name": "pageSize", "in": "query",
                                                  "schema": {"type": "integer", "maximum": maximum}}}}  # fmt: skip
        return document(components=components,
                        paths={"/t": {"get": _op(parameters=[{"$ref": "#/components/parameters/PageSize"}])}})  # fmt: skip

    [change] = diff(doc(1000), doc(100)).changes
    assert change.rule_id == "request-max-tightened"
    assert change.new is not None and change.new.pointer == "/components/parameters/PageSize/schema/maximum"


def test_a_renamed_path_parameter_keeps_the_recorded_name_for_traffic() -> None:
    def doc(name: str, max_length: int | None) -> dict[str, Any]:
        schema = {"type": "string", **({"maxLength": max_length} if max_length else {})}
        return document(paths={f"/t/{{{name}}}": {"get": _op(parameters=[{"name": name, "in": "path", "required": True,
                                                                           "schema": schema}])}})  # fmt: skip

    changes = diff(doc("id", None), doc("thingId", 2)).changes
    tightened = next(c for c in changes if c.rule_id == "request-max-length-tightened")
    assert tightened.location == "request path/thingId" and tightened.touch.path == ("id",)
