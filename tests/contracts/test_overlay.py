from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts import OverlayError, load_spec
from contracts.documents import Document
from contracts.overlay import apply_overlay, load_overlay
from contracts.spec import DEFAULT_OVERLAY
from tests.conftest import VENDOR_V6, VENDOR_V7


def _doc(data: dict[str, Any]) -> Document:
    return Document(data=data, source="target.yaml")


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def test_update_merges_objects_recursively() -> None:
    doc = _doc({"a": {"b": {"c": 1, "d": 2}, "keep": True}})
    overlay = load_overlay(_overlay({"target": "$.a", "update": {"b": {"c": 10, "e": 3}, "new": "x"}}))
    assert apply_overlay(doc, overlay) == 1
    assert doc.data == {"a": {"b": {"c": 10, "d": 2, "e": 3}, "keep": True, "new": "x"}}
    assert doc.issues == []


def test_update_appends_to_arrays_and_filters_select_nodes() -> None:
    doc = _doc({"params": [{"name": "silent", "schema": {}}, {"name": "dry", "schema": {}}], "list": [1]})
    overlay = load_overlay(
        _overlay(
            {"target": "$.params[?@.name == 'silent'].schema", "update": {"enum": ["yes", "no"]}},
            {"target": "$.list", "update": 2},
        )
    )
    apply_overlay(doc, overlay)
    assert doc.data["params"][0]["schema"] == {"enum": ["yes", "no"]}
    assert doc.data["params"][1]["schema"] == {}
    assert doc.data["list"] == [1, 2]


def test_remove_deletes_selected_nodes_including_list_items() -> None:
    doc = _doc({"xs": [{"drop": True}, {"drop": False}, {"drop": True}], "a": {"b": 1, "c": 2}})
    overlay = load_overlay(
        _overlay({"target": "$.xs[?@.drop == true]", "remove": True}, {"target": "$.a.b", "remove": True})
    )
    assert apply_overlay(doc, overlay) == 3
    assert doc.data == {"xs": [{"drop": False}], "a": {"c": 2}}


def test_updates_do_not_alias_between_targets() -> None:
    doc = _doc({"a": {}, "b": {}})
    apply_overlay(doc, load_overlay(_overlay({"target": "$[*]", "update": {"x": {"y": 1}}})))
    doc.data["a"]["x"]["y"] = 2
    assert doc.data["b"]["x"]["y"] == 1


def test_unmatched_target_and_impossible_update_become_issues() -> None:
    doc = _doc({"a": 1})
    overlay = load_overlay(
        _overlay(
            {"target": "$.missing", "update": {"x": 1}, "description": "vendor fixed it?"},
            {"target": "$.a", "update": {"x": 1}},
        )
    )
    assert apply_overlay(doc, overlay) == 0
    first, second = doc.issues
    assert "matched nothing" in first.message and "vendor fixed it?" in first.message
    assert second.pointer == "/a" and "cannot update a int" in second.message


@pytest.mark.parametrize(
    ("overlay", "message", "pointer"),
    [
        ({"overlay": "2.0.0", "actions": []}, "1.x version", "/overlay"),
        ({"overlay": "1.0.0", "actions": []}, "non-empty list", "/actions"),
        (_overlay({"update": {}}), "string 'target'", "/actions/0"),
        (_overlay({"target": "$.a["}), "not a valid JSONPath", "/actions/0/target"),
        (_overlay({"target": "$.a"}), "'update' or 'remove: true'", "/actions/0"),
        (_overlay({"target": "$.a", "remove": "yes"}), "boolean", "/actions/0"),
        (["not", "a", "mapping"], "must be a mapping", ""),
    ],
)
def test_malformed_overlays_are_rejected_with_a_pointer(overlay: Any, message: str, pointer: str) -> None:
    with pytest.raises(OverlayError) as info:
        load_overlay(overlay if isinstance(overlay, dict) else Document(overlay, "o.yaml"))
    assert message in str(info.value)
    assert info.value.pointer == pointer


def test_overlay_from_file_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "fix.yaml"
    path.write_text(
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: '$..['\n    remove: true\n"
    )
    with pytest.raises(OverlayError) as info:
        load_overlay(path)
    assert str(path) in str(info.value)
    assert info.value.line == 4


@pytest.mark.parametrize("vendor", [VENDOR_V6, VENDOR_V7], ids=["v6.0.0", "v7.0.0"])
def test_shipped_overlay_applies_cleanly_to_both_vendor_releases(vendor: Path) -> None:
    contract = load_spec(vendor, overlay=DEFAULT_OVERLAY)
    assert contract.issues == []
    for op_id in ("trackEventV2", "updateCustomerProfilesV2", "createReferralsForMultipleAdvocates"):
        op = contract.operation(op_id)
        assert "204" in op.responses and not op.responses["204"].content
        [silent] = [p for p in op.parameters if p.name == "silent"]
        assert silent.resolved["enum"] == ["yes", "no"]
        assert silent.default == "yes"
    for op_id in ("getCustomerSession", "reopenCustomerSession", "returnCartItems"):
        assert "404" in contract.operation(op_id).responses
    assert contract.security_schemes["api_key_v1"]["x-talon-key-prefix"] == "ApiKey-v1"


def test_vendor_document_without_overlay_lacks_the_corrections() -> None:
    contract = load_spec(VENDOR_V7)
    assert "204" not in contract.operation("trackEventV2").responses
    assert "404" not in contract.operation("getCustomerSession").responses


@pytest.mark.parametrize(
    ("method", "url", "body", "pointer"),
    [
        ("GET", "/v1/loyalty_programs/1/profile/ana/points?skip=-1", None, "/skip"),
        ("GET", "/v1/loyalty_programs/99999999999999999999/cards/C/points", None, "/loyaltyProgramId"),
        ("PUT", "/v2/customer_profiles", {"customerProfiles": [{"integrationId": ""}]},
         "/customerProfiles/0/integrationId"),
        ("PUT", "/v2/customer_profiles", {"customerProfiles": [{"integrationId": "  "}]},
         "/customerProfiles/0/integrationId"),
        ("POST", "/v2/customer_audiences", {"data": [{"action": "add", "audienceId": 1, "profileIntegrationId": ""}]},
         "/data/0/profileIntegrationId"),
        ("POST", "/v2/customer_audiences", {"data": [{"action": "add", "audienceId": 2**63, "profileIntegrationId": "p"}]},
         "/data/0/audienceId"),
        ("POST", "/v1/coupon_reservations/C", {"integrationIDs": ["p", "\u3000"]}, "/integrationIDs/1"),
        ("POST", "/v2/events", {"type": "t", "profileId": " "}, "/profileId"),
        ("POST", "/v1/referrals", {"campaignId": 3, "advocateProfileIntegrationId": ""}, "/advocateProfileIntegrationId"),
    ],
)  # fmt: skip
def test_bounds_the_api_enforces_are_in_the_contract(
    method: str, url: str, body: dict[str, Any] | None, pointer: str
) -> None:
    """Found by schemathesis' positive_data_acceptance: valid by the vendor's schema, refused by the API."""
    import json

    from contracts import HttpRequest, load_contract

    contract = load_contract()
    match = contract.find(method, url)
    assert match is not None
    headers = {"Authorization": "ApiKey-v1 k", "Content-Type": "application/json"}
    request = HttpRequest(method, url, headers, json.dumps(body).encode() if body is not None else None)
    violations = contract.validator().validate_request(request, match.operation)
    assert any(v.pointer.endswith(pointer) for v in violations), [str(v) for v in violations]
