"""replay.recording.redaction: placeholders, stable pseudonyms, the secret check and the vcrpy hooks."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from vcr.request import Request as VcrRequest

from contracts.http import HttpRequest, HttpResponse
from contracts.spec import load_contract
from replay.cassettes.model import Interaction
from replay.recording.redaction import (
    AUTH_PLACEHOLDER,
    DEFAULT_PATHS,
    FOREIGN_AUTH_PLACEHOLDER,
    PLACEHOLDER,
    RedactionRules,
    Redactor,
    SecretLeakError,
    find_secrets,
    save,
)
from replay.recording.vcrpy import vcr_config
from replay.verify import check

API_KEY = "d3b07384d113edec49eaa6238ad5ff00d3b07384d113edec49eaa6238ad5ff00"  # shaped like a real one
PERSON = {"Name": "Ana Lima", "Email": "ana.lima@example.com", "Phone": "+351 912 345 678",
          "Address": "Rua Augusta 1, Lisboa", "BirthDate": "1990-04-01T00:00:00Z", "Language": "pt"}  # fmt: skip


def _profile_update(attributes: dict[str, object], profile: str = "ana") -> Interaction:
    body = json.dumps({"attributes": attributes}).encode()
    answer = {"customerProfile": {"integrationId": profile, "attributes": attributes}, "effects": []}
    return Interaction(
        "memory",
        0,
        HttpRequest(
            "PUT",
            f"http://localhost:9000/v2/customer_profiles/{profile}?runRuleEngine=true",
            {
                "Authorization": [f"ApiKey-v1 {API_KEY}"],
                "Content-Type": ["application/json"],
                "Cookie": ["session=abc"],
            },
            body,
        ),
        HttpResponse(
            200, {"Content-Type": ["application/json"], "Set-Cookie": ["x=1"]}, json.dumps(answer).encode()
        ),
    )


def _attributes(body: bytes | str | None) -> dict[str, object]:
    document = json.loads(body or b"{}")
    return document.get("attributes") or document["customerProfile"]["attributes"]


def test_credential_headers_become_placeholders() -> None:
    redacted = Redactor().interaction(_profile_update(PERSON))
    assert redacted.request.headers["Authorization"] == [AUTH_PLACEHOLDER]
    assert redacted.request.headers["Cookie"] == [PLACEHOLDER]
    assert redacted.request.headers["Content-Type"] == ["application/json"]
    assert redacted.response is not None and redacted.response.headers["Set-Cookie"] == [PLACEHOLDER]


def test_other_credentials_than_the_key_in_use_are_told_apart() -> None:
    """A story's deliberately wrong key must stay wrong on replay: it gets its own placeholder."""
    redactor = Redactor(api_key=API_KEY)
    ours = redactor.headers({"Authorization": [f"ApiKey-v1 {API_KEY}"]})
    revoked = redactor.headers({"Authorization": ["ApiKey-v1 revoked-0123"]})
    assert ours == {"Authorization": [AUTH_PLACEHOLDER]}
    assert revoked == {"Authorization": [FOREIGN_AUTH_PLACEHOLDER]}
    assert Redactor().headers({"Authorization": ["ApiKey-v1 revoked-0123"]}) == {
        "Authorization": [AUTH_PLACEHOLDER]
    }
    interaction = _profile_update(PERSON)
    interaction.request.headers["Authorization"] = [FOREIGN_AUTH_PLACEHOLDER]
    assert find_secrets(interaction) == []  # a placeholder, not a key


def test_personal_attributes_get_pseudonyms_of_the_same_shape() -> None:
    # A fixed key: with a random one, a pseudonym sometimes contains a checked fragment by chance
    # (a birth year of 1990, digits 912 in the phone number): 54 runs in 2,000 failed.
    redacted = Redactor(salt=b"fixed-test-key").interaction(_profile_update(PERSON))
    sent = _attributes(redacted.request.body)
    assert redacted.response is not None
    answered = _attributes(redacted.response.body)
    assert sent == answered  # the same value gets the same pseudonym, request and response alike
    for key in ("Name", "Email", "Phone", "Address", "BirthDate"):
        assert sent[key] != PERSON[key]
    assert sent["Language"] == "pt"  # not personal: kept
    assert re.fullmatch(r"person-[0-9a-f]{10}@example\.invalid", str(sent["Email"]))
    assert re.fullmatch(r"\+000\d{9}", str(sent["Phone"]))
    assert re.fullmatch(r"18\d\d-\d\d-\d\dT00:00:00Z", str(sent["BirthDate"]))
    assert str(sent["Name"]).startswith("Name-")
    text = (redacted.request.body or b"").decode() + (redacted.response.body or b"").decode()
    for value in ("Ana", "Lima", "ana.lima", "912", "Augusta", "1990"):
        assert value not in text


