"""replay.engine.diff: structural JSON diffs, array pairing, noise, and whole responses."""

from __future__ import annotations

import copy
import gzip
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from contracts.http import HttpResponse, parse_json
from contracts.spec import Contract
from replay.cassettes.model import Interaction, plain_response
from replay.engine import diff as diff_module
from replay.engine.changes import Change, ExchangeDiff
from replay.engine.diff import diff_json, diff_responses
from replay.rules.arrays import ArrayRule, ArrayRules
from replay.rules.noise import NoiseRule, NoiseRules
from replay.talon.arrays import builtin_arrays, effect_key
from replay.talon.noise import builtin_noise

from ..helpers import corpus

JSON = {"Content-Type": ["application/json"]}

# --------------------------------------------------------------------------- a second recording of a story

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
# Objects whose own numeric ``id`` the server assigns on creation, and arrays of such objects
# (campaigns, programs and tiers are configuration: their ids stay).
_CREATED_ENTITIES = {"customerSession", "customerProfile", "profile", "event", "referral", "return"}
_CREATED_LISTS = {"coupons", "createdCoupons", "referrals", "data", "ledgerEntries", "previousReturns"}


def _later(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=41, hours=2, seconds=7)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if "." in text else "Z")


def rerecorded(document: Any, parent: str | None = None, in_list: bool = False) -> Any:
    """The same answer, as another run of the story gets it: every timestamp later, the ids the
    server assigns renumbered, fresh transaction UUIDs."""
    if isinstance(document, dict):
        renumber = (parent in _CREATED_ENTITIES and not in_list) or (parent in _CREATED_LISTS and in_list)
        out: dict[str, Any] = {}
        for key, value in document.items():
            if (key == "id" and renumber and type(value) is int) or (
                key == "triggeredByCoupon" and type(value) is int
            ):
                out[key] = value + 1000
            elif key == "transactionUUID":
                out[key] = str(uuid.uuid4())
            else:
                out[key] = rerecorded(value, key)
        return out
    if isinstance(document, list):
        return [rerecorded(item, parent, True) for item in document]
    if isinstance(document, str) and _DATE_TIME.fullmatch(document):
        return _later(document)
    return document


def _json_exchanges(name: str) -> list[Interaction]:
    return [i for i in corpus(name) if i.response is not None and i.response.body and i.response.status < 300]


def _operation(contract: Contract, interaction: Interaction) -> str:
    match = contract.find(interaction.request.method, interaction.request.url)
    assert match is not None
    return match.operation.operation_id


def _live(interaction: Interaction, document: Any) -> HttpResponse:
    assert interaction.response is not None
    return HttpResponse(interaction.response.status, interaction.response.headers, orjson.dumps(document))


def _checkout_session() -> tuple[HttpResponse, dict[str, Any]]:
    """The first session update of the checkout story (coupon, referral, loyalty effects)."""
    exchange = next(i for i in corpus("checkout-coupon-referral") if i.request.url.endswith("/checkout-1"))
    assert exchange.response is not None and exchange.request.method == "PUT"
    return exchange.response, parse_json(exchange.response.body or b"")


def test_another_recording_of_the_story_differs_only_by_noise(contract: Contract) -> None:
    noise = builtin_noise()
    explained = 0
    reasons: set[str] = set()
    for exchange in _json_exchanges("checkout-coupon-referral"):
        assert exchange.response is not None
        recorded = parse_json(exchange.response.body or b"")
        diff = diff_responses(
            exchange.response,
            _live(exchange, rerecorded(recorded)),
            operation_id=_operation(contract, exchange),
            noise=noise,
        )
        assert diff.real == (), [str(c) for c in diff.real]
        assert diff.same or diff.only_noise
        explained += len(diff.body)
        reasons |= {c.noise.reason for c in diff.body if c.noise is not None}
    assert explained > 60
    assert any("clock" in r for r in reasons) and any("numbered" in r for r in reasons)
    assert any("UUID" in r for r in reasons)


