from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Contract, ContractLoadError, ContractWarning, UnknownOperation, load_contract, load_spec
from contracts.http import HttpResponse
from contracts.model import python_name
from contracts.spec import DEFAULT_VENDOR_CONTRACT
from tests.conftest import VENDOR_V6, VENDOR_V7

REFERENCE_OPERATIONS = {
    # The 28 operations of the Integration API (IntegrationApi.md), as (method, template).
    "createAudienceV2": ("POST", "/v2/audiences"),
    "createCouponReservation": ("POST", "/v1/coupon_reservations/{couponValue}"),
    "createReferral": ("POST", "/v1/referrals"),
    "createReferralsForMultipleAdvocates": ("POST", "/v1/referrals_for_multiple_advocates"),
    "deleteAudienceMembershipsV2": ("DELETE", "/v2/audiences/{audienceId}/memberships"),
    "deleteAudienceV2": ("DELETE", "/v2/audiences/{audienceId}"),
    "deleteCouponReservation": ("DELETE", "/v1/coupon_reservations/{couponValue}"),
    "deleteCustomerData": ("DELETE", "/v1/customer_data/{integrationId}"),
    "getCustomerInventory": ("GET", "/v1/customer_profiles/{integrationId}/inventory"),
    "getCustomerSession": ("GET", "/v2/customer_sessions/{customerSessionId}"),
    "getLoyaltyBalances": ("GET", "/v1/loyalty_programs/{loyaltyProgramId}/profile/{integrationId}/balances"),
    "getLoyaltyCardBalances": (
        "GET",
        "/v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/balances",
    ),
    "getLoyaltyCardPoints": ("GET", "/v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/points"),
    "getLoyaltyCardTransactions": (
        "GET",
        "/v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/transactions",
    ),
    "getLoyaltyProgramProfilePoints": (
        "GET",
        "/v1/loyalty_programs/{loyaltyProgramId}/profile/{integrationId}/points",
    ),
    "getLoyaltyProgramProfileTransactions": (
        "GET",
        "/v1/loyalty_programs/{loyaltyProgramId}/profile/{integrationId}/transactions",
    ),
    "getReservedCustomers": ("GET", "/v1/coupon_reservations/customerprofiles/{couponValue}"),
    "linkLoyaltyCardToProfile": (
        "POST",
        "/v2/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/link_profile",
    ),
    "reopenCustomerSession": ("PUT", "/v2/customer_sessions/{customerSessionId}/reopen"),
    "returnCartItems": ("POST", "/v2/customer_sessions/{customerSessionId}/returns"),
    "syncCatalog": ("PUT", "/v1/catalogs/{catalogId}/sync"),
    "trackEventV2": ("POST", "/v2/events"),
    "updateAudienceCustomersAttributes": ("PUT", "/v2/audience_customers/{audienceId}/attributes"),
    "updateAudienceV2": ("PUT", "/v2/audiences/{audienceId}"),
    "updateCustomerProfileAudiences": ("POST", "/v2/customer_audiences"),
    "updateCustomerProfileV2": ("PUT", "/v2/customer_profiles/{integrationId}"),
    "updateCustomerProfilesV2": ("PUT", "/v2/customer_profiles"),
    "updateCustomerSessionV2": ("PUT", "/v2/customer_sessions/{customerSessionId}"),
}

SAMPLE_VALUES = {
    "customerSessionId": "sess-42",
    "integrationId": "cust-7",
    "audienceId": "12",
    "couponValue": "WELCOME10",
    "loyaltyProgramId": "2",
    "loyaltyCardId": "CARD-0001",
    "catalogId": "1",
}


def _concrete(template: str) -> tuple[str, dict[str, str]]:
    names = re.findall(r"{([^}]+)}", template)
    return template.format(**{n: SAMPLE_VALUES[n] for n in names}), {n: SAMPLE_VALUES[n] for n in names}