def test_pseudonyms_are_stable_within_a_redactor_and_differ_between_keys() -> None:
    first, second = Redactor(), Redactor()
    assert first.pseudonym("Name", "Ana") == first.pseudonym("name", "Ana")  # any key case, same kind
    assert first.pseudonym("Name", "Ana") != first.pseudonym("Name", "Bruno")
    assert first.pseudonym("Name", "Ana") != second.pseudonym("Name", "Ana")  # a random key per redactor
    assert Redactor(salt=b"k").pseudonym("Email", "a@b.c") == Redactor(salt=b"k").pseudonym("Email", "a@b.c")


def test_redacted_values_keep_the_contract() -> None:
    """A pseudonymised birth date is still a valid timestamp: the redacted exchange still validates."""
    contract = load_contract()
    original = _profile_update({"Name": "Ana", "BirthDate": "1990-04-01T00:00:00Z"})
    redacted = Redactor().interaction(original)
    request_violations = contract.validator().validate_request(
        redacted.request, contract.operation("updateCustomerProfileV2")
    )
    assert request_violations == []
    assert check(contract, redacted)[0] == check(contract, original)[0]


def test_query_parameters_and_custom_paths() -> None:
    rules = RedactionRules(  # personal=False: only the paths given (the personal rules are tested below)
        json_paths=("$.customerSession.attributes.ShippingStreet",),
        query_parameters=("token",),
        personal=False,
    )
    redactor = Redactor(rules)
    assert redactor.url("http://h/v2/x?token=abc&dry=true") == f"http://h/v2/x?token={PLACEHOLDER}&dry=true"
    assert redactor.url("http://h/v2/x") == "http://h/v2/x"
    body = json.dumps({"customerSession": {"attributes": {"ShippingStreet": "Main St 1", "Name": "kept"}}})
    redacted = json.loads(redactor.body({"Content-Type": ["application/json"]}, body.encode()) or b"")
    assert redacted["customerSession"]["attributes"]["ShippingStreet"].startswith("ShippingStreet-")
    assert redacted["customerSession"]["attributes"]["Name"] == "kept"  # only the configured paths


def test_a_filter_path_redacts_only_what_it_selects() -> None:
    # the same path language as noise rules and --ignore (replay.paths)
    rules = RedactionRules(json_paths=("$.effects[?@.effectType=='addLoyaltyPoints'].props.name",))
    body = {"effects": [{"effectType": "addLoyaltyPoints", "props": {"name": "Ada Lovelace"}},
                        {"effectType": "setDiscount", "props": {"name": "10% off"}}]}  # fmt: skip
    redacted = json.loads(
        Redactor(rules).body({"Content-Type": ["application/json"]}, json.dumps(body).encode()) or b""
    )
    assert redacted["effects"][0]["props"]["name"] != "Ada Lovelace"
    assert redacted["effects"][1]["props"]["name"] == "10% off"


def test_non_json_bodies_and_bodies_without_personal_data_are_kept_byte_for_byte() -> None:
    redactor = Redactor()
    assert redactor.body({"Content-Type": ["text/plain"]}, b"Name: Ana") == b"Name: Ana"
    assert redactor.body({"Content-Type": ["application/json"]}, b"{broken") == b"{broken"
    untouched = b'{"total": 1e2, "attributes": {"Language": "pt"}}'
    assert redactor.body({}, untouched) is untouched  # not re-serialised: 1e2 stays 1e2


def test_personal_values_of_any_type_are_replaced() -> None:
    redactor = Redactor()
    document = {"attributes": {"Phone": 912345678, "address": ["Rua Augusta 1", "Lisboa"],
                               "firstName": "Ana", "birthDate": None, "Email": True}}  # fmt: skip
    redacted = json.loads(redactor.body({}, json.dumps(document).encode()) or b"")["attributes"]
    assert isinstance(redacted["Phone"], int) and len(str(redacted["Phone"])) == 9
    assert redacted["Phone"] != 912345678
    assert [v.startswith("Address-") for v in redacted["address"]] == [True, True]
    assert redacted["firstName"].startswith("FirstName-")  # camelCase spellings are personal too
    assert redacted["birthDate"] is None and redacted["Email"] is True  # nothing to hide