@pytest.mark.parametrize(
    "story", ["audience-lifecycle", "loyalty-card", "partial-return-and-reopen", "points-spent-and-expired"]
)
def test_later_timestamps_are_noise_in_every_story(contract: Contract, story: str) -> None:
    explained = 0
    for exchange in _json_exchanges(story):
        assert exchange.response is not None
        recorded = parse_json(exchange.response.body or b"")
        live = json.loads(_DATE_TIME.sub(lambda m: _later(m.group()), json.dumps(recorded)))
        diff = diff_responses(
            exchange.response,
            _live(exchange, live),
            operation_id=_operation(contract, exchange),
            noise=builtin_noise(),
        )
        assert diff.real == (), (exchange.request.url, [str(c) for c in diff.real])
        explained += len(diff.body)
    assert explained >= 3  # every story answers with some server timestamps


def test_a_changed_discount_is_the_one_real_change() -> None:
    response, recorded = _checkout_session()
    live = rerecorded(recorded)
    assert live["effects"][1]["effectType"] == "setDiscount"
    live["effects"][1]["props"]["value"] = 9.0
    diff = diff_responses(
        response,
        _live_response(response, live),
        operation_id="updateCustomerSessionV2",
        noise=builtin_noise(),
    )
    assert diff.real == (Change(("effects", 1, "props", "value"), "changed", 8.47, 9.0),)
    assert str(diff.real[0]) == "changed /effects/1/props/value: 8.47 -> 9.0"
    assert not diff.only_noise and len(diff.body) > 20  # the noise is still reported, marked


def test_a_changed_effect_type_is_one_change_of_that_effect() -> None:
    """The effect type is part of an effect's identity, but the rule that produced it still names it:
    one change of the whole effect at its place, not one removed and one added."""
    response, recorded = _checkout_session()
    live = rerecorded(recorded)
    live["effects"][7]["effectType"] = "setDiscount"
    diff = diff_responses(
        response,
        _live_response(response, live),
        operation_id="updateCustomerSessionV2",
        noise=builtin_noise(),
    )
    assert [(c.kind, c.pointer) for c in diff.real] == [("changed", "/effects/7")]
    assert diff.real[0].before["effectType"] == "setDiscountPerItem"
    assert diff.real[0].after["effectType"] == "setDiscount"


def _live_response(response: HttpResponse, document: Any) -> HttpResponse:
    return HttpResponse(response.status, response.headers, orjson.dumps(document))


def test_referral_codes_are_noise_where_they_are_the_referrals_own() -> None:
    _, recorded = _checkout_session()
    live = copy.deepcopy(recorded)
    live["referral"]["code"] = live["customerSession"]["referralCode"] = "REF-ZZZZ-ZZZZ"
    changes = diff_json(recorded, live, operation_id="updateCustomerSessionV2", noise=builtin_noise())
    assert {c.pointer for c in changes} == {"/referral/code", "/customerSession/referralCode"}
    assert all(c.noise is not None and "referral codes" in c.noise.reason for c in changes)


# --------------------------------------------------------------------------- arrays


def test_reordered_effects_are_the_same() -> None:
    _, recorded = _checkout_session()
    live = copy.deepcopy(recorded)
    live["effects"].reverse()
    live["event"]["effects"] = live["event"]["effects"][3:] + live["event"]["effects"][:3]
    assert diff_json(recorded, live) == []
    # by position, the same answer would be one difference after another
    assert len(diff_json(recorded, live, arrays=ArrayRules())) > 8


def test_a_removed_effect_is_one_removed_change() -> None:
    _, recorded = _checkout_session()
    live = copy.deepcopy(recorded)
    gone = live["effects"].pop(2)
    assert gone["effectType"] == "acceptReferral"
    assert diff_json(recorded, live) == [Change(("effects", 2), "removed", gone, None)]
    # and one that appears is added at its live index
    # effects are a set: a new one is an addition no client relies on the absence of
    assert diff_json(live, recorded) == [Change(("effects", 2), "added", None, gone, additive=True)]