def test_shipped_contract_has_exactly_the_28_operations(contract: Contract) -> None:
    assert {op.operation_id: (op.method, op.path) for op in contract} == REFERENCE_OPERATIONS
    assert len(contract) == 28
    assert contract.issues == []
    assert contract.overlay is not None


def test_shipped_vendor_document_is_untouched() -> None:
    assert DEFAULT_VENDOR_CONTRACT.read_bytes() == VENDOR_V7.read_bytes()


@pytest.mark.parametrize("vendor", [VENDOR_V6, VENDOR_V7], ids=["v6.0.0", "v7.0.0"])
def test_vendor_documents_load_without_issues(vendor: Path) -> None:
    contract = load_spec(vendor)
    assert len(contract) == 28
    assert contract.issues == []
    assert contract.openapi_version == "3.0.1"


@pytest.mark.parametrize("operation_id", sorted(REFERENCE_OPERATIONS))
def test_every_operation_resolves_from_a_concrete_url(contract: Contract, operation_id: str) -> None:
    method, template = REFERENCE_OPERATIONS[operation_id]
    path, params = _concrete(template)
    for url in (path, f"https://yourbaseurl.talon.one{path}?dry=true", path + "/"):
        match = contract.match(method, url)
        assert match.operation.operation_id == operation_id
        assert match.path_params == params
    assert contract.match(method.lower(), path).operation.operation_id == operation_id


def test_resolution_examples_from_the_issue(contract: Contract) -> None:
    assert (
        contract.match("PUT", "/v2/customer_sessions/abc").operation.operation_id == "updateCustomerSessionV2"
    )
    # literal segments win over templated ones ...
    assert contract.match("GET", "/v1/coupon_reservations/customerprofiles/X").operation.operation_id == (
        "getReservedCustomers"
    )
    # ... but only where the method exists
    assert contract.match("POST", "/v1/coupon_reservations/customerprofiles").path_params == {
        "couponValue": "customerprofiles"
    }
    # percent-encoded identifiers are decoded
    assert contract.match("GET", "/v2/customer_sessions/a%2Fb%20c").path_params == {
        "customerSessionId": "a/b c"
    }


def test_near_misses_are_explained(contract: Contract) -> None:
    with pytest.raises(UnknownOperation) as info:
        contract.match("PATCH", "/v2/audiences/5")
    assert "only DELETE, PUT" in str(info.value)
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownOperation) as info:
        contract.match("PUT", "/v2/customer_session/abc")
    assert info.value.suggestions[0] == "PUT /v2/customer_sessions/{customerSessionId}"
    assert contract.find("GET", "/nothing/here") is None
    with pytest.raises(UnknownOperation) as info:
        contract.operation("updateCustomerSession")
    assert "updateCustomerSessionV2" in info.value.suggestions


def test_operations_by_python_name(contract: Contract) -> None:
    assert contract.operation("get_loyalty_card_transactions").operation_id == "getLoyaltyCardTransactions"
    assert [p.python_name for p in contract.operation("getLoyaltyCardTransactions").path_parameters] == [
        "loyalty_program_id",
        "loyalty_card_id",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("updateCustomerSessionV2", "update_customer_session_v2"),
        ("getLoyaltyCardTransactions", "get_loyalty_card_transactions"),
        ("createReferralsForMultipleAdvocates", "create_referrals_for_multiple_advocates"),
        ("integrationIDs", "integration_ids"),
        ("X-Request-Id", "x_request_id"),
        ("from", "from_"),
        ("HTTPStatus", "http_status"),
    ],
)
def test_python_name(name: str, expected: str) -> None:
    assert python_name(name) == expected


# --------------------------------------------------------------------------- quirk tolerance