def test_compressed_bodies_are_decompressed_redacted_and_searched() -> None:
    body = json.dumps({"customerProfile": {"attributes": {"Email": "ana@example.com"}}}).encode()
    interaction = Interaction(
        "memory",
        4,
        HttpRequest("GET", "http://h/v1/customer_profiles/ana/inventory", {}, None),
        HttpResponse(
            200,
            {"Content-Encoding": ["gzip"], "Content-Length": ["99"], "Content-Type": ["application/json"]},
            gzip.compress(body),
        ),
    )
    redacted = Redactor().interaction(interaction)
    assert redacted.response is not None
    assert "Content-Encoding" not in redacted.response.headers
    assert b"ana@example.com" not in (redacted.response.body or b"")
    assert redacted.response.headers["Content-Length"] == [str(len(redacted.response.body or b""))]
    leaky = Interaction("memory", 4, interaction.request,
                        HttpResponse(200, {"Content-Encoding": ["gzip"]}, gzip.compress(API_KEY.encode())))  # fmt: skip
    assert find_secrets(leaky, API_KEY) == ["interaction 4, response body"]


def test_invalid_path_is_refused_with_its_text() -> None:
    # the one path language's message, as for noise rules and --ignore
    with pytest.raises(
        ValueError, match=r"redaction path '\$\.\.\[': invalid path pattern '\$\.\.\[' at position 3"
    ):
        RedactionRules(json_paths=("$..[",))


def test_disabled_rules_change_nothing() -> None:
    original = _profile_update(PERSON)
    assert Redactor(RedactionRules(enabled=False)).interaction(original) is original


# --------------------------------------------------------------------------- the secret check


def test_find_secrets_says_where() -> None:
    leaky = _profile_update({"Note": f"my key is {API_KEY}"})
    found = find_secrets(leaky, API_KEY)
    assert "interaction 0, request header Authorization" in found
    assert "interaction 0, request body" in found and "interaction 0, response body" in found
    assert find_secrets(Redactor().interaction(_profile_update(PERSON)), API_KEY) == []


@pytest.mark.parametrize(
    "text",
    [
        "ApiKey-v1 0123456789abcdef",  # any key after the scheme
        "a0" * 32,  # a bare 64-hex key
    ],
)
def test_anything_shaped_like_a_key_is_found_without_knowing_the_key(text: str) -> None:
    interaction = _profile_update({"Comment": text})
    cleaned = Redactor().interaction(interaction)
    assert find_secrets(cleaned) == ["interaction 0, request body", "interaction 0, response body"]


def test_keys_hidden_in_urls_and_next_to_dashes_are_found() -> None:
    quoted = Interaction(
        "memory", 0, HttpRequest("GET", "http://h/v2/x/ApiKey-v1%20" + "ab12" * 4, {}, None), None
    )
    assert find_secrets(quoted) == ["interaction 0, request URL"]
    dashed = Interaction("memory", 0, HttpRequest("GET", f"http://h/v2/x?q=token-{API_KEY}", {}, None), None)
    assert find_secrets(dashed) == ["interaction 0, request URL"]


def test_placeholders_and_ordinary_ids_are_not_secrets() -> None:
    interaction = _profile_update({"Order": "3f2a9c", "Uuid": "0d7e5d6a-4c3e-4f3a-9a57-7a1b5c9d2e10"})
    assert find_secrets(Redactor().interaction(interaction)) == []


def test_save_refuses_a_leak_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_text("the previous, good cassette\n")
    leaky = _profile_update({"Language": API_KEY})
    with pytest.raises(SecretLeakError) as caught:
        save(path, [_profile_update(PERSON), leaky], api_key=API_KEY)
    assert caught.value.path == str(path)
    assert "interaction 0, request body" in str(caught.value) and "response body" in str(caught.value)
    assert path.read_text() == "the previous, good cassette\n"
    assert [p.name for p in tmp_path.iterdir()] == ["story.yaml"]