def test_a_changed_effect_is_compared_where_it_was_recorded() -> None:
    _, recorded = _checkout_session()
    live = copy.deepcopy(recorded)
    live["effects"].reverse()  # the setDiscount of 8.47 is now at index 6
    live["effects"][6]["props"]["value"] = 8.0
    (change,) = diff_json(recorded, live)
    assert change == Change(("effects", 1, "props", "value"), "changed", 8.47, 8.0,
                            live_location=("effects", 6, "props", "value"))  # fmt: skip
    assert (change.pointer, change.live_pointer) == ("/effects/1/props/value", "/effects/6/props/value")


def test_effects_with_one_key_pair_in_order() -> None:
    first = {
        "campaignId": 1,
        "rulesetId": 2,
        "ruleIndex": 0,
        "effectType": "showNotification",
        "props": {"body": "a"},
    }
    second = {**first, "props": {"body": "b"}}
    assert effect_key(first) == effect_key(second)
    assert diff_json({"effects": [first, second]}, {"effects": [first, second]}) == []
    swapped = diff_json({"effects": [first, second]}, {"effects": [second, first]})
    assert [(c.pointer, c.before, c.after) for c in swapped] == [
        ("/effects/0/props/body", "a", "b"),
        ("/effects/1/props/body", "b", "a"),
    ]


def test_effect_keys_are_unique_in_every_recorded_response() -> None:
    seen = 0
    for name in (
        "checkout-coupon-referral",
        "partial-return-and-reopen",
        "points-spent-and-expired",
        "loyalty-card",
    ):
        for exchange in _json_exchanges(name):
            assert exchange.response is not None
            document = parse_json(exchange.response.body or b"")
            for effects in (document.get("effects"), (document.get("event") or {}).get("effects")):
                if effects:
                    keys = [effect_key(e) for e in effects]
                    assert len(set(keys)) == len(keys)
                    seen += len(keys)
    assert seen > 30


def test_other_builtin_array_rules_pair_by_their_keys() -> None:
    recorded: dict[str, Any] = {
        "coupons": [{"id": 1, "value": "A", "usageCounter": 0}, {"id": 2, "value": "B", "usageCounter": 0}],
        "triggeredCampaigns": [{"id": 1, "name": "x"}, {"id": 3, "name": "y"}],
        "customerProfile": {
            "loyaltyMemberships": [{"loyaltyProgramId": 1}, {"loyaltyProgramId": 2}],
            "audienceMemberships": [{"id": 7, "name": "fans"}, {"id": 8, "name": "vip"}],
        },
    }
    live = copy.deepcopy(recorded)
    for items in (live["coupons"], live["triggeredCampaigns"], *live["customerProfile"].values()):
        items.reverse()
    assert diff_json(recorded, live) == []
    live["coupons"].insert(0, {"id": 9, "value": "C", "usageCounter": 0})
    live["coupons"][2]["usageCounter"] = 1  # coupon A
    assert [(c.kind, c.pointer) for c in diff_json(recorded, live)] == [
        ("changed", "/coupons/0/usageCounter"),
        ("added", "/coupons/0"),
    ]


def test_ordered_arrays_compare_the_common_prefix_then_the_tail() -> None:
    assert [(c.kind, c.location, c.before, c.after) for c in diff_json([1, 2, 3], [1, 5])] == [
        ("changed", (1,), 2, 5),
        ("removed", (2,), 3, None),
    ]
    assert [(c.kind, c.location) for c in diff_json({"a": [1]}, {"a": [1, 2, 3]})] == [
        ("added", ("a", 1)),
        ("added", ("a", 2)),
    ]


def test_array_rules_last_one_wins_and_names_replace() -> None:
    assert builtin_arrays().rule_for(("event", "effects")) is builtin_arrays()["effects"]
    assert builtin_arrays().rule_for(("customerSession", "cartItems")) is None
    ordered = ArrayRules([ArrayRule("positional effects", "$.effects")])
    combined = builtin_arrays() + ordered
    assert combined.rule_for(("effects",)) is ordered["positional effects"]
    assert combined.rule_for(("event", "effects")) is combined["effects"]
    replaced = builtin_arrays() + ArrayRules([ArrayRule("effects", "$..effects")])
    assert len(replaced) == len(builtin_arrays())
    assert replaced["effects"].key_function is None
    assert "effects" not in {r.name for r in builtin_arrays().without("effects")}
    effects = [{"effectType": "a"}, {"effectType": "b"}]
    assert diff_json({"effects": effects}, {"effects": effects[::-1]}, arrays=replaced) != []