QUIRKY = """\
openapi: 3.0.3
info: {title: quirky vendor release, version: 9.9.9}
paths:
  /v1/catalogs/{catalogId}/sync:
    put:
      operationId: syncCatalog
      parameters:
        - {in: path, name: catalogId, required: true, schema: {type: integer, maximum: '1E+3'}}
        - {in: query, name: pageSize, schema: {type: integer, minimum: '1', maximum: 'lots'}}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Filter'}
      responses:
        200: {description: OK}
        abc: {description: not a status}
  /v1/things:
    get:
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Missing'}
    post:
      operationId: syncCatalog
      responses: {'201': {description: Created}}
  relative/path:
    get: {responses: {'200': {description: OK}}}
components:
  schemas:
    Filter:
      type: object
      properties:
        op:
          type: string
          enum:
            - =
            - '<'
        count: {type: int, maxLength: -3}
        name: {type: string, required: true, pattern: '(['}
"""


@pytest.fixture
def quirky_path(tmp_path: Path) -> Path:
    path = tmp_path / "vendor-next.yaml"
    path.write_text(QUIRKY)
    return path


def test_quirks_are_tolerated_with_warnings_naming_file_and_pointer(quirky_path: Path) -> None:
    with pytest.warns(ContractWarning) as record:
        contract = load_spec(quirky_path)
    issues = {(i.pointer, i.message.split(";")[0]) for i in contract.issues}
    assert all(i.source == str(quirky_path) for i in contract.issues)
    expected = {
        ("/components/schemas/Filter/properties/op/enum/0", "bare '=' scalar (a YAML 1.1 'value' key)"),
        (
            "/paths/~1v1~1catalogs~1{catalogId}~1sync/put/parameters/0/schema/maximum",
            "maximum is the string '1E+3'",
        ),
        (
            "/paths/~1v1~1catalogs~1{catalogId}~1sync/put/parameters/1/schema/minimum",
            "minimum is the string '1'",
        ),
        (
            "/paths/~1v1~1catalogs~1{catalogId}~1sync/put/parameters/1/schema/maximum",
            "maximum has the non-numeric value 'lots'",
        ),
        ("/components/schemas/Filter/properties/count/type", "unknown type 'int'"),
        (
            "/components/schemas/Filter/properties/count/maxLength",
            "maxLength must be a non-negative integer, got -3",
        ),
        ("/components/schemas/Filter/properties/name/required", "required must be a list of property names"),
        ("/components/schemas/Filter/properties/name/pattern", "pattern '([' is not a valid regex"),
        (
            "/paths/~1v1~1catalogs~1{catalogId}~1sync/put/responses/abc",
            "'abc' is not a status code, range or 'default'",
        ),
        ("/paths/~1v1~1things/get", "operation has no operationId"),
        ("/paths/~1v1~1things/post/operationId", "duplicate operationId 'syncCatalog'"),
        ("/paths/relative~1path", "a path must start with '/'"),
    }
    assert expected <= issues, expected - issues
    assert len(record) == len(contract.issues)
    maximum_issue = next(i for i in contract.issues if i.pointer.endswith("parameters/0/schema/maximum"))
    assert maximum_issue.line == 8
    assert str(quirky_path) in str(maximum_issue) and ":8 (at /paths/" in str(maximum_issue)

    # what could be repaired was, and the result is usable
    op = contract.operation("syncCatalog")
    [catalog_id, page_size] = op.parameters
    assert catalog_id.resolved["maximum"] == 1000
    assert page_size.resolved == {"type": "integer", "minimum": 1}
    assert sorted(contract.operations) == ["getV1Things", "syncCatalog", "syncCatalog_2"]
    assert list(op.responses) == ["200"]
    validator = contract.validator()
    from contracts.http import HttpRequest

    violations = validator.validate_request(
        HttpRequest("PUT", "/v1/catalogs/1001/sync", {"Content-Type": "application/json"}, b'{"op": "="}')
    )
    assert [(v.location, v.keyword) for v in violations] == [("path", "maximum")]
    assert validator.validate_body("syncCatalog", {"op": "~"})[0].keyword == "enum"
    # an unresolvable $ref degrades to "anything goes" rather than a crash
    assert (
        validator.validate_response(
            HttpResponse(200, {"content-type": "application/json"}, b"[1]"), "getV1Things"
        )
        == []
    )