def test_save_redacts_by_default(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    assert save(path, [_profile_update(PERSON)], api_key=API_KEY) == 1
    text = path.read_text()
    assert API_KEY not in text and "ana.lima" not in text and AUTH_PLACEHOLDER in text


# --------------------------------------------------------------------------- vcrpy hooks


def test_vcr_hooks_apply_the_same_rules() -> None:
    config = vcr_config(api_key=API_KEY)
    request = VcrRequest(
        "PUT",
        f"http://h/v2/customer_profiles/ana?api_key={API_KEY}",
        json.dumps({"attributes": PERSON, "echo": API_KEY}).encode(),
        {"Authorization": f"ApiKey-v1 {API_KEY}", "Content-Type": "application/json"},
    )
    cleaned = config["before_record_request"](request)
    assert cleaned.headers["Authorization"] == AUTH_PLACEHOLDER
    assert API_KEY not in cleaned.uri and API_KEY.encode() not in cleaned.body
    sent = json.loads(cleaned.body)
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"], "Set-Cookie": ["s=1"]},
        "body": {"string": json.dumps({"customerProfile": {"attributes": PERSON}, "key": API_KEY}).encode()},
    }
    answered = config["before_record_response"](response)
    assert answered["headers"]["Set-Cookie"] == [PLACEHOLDER]
    document = json.loads(answered["body"]["string"])
    assert document["customerProfile"]["attributes"] == sent["attributes"]  # one configuration, one redactor
    assert document["key"] == PLACEHOLDER
    assert config["decode_compressed_response"] is True


def test_vcr_hooks_with_redaction_off_still_drop_the_key() -> None:
    config = vcr_config(RedactionRules(enabled=False), api_key=API_KEY)
    request = VcrRequest("POST", "http://h/v2/events", f'{{"k": "{API_KEY}", "Name": "Ana"}}', {})
    cleaned = config["before_record_request"](request)
    assert API_KEY.encode() not in cleaned.body and b"Ana" in cleaned.body  # vcrpy keeps bodies as bytes


def test_vcr_hooks_scrub_the_key_from_every_header() -> None:
    config = vcr_config(api_key=API_KEY)
    request = VcrRequest("GET", "http://h/v2/x", None, {"X-Talon-Key": API_KEY})
    assert config["before_record_request"](request).headers["X-Talon-Key"] == PLACEHOLDER
    response = {"status": {"code": 200}, "headers": {"X-Echo-Key": [API_KEY]}, "body": {"string": b""}}
    assert config["before_record_response"](response)["headers"]["X-Echo-Key"] == [PLACEHOLDER]


def test_vcr_hooks_refuse_to_record_a_key_they_cannot_redact() -> None:
    config = vcr_config()  # the key in use is not known: only its shape can give it away
    response = {
        "status": {"code": 200},
        "headers": {},
        "body": {"string": b'{"k": "ApiKey-v1 0123456789abcdef"}'},
    }
    with pytest.raises(SecretLeakError, match="a response: response body"):
        config["before_record_response"](response)
    request = VcrRequest("GET", f"http://h/v2/x?ref={'ab' * 24}", None, {})
    with pytest.raises(SecretLeakError, match=r"GET http://h/v2/x\?ref=abab.*: request URL"):
        config["before_record_request"](request)


# --------------------------------------------------------------------------- personal data beyond the paths


def _json_body(redactor: Redactor, document: object, **where: str) -> dict[str, object]:
    body = redactor.body({"Content-Type": ["application/json"]}, json.dumps(document).encode(), **where)
    return json.loads(body or b"")


def test_emails_are_pseudonymised_wherever_they_are_but_identifiers_stay() -> None:
    """Profile and session ids are identifiers (the replay's id flows carry them, the URL has them)."""
    redactor = Redactor(salt=b"k")
    document = {
        "customerSession": {"profileId": "ana@example.com", "identifiers": ["ana@example.com"]},
        "integrationIDs": ["ana@example.com"],
        "effects": [{"props": {"name": "10% off", "note": "sent to ana@example.com, twice"}}],
        "message": "no profile Ana <ana@example.com>",
        "attributes": {"ReferrerId": "ana@example.com"},  # an attribute is data, whatever its name
    }
    redacted = _json_body(redactor, document)
    text = json.dumps(redacted)
    mail = redactor.pseudonym("email", "ana@example.com")
    assert text.count(mail) == 4 and text.count("ana@example.com") == 2
    assert redacted["customerSession"] == {"profileId": "ana@example.com", "identifiers": [mail]}
    assert redacted["integrationIDs"] == ["ana@example.com"]
    assert redacted["effects"] == [{"props": {"name": "10% off", "note": f"sent to {mail}, twice"}}]


def test_the_default_paths_are_covered_where_the_contract_says_nothing() -> None:
    """The policies' attribute names, at every ``$..attributes`` (a catalog action's untyped payload,
    a 409 body), without walking the 30 paths: the rules cover them."""
    redactor = Redactor(salt=b"k")
    for path in DEFAULT_PATHS:
        name = path.split("'")[1]
        document = {"actions": [{"type": "ADD", "payload": {"sku": "S1", "attributes": {name: "Ana Lima"}}}]}
        attributes = _json_body(redactor, document, method="PUT", url="/v1/catalogs/1/sync")
        assert attributes["actions"][0]["payload"]["attributes"][name] != "Ana Lima", path
        assert attributes["actions"][0]["payload"]["sku"] == "S1"