def test_array_rule_keys_by_fields_nested_fields_or_a_function() -> None:
    by_sku = ArrayRules([ArrayRule("items", "$.items", "by_key", "sku")])  # type: ignore[arg-type]
    assert by_sku["items"].key == ("sku",)
    recorded = {"items": [{"sku": "A", "q": 1}, {"sku": "B", "q": 1}]}
    live = {"items": [{"sku": "B", "q": 2}, {"sku": "A", "q": 1}]}
    assert diff_json(recorded, live, arrays=by_sku) == [
        Change(("items", 1, "q"), "changed", 1, 2, live_location=("items", 0, "q"))
    ]
    nested = ArrayRules([ArrayRule("items", "$.items", "by_key", ("p.name",))])
    assert diff_json({"items": [{"p": {"name": "x"}}, {"p": {"name": "y"}}]},
                     {"items": [{"p": {"name": "y"}}, {"p": {"name": "x"}}]}, arrays=nested) == []  # fmt: skip
    by_length = ArrayRules([ArrayRule("words", "$.words", "by_key", len)])
    assert diff_json({"words": ["aa", "b"]}, {"words": ["c", "aa"]}, arrays=by_length) == [
        Change(("words", 1), "changed", "b", "c", live_location=("words", 0))
    ]
    # keys made of objects or arrays are fine too
    by_tags = ArrayRules([ArrayRule("items", "$.items", "by_key", ("tags",))])
    assert diff_json({"items": [{"tags": ["a"]}, {"tags": ["b"]}]}, {"items": [{"tags": ["b"]}, {"tags": ["a"]}]},
                     arrays=by_tags) == []  # fmt: skip


def test_array_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a key"):
        ArrayRule("x", "$.x", "by_key")
    with pytest.raises(ValueError, match="match must be one of"):
        ArrayRule("x", "$.x", "sorted")
    with pytest.raises(ValueError, match="at position 2"):
        ArrayRule("x", "$.", "ordered")
    with pytest.raises(TypeError, match="tuple of field names or a function"):
        ArrayRule("x", "$.x", "by_key", 3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("before", "after"),
    [("a", 1), (None, 0), ({}, []), ([], "x"), (True, "true"), (1.5, None), ({"a": 1}, "a")],
)
def test_different_kinds_are_type_changes(before: Any, after: Any) -> None:
    assert diff_json({"v": before}, {"v": after}) == [Change(("v",), "type_changed", before, after)]