def test_warn_false_collects_issues_silently(quirky_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        contract = load_spec(quirky_path, warn=False)
    assert contract.issues


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("swagger: '2.0'\npaths: {}\n", "Swagger 2.0 documents are not supported"),
        ("- a\n- b\n", "must be a mapping"),
        ("openapi: 3.0.0\ninfo: {title: x}\n", "has no 'paths'"),
        ("openapi: [\n", "column"),
    ],
)
def test_unusable_documents_are_load_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ContractLoadError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_openapi_version_is_read_as_3_0() -> None:
    with pytest.warns(ContractWarning, match="not 3.0.x or 3.1.x"):
        contract = load_spec({"openapi": "3.2.7", "paths": {}})
    assert contract.openapi_version == "3.0.3"


def test_json_document_from_dict_and_file(tmp_path: Path) -> None:
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "servers": [{"url": "https://api.example.com/base/v9"}],
        "paths": {
            "/things/{id}": {"get": {"operationId": "getThing", "responses": {"200": {"description": "OK"}}}}
        },
    }
    for source in (spec, tmp_path / "spec.json"):
        if isinstance(source, Path):
            source.write_text(json.dumps(spec))
        with pytest.warns(ContractWarning, match=r"path parameter \{id\} is not declared"):
            contract = load_spec(source)
        match = contract.match("GET", "https://api.example.com/base/v9/things/7")
        assert match.operation.operation_id == "getThing"
        assert match.path_params == {"id": "7"}
    assert (
        spec["paths"]["/things/{id}"]["get"]["operationId"] == "getThing"
    )  # the caller's dict is not modified


def test_external_refs_are_inlined_relative_to_their_file(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "thing.yaml").write_text(
        "Thing:\n  type: object\n  required: [id]\n  properties:\n    id: {$ref: '#/Id'}\n    sub: {$ref: 'sub.yaml#/Sub'}\n"
        "Id: {type: integer}\nLoop: {$ref: '#/Loop'}\n"
    )
    (tmp_path / "schemas" / "sub.yaml").write_text("Sub: {type: string, maxLength: 3}\n")
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\npaths:\n  /t:\n    get:\n      operationId: getT\n      responses:\n"
        "        '200':\n          description: OK\n          content:\n            application/json:\n"
        "              schema: {$ref: 'schemas/thing.yaml#/Thing'}\n"
        "        '201':\n          description: loop\n          content:\n            application/json:\n"
        "              schema: {$ref: 'schemas/thing.yaml#/Loop'}\n"
        "        '202':\n          description: gone\n          content:\n            application/json:\n"
        "              schema: {$ref: 'nope.yaml#/X'}\n"
    )
    with pytest.warns(ContractWarning):
        contract = load_spec(tmp_path / "api.yaml")
    messages = [i.message for i in contract.issues]
    assert any("circular external $ref" in m for m in messages)
    assert any("nope.yaml" in m and "cannot be read" in m for m in messages)
    validator = contract.validator()
    violations = validator.validate_body("getT", {"id": "x", "sub": "long"}, status=200)
    assert sorted((v.pointer, v.keyword) for v in violations) == [("/id", "type"), ("/sub", "maxLength")]


