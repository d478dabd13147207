"""replay.talon.personal: what is personal, and where the contract puts it (derived, cached, routed)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from contracts.spec import Contract, load_contract
from replay.cassettes.model import Interaction
from replay.talon.personal import (
    CACHE_ENV,
    PersonalData,
    Place,
    default_personal_data,
    derive,
    is_attribute_map_key,
    is_identifier_key,
    is_personal_key,
    names_a_person,
    personal_data,
    words,
)
from replay.talon.policies import PERSONAL_ATTRIBUTES

from ..helpers import CORPUS, corpus

#: The operations whose bodies carry profiles or attribute maps: the derivation must find a
#: personal place in each (a derivation that drops one fails here).
CARRY_PERSONAL_DATA = {
    "getCustomerSession",
    "updateCustomerSessionV2",
    "returnCartItems",
    "updateCustomerProfileV2",
    "updateCustomerProfilesV2",
    "updateAudienceCustomersAttributes",
    "linkLoyaltyCardToProfile",
    "trackEventV2",
    "createReferral",
    "createReferralsForMultipleAdvocates",
    "createCouponReservation",
    "getReservedCustomers",
    "getCustomerInventory",
    "getLoyaltyCardBalances",
}


@pytest.mark.parametrize(
    "name",
    ["Email", "eMail", "customer_email", "EmailAddress", "Phone", "phoneNumber", "MobileNumber", "Address",
     "ShippingStreet", "ShippingCity", "BillingPostalCode", "zip_code", "Zipcode", "BirthDate", "dateOfBirth",
     "Birthdate", "dob", "IPAddress", "clientIp", "FirstName", "lastName", "surname", "contactName",
     "customerName", "full_name", "ContactEmails"],
)  # fmt: skip
def test_names_that_denote_personal_data(name: str) -> None:
    assert is_personal_key(name), words(name)


@pytest.mark.parametrize(
    "name",
    ["name", "campaignName", "ruleName", "productName", "title", "description", "ShippingCountry", "Language",
     "capacity", "recipientIntegrationId", "profileId", "integrationIDs", "mobileAppVersion", "tip",
     "additionalCosts", "lastUpdate", "startDate", "expiryDate", "code", "value", "sku", "PaymentMethod"],
)  # fmt: skip
def test_names_that_do_not(name: str) -> None:
    assert not is_personal_key(name), words(name)


def test_a_bare_name_is_personal_only_in_a_persons_object_or_an_attribute_map() -> None:
    assert not is_personal_key("name") and is_personal_key("name", of_person=True)
    assert is_personal_key("NAME", of_person=True)  # the policies' rows in any case
    for row in PERSONAL_ATTRIBUTES:  # every row of the policies' table is personal in an attribute map
        assert is_personal_key(row, of_person=True) and is_personal_key(row.lower(), of_person=True), row


def test_the_policies_rows_say_why() -> None:
    assert PERSONAL_ATTRIBUTES and all(reason.strip() for reason in PERSONAL_ATTRIBUTES.values())


def test_words_and_the_other_name_rules() -> None:
    assert words("IPAddress") == ("ip", "address") and words("integrationIDs") == ("integration", "id")
    assert words("ShippingCity") == ("shipping", "city") and words("customerProfiles") == (
        "customer",
        "profile",
    )
    assert is_attribute_map_key("attributes") and is_attribute_map_key("cartItemAttributes")
    assert not is_attribute_map_key("attributeName") and not is_attribute_map_key("props")
    assert is_identifier_key("profileId") and is_identifier_key("integrationIDs")
    assert not is_identifier_key("identifiers") and not is_identifier_key("Email")
    persons = ["CustomerProfile", "customerProfiles", "profile", "friend", "CustomerProfileV2"]
    things = ["CustomerSession", "NewReferralsForMultipleAdvocates", "AudienceMembership", "Campaign", "CartItem",
              "CustomerProfileIntegrationResponseV2", "LoyaltyCardProfileRegistration", ""]  # fmt: skip
    assert all(names_a_person(n) for n in persons) and not any(names_a_person(n) for n in things)


# --------------------------------------------------------------------------- the derivation


def test_every_operation_that_carries_profiles_or_attributes_has_personal_places(contract: Contract) -> None:
    data = personal_data(contract)
    found = {op.operation_id for op in contract if data.locations(op.operation_id)}
    assert found == CARRY_PERSONAL_DATA
    assert len(data.operations) == len(contract) == 28


def test_the_reported_case_and_a_few_known_places(contract: Contract) -> None:
    data = personal_data(contract)
    # UpdateAudienceCustomersAttributes' body is an attribute map itself (AttributeQuery)
    assert {
        (loc.side, loc.path, loc.kind) for loc in data.locations("updateAudienceCustomersAttributes")
    } == {("request", "$", "attributes")}
    session = {(loc.side, loc.path, loc.kind) for loc in data.locations("updateCustomerSessionV2")}
    assert {
        ("request", "$.customerSession.attributes", "attributes"),
        ("request", "$.customerSession.cartItems[*].attributes", "attributes"),
        ("response", "$.customerProfile", "person"),
        ("response", "$.customerProfile.attributes", "attributes"),
        ("response", "$.triggeredCampaigns[*].attributes", "attributes"),
    } <= session
    assert ("response", "$.data[*]", "person") in {
        (loc.side, loc.path, loc.kind) for loc in data.locations("getReservedCustomers")
    }
    # maps of structured values and effect props are not attribute maps, a campaign is not a person
    assert not any(
        "additionalCosts" in loc.path or "props" in loc.path or loc.path[2:] == "triggeredCampaigns[*]"
        for op in contract
        for loc in data.locations(op.operation_id)
    )


def _attribute_members(contract: Contract, schema: Any, path: str, depth: int = 0) -> Iterator[str]:
    """Every member named ``attributes`` the contract declares, found by a walk of its own."""
    schema = contract.schema_top(schema)
    if depth > 8 or not isinstance(schema, dict):
        return
    for branch in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(branch) or ():
            yield from _attribute_members(contract, sub, path, depth + 1)
    for name, sub in (schema.get("properties") or {}).items():
        if name == "attributes" and contract.schema_top(sub).get("type") == "object":
            yield f"{path}.{name}"
        yield from _attribute_members(contract, sub, f"{path}.{name}", depth + 1)
    if isinstance(schema.get("items"), dict):
        yield from _attribute_members(contract, schema["items"], path + "[*]", depth + 1)


def test_every_declared_attribute_map_is_found(contract: Contract) -> None:
    data = personal_data(contract)
    missing, declared_in_all = [], 0
    for operation in contract:
        body = operation.request_body
        sides = [("request", [m.schema for m in body.content.values()] if body else [])]
        sides.append(
            ("response", [m.schema for r in operation.responses.values() for m in r.content.values()])
        )
        for side, schemas in sides:
            declared = {p for s in schemas if s is not None for p in _attribute_members(contract, s, "$")}
            found = {loc.path for loc in data.locations(operation.operation_id) if loc.side == side}
            missing += [(operation.operation_id, side, p) for p in declared - found]
            declared_in_all += len(declared)
    assert missing == []
    assert declared_in_all >= 40  # the walk found them at all (50 in v7.0.0)


def test_the_derivation_is_cheap_and_made_once_per_contract(contract: Contract) -> None:
    started = time.perf_counter()
    fresh = derive(contract)
    assert time.perf_counter() - started < 0.5  # about 12 ms on the CI machine
    assert personal_data(contract) is personal_data(contract)
    assert personal_data(contract).to_json() == fresh.to_json()


def test_places_survive_json() -> None:
    place = Place(members={"a": Place(attributes=True), "b": Place(person=True, each=Place(attributes=True))})
    assert Place.from_json(orjson.loads(orjson.dumps(place.to_json()))) == place
    assert place.member("a") == Place(attributes=True) and place.member("zzz") is None


# --------------------------------------------------------------------------- routing without the contract


def _urls(contract: Contract) -> Iterator[tuple[str, str]]:
    for operation in contract:
        path = re.sub(r"{[^}]+}", "x-1", operation.path)
        yield operation.method, f"http://localhost:9000{contract.base_path}{path}?dry=true"
        yield operation.method.lower(), f"{contract.base_path}{path}/"
    for path in CORPUS.glob("*.yaml"):
        for item in corpus(path.stem):
            assert isinstance(item, Interaction)
            yield item.request.method, item.request.url
    yield "GET", "http://localhost:9000/v2/nothing/here"
    yield "PATCH", "/v2/customer_sessions/x"


def test_routes_name_the_operation_the_contract_finds(contract: Contract) -> None:
    """A derivation read from disk routes by itself: the same answer as ``Contract.find``."""
    data = PersonalData.from_json(orjson.loads(orjson.dumps(derive(contract).to_json())))
    for method, url in _urls(contract):
        match = contract.find(method, url)
        assert data.operation_id(method, url) == (match.operation.operation_id if match else None), (
            method,
            url,
        )


# --------------------------------------------------------------------------- the shipped contract, on disk


def test_the_shipped_contracts_derivation_is_kept_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    (tmp_path / "personal-0123.json").write_text("{}")  # an older derivation's: replaced, not kept
    loads: list[int] = []

    def load() -> Contract:
        loads.append(1)
        return load_contract()

    first = default_personal_data(load, reuse=False)
    assert loads == [1] and len(list(tmp_path.glob("personal-*.json"))) == 1
    again = default_personal_data(load, reuse=False)  # from the disk: the contract is not loaded
    assert loads == [1] and again.to_json() == first.to_json() == derive(load_contract()).to_json()
    assert default_personal_data(load) is again  # then from this process
    for kept in tmp_path.glob("personal-*.json"):
        kept.write_text("{not json")  # a damaged cache is derived again, and replaced
    assert default_personal_data(load, reuse=False).to_json() == first.to_json() and loads == [1, 1]
    assert orjson.loads(next(tmp_path.glob("personal-*.json")).read_bytes()) == first.to_json()


def test_an_empty_cache_setting_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_personal_data(reuse=False).operations
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a directory")  # unwritable: derived in memory, nothing raised
    assert default_personal_data(reuse=False).operations