def test_numbers_compare_by_value() -> None:
    assert diff_json(1, 1.0) == []
    assert diff_json({"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2.0}]}) == []
    assert diff_json({"total": 84.7}, {"total": 79.8}) == [Change(("total",), "changed", 84.7, 79.8)]
    assert diff_json(10**30, 10**30 + 1) == [Change((), "changed", 10**30, 10**30 + 1)]


@pytest.mark.parametrize(
    ("before", "after", "where"),
    [
        (True, 1, ()),
        (False, 0.0, ()),
        ({"a": True}, {"a": 1}, ("a",)),  # Python's True == 1 hides this from a plain == on the object
        ([0, {"b": False}], [0, {"b": 0}], (1, "b")),
        ({"effects": [{"x": True}]}, {"effects": [{"x": 1}]}, ("effects", 0, "x")),
    ],
)
def test_a_boolean_is_not_a_number(before: Any, after: Any, where: tuple[Any, ...]) -> None:
    (change,) = diff_json(before, after)
    assert (change.kind, change.location) == ("type_changed", where)


def test_nested_members_added_and_removed() -> None:
    before = {"a": {"b": 1, "keep": [1]}, "gone": {"x": None}}
    after = {"a": {"c": {"d": 2}, "keep": [1]}, "new": []}
    assert diff_json(before, after) == [
        Change(("a", "b"), "removed", 1, None),
        Change(("a", "c"), "added", None, {"d": 2}, additive=True),  # a new member: additive
        Change(("gone",), "removed", {"x": None}, None),
        Change(("new",), "added", None, [], additive=True),
    ]


def test_members_in_another_order_are_the_same() -> None:
    assert diff_json({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"d": 3, "c": 2}, "a": 1}) == []


def test_very_deep_documents_are_compared_whole() -> None:
    def nest(depth: int, leaf: Any) -> Any:
        for _ in range(depth):
            leaf = [leaf]
        return leaf

    assert diff_json(nest(900, 1), nest(900, 1)) == []
    (change,) = diff_json(nest(900, 1), nest(900, 2))
    assert change.location == () and change.kind == "changed"


# --------------------------------------------------------------------------- noise in the walk


def test_a_noise_location_is_one_change_not_descended() -> None:
    rules = NoiseRules([NoiseRule("$.meta", "server bookkeeping")])
    changes = diff_json(
        {"meta": {"a": 1, "b": [1]}, "x": 1}, {"meta": {"a": 2, "b": [2, 3]}, "x": 1}, noise=rules
    )
    assert len(changes) == 1
    assert changes[0].location == ("meta",) and changes[0].kind == "changed" and changes[0].noise is not None
    # a change of type under a noise rule is a change: the rule explains values, not their kind
    (typed,) = diff_json({"meta": {"a": 1}}, {"meta": None}, noise=rules)
    assert typed.kind == "type_changed" and typed.noise is None
    (renumbered,) = diff_json({"id": 3}, {"id": "3"}, noise=NoiseRules([NoiseRule("$.id", "generated")]))
    assert renumbered.kind == "type_changed" and renumbered.noise is None


def test_additions_to_sets_and_objects_are_additive_and_items_of_lists_are_not() -> None:
    assert [c.additive for c in diff_json({"a": 1}, {"a": 1, "b": 2})] == [True]
    assert [c.additive for c in diff_json({"cartItems": [1]}, {"cartItems": [1, 2]})] == [False]  # positional
    assert [c.additive for c in diff_json({"a": 1, "b": 2}, {"a": 1})] == [False]  # removed: breaking


def test_added_and_removed_fields_can_be_noise() -> None:
    rules = NoiseRules([NoiseRule("$..etag", "a hash")])
    changes = diff_json({"a": {"etag": "x"}}, {"a": {}, "b": [{"etag": "y"}]}, noise=rules)
    assert [(c.kind, c.pointer, c.noise is not None) for c in changes] == [
        ("removed", "/a/etag", True),
        ("added", "/b", False),  # the new item as a whole is not an etag
    ]


def test_noise_rules_apply_to_their_operations_only() -> None:
    rules = NoiseRules([NoiseRule("$.id", "generated", frozenset({"createReferral"}))])
    assert diff_json({"id": 1}, {"id": 2}, operation_id="createReferral", noise=rules)[0].noise is not None
    assert diff_json({"id": 1}, {"id": 2}, operation_id="syncCatalog", noise=rules)[0].noise is None
    assert diff_json({"id": 1}, {"id": 2}, noise=rules)[0].noise is None


def test_clock_rules_explain_only_date_times() -> None:
    rules = builtin_noise()
    operation = "getLoyaltyProgramProfilePoints"
    entry = {"startDate": "2026-03-16T09:00:04Z", "amount": 20.0}
    later = {**entry, "startDate": "2026-04-16T09:00:04Z"}
    (shifted,) = diff_json({"data": [entry]}, {"data": [later]}, operation_id=operation, noise=rules)
    assert shifted.noise is not None
    # points that were active at once and now wait: a real change at the same location
    immediate = {**entry, "startDate": "immediate"}
    (pending,) = diff_json({"data": [immediate]}, {"data": [later]}, operation_id=operation, noise=rules)
    assert pending.noise is None and pending.pointer == "/data/0/startDate"
    (gone,) = diff_json({"created": "2026-03-02T09:00:04.000Z"}, {"created": None}, noise=rules)
    assert gone.kind == "type_changed" and gone.noise is None


def test_change_pointers_and_lines() -> None:
    change = Change(("a/b", "m~n", 0), "changed", "x", 2)
    assert change.pointer == "/a~1b/m~0n/0"
    assert str(change) == 'changed /a~1b/m~0n/0: "x" -> 2'
    assert Change((), "changed", 1, 2).pointer == ""
    assert str(Change((), "removed", {"a": [1]}, None)) == 'removed /: {"a":[1]}'
    assert str(Change(("k",), "added", None, "v" * 100)).endswith("…")
    assert len(str(Change((), "changed", "t" * 500, "u" * 500))) < 450


# --------------------------------------------------------------------------- whole responses


def _response(body: bytes | str | None, status: int = 200, content_type: str | None = "application/json",
              **headers: str) -> HttpResponse:  # fmt: skip
    all_headers = {k.replace("_", "-"): [v] for k, v in headers.items()}
    if content_type is not None:
        all_headers["Content-Type"] = [content_type]
    return HttpResponse(status, all_headers, body)


def test_identical_bytes_are_the_same_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(diff_module, "parse_json", refuse)
    not_json = b'{"truncated": '
    diff = diff_responses(_response(not_json), _response(not_json))
    assert diff.same and not diff.only_noise
    assert diff == ExchangeDiff(None, (), ())
    assert diff_responses(_response(b"{}"), _response("{}")).same  # text and bytes alike


def test_given_documents_are_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff_module, "parse_json", lambda data: pytest.fail("parsed"))
    diff = diff_responses(
        _response(b'{"id": 1}'), _response(b'{"id": 2}'), recorded_json={"id": 7}, live_json={"id": 7}
    )
    assert diff.same
    diff = diff_responses(_response(b"{}"), _response(b"[]"), recorded_json={"a": 1}, live_json={"a": 2})
    assert diff.body == (Change(("a",), "changed", 1, 2),)