def test_openapi_3_1_schemas_are_json_schema() -> None:
    spec = {
        "openapi": "3.1.0",
        "paths": {
            "/x": {
                "get": {
                    "operationId": "getX",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "a": {"type": ["string", "null"]},
                                            "b": {"$ref": "#/components/schemas/B", "maxLength": 2},
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {"schemas": {"B": {"type": "string"}}},
    }
    validator = load_spec(spec).validator()
    assert validator.validate_body("getX", {"a": None, "b": "ok"}, status=200) == []
    # in 3.1, $ref siblings apply
    assert [v.keyword for v in validator.validate_body("getX", {"b": "long"}, status=200)] == ["maxLength"]


def test_load_contract_is_cached_and_overlay_optional() -> None:
    assert load_contract() is load_contract()
    plain = load_contract(overlay=False)
    assert plain is not load_contract()
    assert "204" not in plain.operation("trackEventV2").responses
    v6 = load_contract(VENDOR_V6)
    assert v6.operation("getLoyaltyCardBalances").responses["200"].content["application/json"].schema == {
        "$ref": "#/components/schemas/LoyaltyBalances"
    }


CRASHY = """\
openapi: 3.1
info: {title: crashy, version: '1'}
paths:
  /a/{id}:
    parameters: 5
    get:
      operationId: getA
      tags: 5
      parameters:
        - {in: path, name: id, required: true, schema: {type: integer, maximum: !!int abc}}
        - {in: query, name: big, schema: {type: integer, maximum: '12345678901234567'}}
      responses:
        '200':
          description: OK
          headers: [X-Rate]
          content:
            application/json:
              schema:
                type: object
                properties:
                  m: {type: number, multipleOf: 0}
                  o: {type: object, additionalProperties: 'false'}
                  u: {type: array, uniqueItems: 'true'}
                  f: {type: string, format: 5}
                  t: {type: []}
                  e: {enum: []}
                  z: {type: string, pattern: 'abc\\Z'}
components:
  securitySchemes:
    broken: 5
"""


def test_documents_that_used_to_crash_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "crashy.yaml"
    path.write_text(CRASHY)
    with pytest.warns(ContractWarning):
        contract = load_spec(path)
    assert contract.openapi_version == "3.1"
    messages: dict[str, str] = {}
    for issue in contract.issues:
        messages[issue.pointer] = messages.get(issue.pointer, "") + " | " + issue.message
    assert "read as the string '3.1'" in messages["/openapi"]
    assert (
        "cannot be read as 'tag:yaml.org,2002:int'"
        in messages["/paths/~1a~1{id}/get/parameters/0/schema/maximum"]
    )
    assert "parameters must be a list" in messages["/paths/~1a~1{id}/parameters"]
    assert "tags must be a list" in messages["/paths/~1a~1{id}/get/tags"]
    assert "headers must be a mapping" in messages["/paths/~1a~1{id}/get/responses/200/headers"]
    assert "security scheme must be a mapping" in messages["/components/securitySchemes/broken"]
    props = "/paths/~1a~1{id}/get/responses/200/content/application~1json/schema/properties"
    assert "multipleOf must be greater than 0" in messages[f"{props}/m/multipleOf"]
    assert "read as False" in messages[f"{props}/o/additionalProperties"]
    assert "read as True" in messages[f"{props}/u/uniqueItems"]
    assert "format must be a string" in messages[f"{props}/f/format"]
    assert "type is an empty list" in messages[f"{props}/t/type"]
    assert "enum must be a non-empty list" in messages[f"{props}/e/enum"]
    big = contract.operation("getA").parameters[1].resolved["maximum"]
    assert big == 12345678901234567 and isinstance(big, int)  # exact, not via a float

    # `abc\Z` is a valid Python regex that jsonschema-rs refuses: reported when compiled, never a crash
    validator = contract.validator()
    with pytest.warns(ContractWarning, match="schema cannot be compiled"):
        assert validator.compile_all() > 0
    assert any("schema cannot be compiled" in i.message for i in contract.issues)
    from contracts.http import HttpResponse

    response = HttpResponse(200, {"content-type": "application/json"}, b'{"o": {"x": 1}, "u": [1, 1]}')
    assert validator.validate_response(response, "getA") == []  # the refused schema is not checked


def test_yaml_aliases_are_not_shared_after_an_overlay(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "openapi: 3.0.3\npaths: {}\ncomponents:\n  schemas:\n"
        "    A: &a {type: object, properties: {x: {type: string}}}\n    B: *a\n"
    )
    overlay = {"overlay": "1.0.0", "info": {"title": "t", "version": "1"},
               "actions": [{"target": "$.components.schemas.A.properties", "update": {"y": {"type": "integer"}}}]}  # fmt: skip
    contract = load_spec(path, overlay=overlay)
    schemas = contract.data["components"]["schemas"]
    assert set(schemas["A"]["properties"]) == {"x", "y"}
    assert set(schemas["B"]["properties"]) == {"x"}


def test_path_params_tolerate_a_prefix(contract: Contract) -> None:
    assert contract.path_params("getCustomerSession", "http://h/gw/v2/customer_sessions/a%20b") == {
        "customerSessionId": "a b"
    }
    assert contract.path_params("getCustomerSession", "/v2/audiences/5") is None


def _loop_match(contract: Contract, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """What matching finds by trying each route's own regex in order (the combined regex's reference)."""
    for route in contract._routes.get(path.count("/"), ()):
        found = route.regex.match(path)
        if found is not None and method in route.operations:
            values = [unquote(v) for v in found.groups()]
            return route.operations[method].operation_id, dict(zip(route.names, values, strict=True))
    return None


_CONTRACT = load_contract()
_TEMPLATES = sorted(r.template for routes in _CONTRACT._routes.values() for r in routes)
_WORDS = sorted({piece for t in _TEMPLATES for piece in t.split("/") if piece and "{" not in piece})


@settings(max_examples=300, deadline=None)
@given(
    template=st.sampled_from(_TEMPLATES),
    fill=st.lists(
        st.one_of(st.sampled_from(_WORDS), st.text("ab%2F_-.0", min_size=1, max_size=6)), min_size=4
    ),
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH"]),
)
def test_one_regex_per_segment_count_finds_what_the_route_loop_finds(
    template: str, fill: list[str], method: str
) -> None:
    values = iter(fill)
    path = re.sub(r"{[^}]+}", lambda _: next(values), template)
    found = _CONTRACT.find(method, path)
    expected = _loop_match(_CONTRACT, method, path)
    assert ((found.operation.operation_id, found.path_params) if found else None) == expected
    # and the combined regex itself (not only the loop it falls back to) names the first route
    # that matches, with that route's parameter values
    routes = _CONTRACT._routes[path.count("/")]
    first = next(route for route in routes if route.regex.match(path))
    ((combined, by_group),) = _CONTRACT._combined[path.count("/")]  # 28 operations: one chunk
    hit = combined.match(path)
    assert hit is not None and hit.lastindex is not None and by_group[hit.lastindex] is first
    own = first.regex.match(path)
    assert own is not None and hit.groups()[hit.lastindex : hit.lastindex + len(first.names)] == own.groups()


def test_routes_in_several_chunks_match_as_one_alternation_would(tmp_path: Path) -> None:
    # more routes of one segment count than one combined regex holds: the first route that fits,
    # in specificity order, still wins, whichever chunk it is in
    lines = ["openapi: 3.0.3", "info: {title: t, version: '1'}", "paths:"]
    for i in range(600):
        lines += [f"  /v1/t{i}/{{id}}:", "    get:", f"      operationId: get{i}", "      responses: {'200': {description: ok}}"]  # fmt: skip
    lines += ["  /v1/{kind}/fixed:", "    post:", "      operationId: postAny", "      responses: {'200': {description: ok}}"]  # fmt: skip
    path = tmp_path / "many.yaml"
    path.write_text("\n".join(lines) + "\n")
    contract = load_spec(path, warn=False)
    assert len(contract._combined[3]) == 3
    assert contract.match("GET", "/v1/t599/abc").operation.operation_id == "get599"
    assert contract.match("POST", "/v1/t599/fixed").operation.operation_id == "postAny"
    with pytest.raises(UnknownOperation, match="documents only GET"):
        contract.match("DELETE", "/v1/t3/x")