def test_the_operation_decides_a_bare_name_and_a_root_attribute_map() -> None:
    redactor = Redactor(salt=b"k")
    audience = {"name": "Travel audience", "integrationId": "ana@example.com"}
    assert (
        _json_body(redactor, audience, method="POST", url="/v2/audiences") == audience
    )  # an audience's name
    attributes = {"name": "Ana Lima", "Language": "pt"}
    put = {"method": "PUT", "url": "http://h/v2/audience_customers/7/attributes"}
    assert _json_body(redactor, attributes, **put)["name"].startswith("Name-")  # the body is an attribute map
    assert _json_body(redactor, attributes) == attributes  # not knowing the operation: a name is a name
    reserved = {"data": [{"integrationId": "ana", "name": "Ana Lima"}], "totalResultSize": 1}
    answer = _json_body(redactor, reserved, method="GET", url="/v1/coupon_reservations/customerprofiles/C1",
                        side="response")  # fmt: skip
    assert answer["data"][0]["name"] != "Ana Lima" and answer["data"][0]["integrationId"] == "ana"


def test_text_bodies_lose_their_emails_and_binary_ones_are_left() -> None:
    redactor = Redactor(salt=b"k")
    assert redactor.body({"Content-Type": ["text/plain"]}, b"write to ana@example.com") == (
        f"write to {redactor.pseudonym('email', 'ana@example.com')}".encode()
    )
    assert redactor.body({"Content-Type": ["application/json"]}, b'{"a": "ana@example.com"') != (
        b'{"a": "ana@example.com"'  # broken JSON is text: its e-mail goes too
    )
    assert b"ana@" not in (redactor.body({}, b'"ana@example.com"') or b"")  # a body that is one JSON string
    png = b"\x89PNG ana@example.com"
    assert redactor.body({"Content-Type": ["image/png"]}, png) is png


def test_redacting_twice_changes_nothing_and_deep_bodies_do_not_overflow() -> None:
    once = Redactor(salt=b"one").interaction(_profile_update(PERSON))
    twice = Redactor(salt=b"two").interaction(once)
    assert twice.request.body == once.request.body  # every pseudonym stays (test_pseudonyms.py)
    assert twice.response is not None and once.response is not None
    assert twice.response.body == once.response.body
    deep = "[" * 900 + '{"email": "ana@example.com"}' + "]" * 900
    redacted = Redactor(salt=b"k").body({}, deep.encode())
    assert b"ana@example.com" not in (redacted or b"")


def test_pseudonyms_keep_dates_and_ip_addresses_valid() -> None:
    redactor = Redactor(salt=b"k")
    assert re.fullmatch(r"18\d\d-\d\d-\d\d", redactor.pseudonym("birthDate", "1990-04-01"))
    assert re.fullmatch(r"2001:db8::[0-9a-f]{4}:[0-9a-f]{4}", redactor.pseudonym("clientIp", "2001:db8::1"))
    ipv4 = redactor.pseudonym("IPAddress", "203.0.113.7")
    assert all(0 <= int(part) <= 255 for part in ipv4.split(".")) and ipv4.startswith("198.1")
    assert redactor.pseudonym("clientIp", "unknown").startswith("ClientIp-")  # not an address: text
    assert redactor.pseudonym("Contact", "ana@example.com").endswith("@example.invalid")  # by its shape


def test_vcr_hooks_know_which_operation_answered() -> None:
    """The response hook has no request: the one its request hook saw last on this thread names it."""
    config = vcr_config()
    request = VcrRequest("GET", "http://h/v1/coupon_reservations/customerprofiles/C1", None, {})
    config["before_record_request"](request)
    body = {
        "data": [{"integrationId": "ana", "name": "Ana Lima", "attributes": {"Email": "ana@example.com"}}]
    }
    response = {"status": {"code": 200}, "headers": {"Content-Type": ["application/json"]},
                "body": {"string": json.dumps(body).encode()}}  # fmt: skip
    answered = json.loads(config["before_record_response"](response)["body"]["string"])
    assert answered["data"][0]["name"] != "Ana Lima" and answered["data"][0]["integrationId"] == "ana"
    audience = VcrRequest("PUT", "http://h/v2/audience_customers/7/attributes", b'{"name": "Ana Lima"}',
                          {"Content-Type": "application/json"})  # fmt: skip
    assert b"Ana Lima" not in config["before_record_request"](audience).body