def test_non_json_bodies_are_compared_whole() -> None:
    diff = diff_responses(
        _response(b"hello", content_type="text/plain"), _response(b"world", content_type="text/plain")
    )
    assert diff.body == (Change((), "changed", "hello", "world"),)
    assert diff.real == diff.body and not diff.only_noise
    assert diff_responses(
        _response(b"same", content_type="text/plain"), _response(b"same", content_type="text/plain")
    ).same
    html = "<html><body>" + "Bad gateway " * 50 + "</body></html>"
    mixed = diff_responses(_response(b'{"ok": true}'), _response(html))
    assert mixed.body == (Change((), "changed", '{"ok": true}', html),)
    assert len(str(mixed.body[0])) < 450


def test_json_without_a_json_content_type_is_still_diffed() -> None:
    diff = diff_responses(
        _response(b'{"a": 1}', content_type=None), _response(b'{"a": 2}', content_type=None)
    )
    assert diff.body == (Change(("a",), "changed", 1, 2),)


def test_bodies_on_one_side_only() -> None:
    assert diff_responses(_response(None, 204, None), _response(b"", 204, None)).same
    assert diff_responses(_response(b"  \n", 204, None), _response(None, 204, None)).same
    added = diff_responses(_response(None, 204, None), _response(b'{"a": 1}', 204, None))
    assert added.body == (Change((), "added", None, {"a": 1}),)
    removed = diff_responses(
        _response(b"text", content_type="text/plain"), _response(b"", content_type="text/plain")
    )
    assert removed.body == (Change((), "removed", "text", None),)


def test_content_type_parameters_are_ignored() -> None:
    recorded = _response(b'{"a": 1}', content_type="application/json")
    assert diff_responses(
        recorded, _response(b'{"a": 1}', content_type="application/json; charset=utf-8")
    ).same
    assert diff_responses(recorded, _response(b'{"a": 1}', content_type="Application/JSON")).same
    diff = diff_responses(recorded, _response(b'{"a": 1}', content_type="text/html; charset=utf-8"))
    assert diff.headers == (("content-type", "application/json", "text/html; charset=utf-8"),)
    assert not diff.same and not diff.only_noise
    missing = diff_responses(recorded, _response(b'{"a": 1}', content_type=None))
    assert missing.headers == (("content-type", "application/json", None),)


def test_other_headers_are_compared_when_named() -> None:
    recorded = _response(b"{}", X_Version="7")
    live = _response(b"{}", X_Version="8", X_Request_Id="abc")
    assert diff_responses(recorded, live).same  # only content-type by default
    diff = diff_responses(recorded, live, headers=("Content-Type", "X-VERSION", "x-request-id"))
    assert diff.headers == (("x-version", "7", "8"), ("x-request-id", None, "abc"))


def test_a_status_difference_is_never_noise() -> None:
    rules = NoiseRules([NoiseRule("$.id", "generated")])
    diff = diff_responses(_response(b'{"id": 1}', 200), _response(b'{"id": 2}', 201), noise=rules)
    assert diff.status == (200, 201)
    assert diff.real == () and not diff.only_noise and not diff.same
    only_noise = diff_responses(_response(b'{"id": 1}'), _response(b'{"id": 2}'), noise=rules)
    assert only_noise.only_noise and only_noise.status is None


def test_encoded_bodies_are_compared_once_made_plain() -> None:
    # decoding is where a message enters (plain_response), not the diff's business
    document = {"customerSession": {"total": 84.7}}
    recorded = plain_response(_response(gzip.compress(orjson.dumps(document)), Content_Encoding="gzip"))
    assert recorded.body == orjson.dumps(document) and "content-encoding" not in recorded.headers
    assert diff_responses(recorded, _response(orjson.dumps(document))).same
    live = _response(orjson.dumps({"customerSession": {"total": 79.8}}))
    assert diff_responses(recorded, live).body == (
        Change(("customerSession", "total"), "changed", 84.7, 79.8),
    )


def test_a_filter_rule_explains_a_change_only_where_its_filter_holds() -> None:
    # the filter needs the document: it is evaluated against both bodies (replay.paths)
    rule = NoiseRule("$.effects[?@.effectType=='acceptReferral'].props.value", "a generated referral code")
    recorded = {"effects": [{"effectType": "acceptReferral", "props": {"value": "REF-1"}},
                            {"effectType": "setDiscount", "props": {"value": 10}}]}  # fmt: skip
    live = copy.deepcopy(recorded)
    live["effects"][0]["props"]["value"] = "REF-2"
    live["effects"][1]["props"]["value"] = 12
    changes = {c.pointer: c for c in diff_json(recorded, live, noise=NoiseRules([rule]))}
    assert changes["/effects/0/props/value"].noise is rule
    assert changes["/effects/1/props/value"].noise is None  # a discount that changed is a real change


def test_an_effect_whose_type_changed_is_one_change_at_its_rule() -> None:
    recorded = {"effects": [
        {"campaignId": 1, "rulesetId": 2, "ruleIndex": 0, "effectType": "setDiscount", "props": {"name": "10%", "value": 5.0}},
        {"campaignId": 1, "rulesetId": 2, "ruleIndex": 1, "effectType": "addFreeItem", "props": {"sku": "S"}},
    ]}  # fmt: skip
    live = copy.deepcopy(recorded)
    live["effects"][0] = {"campaignId": 1, "rulesetId": 2, "ruleIndex": 0, "effectType": "addLoyaltyPoints",
                          "props": {"name": "10%", "value": 5.0}}  # fmt: skip
    live["effects"].reverse()
    (change,) = diff_json(recorded, live)
    assert change.kind == "changed" and change.pointer == "/effects/0" and change.live_pointer == "/effects/1"
    assert change.before["effectType"] == "setDiscount" and change.after["effectType"] == "addLoyaltyPoints"
