"""Pseudonyms are recognisable as such and left as they are by a later pass, whatever its key
(redact(redact(x)) == redact(x)), and a real value that merely looks like one is still replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay.recording.redaction import PSEUDONYM_DOMAIN, Redactor, is_pseudonym

FIRST, SECOND = Redactor(salt=b"first key"), Redactor(salt=b"second key")
HEX10 = "[0-9a-f]{10}"

KINDS = [  # (member, a real value, the shape of its pseudonym)
    ("Name", "Ana Lima", rf"Name-{HEX10}"),
    ("address", "Rua Augusta 1, Lisboa", rf"Address-{HEX10}"),
    ("ShippingCity", "Lisboa", rf"ShippingCity-{HEX10}"),
    ("Email", "ana.lima@example.com", rf"person-{HEX10}@example\.invalid"),
    ("Contact", "ana@example.com", rf"person-{HEX10}@example\.invalid"),  # an address whatever its member
    ("Phone", "+351 912 345 678", r"\+000\d{9}"),
    ("mobilePhone", "912345678", r"\+000\d{9}"),
    ("BirthDate", "1990-04-01T00:00:00Z", r"18\d\d-\d\d-\d\dT00:00:00Z"),
    ("birthDate", "1990-04-01", r"18\d\d-\d\d-\d\d"),
    ("DateOfBirth", "1st of April 1990", r"18\d\d-\d\d-\d\dT00:00:00Z"),
    ("IPAddress", "203.0.113.7", r"198\.1[89]\.\d{1,3}\.\d{1,3}"),
    ("clientIp", "2a00:1450:4003::200e", r"2001:db8::[0-9a-f]{4}:[0-9a-f]{4}"),
    ("clientIp", "unknown", rf"ClientIp-{HEX10}"),  # not an address: text
]


@pytest.mark.parametrize(("key", "value", "shape"), KINDS, ids=[f"{k}:{v}" for k, v, _ in KINDS])
def test_each_kind_of_pseudonym_is_left_as_it_is_by_a_later_pass(key: str, value: str, shape: str) -> None:
    pseudonym = FIRST.pseudonym(key, value)
    assert re.fullmatch(shape, pseudonym) and pseudonym != value
    assert not is_pseudonym(key, value) and is_pseudonym(key, pseudonym)
    assert FIRST.pseudonym(key, pseudonym) == pseudonym  # the same key
    assert SECOND.pseudonym(key, pseudonym) == pseudonym  # any key
    assert FIRST.pseudonym(key, value) == pseudonym  # and the same value keeps its stand-in


def test_date_pseudonyms_are_valid_days_of_the_1800s() -> None:
    for n in range(300):
        day = FIRST.pseudonym("birthDate", f"{1900 + n}-04-01")
        year, month, date = (int(part) for part in day.split("-"))
        assert 1800 <= year <= 1899 and 1 <= month <= 12 and 1 <= date <= 28
    octets = [FIRST.pseudonym("IPAddress", f"10.0.0.{n}").split(".") for n in range(200)]
    assert all(o[:2] in (["198", "18"], ["198", "19"]) and all(0 <= int(x) <= 255 for x in o) for o in octets)


LOOK_ALIKES = [  # (member, a real value close to a pseudonym's shape, but not one)
    ("Name", "Name-1A2B3C4D5E"),  # upper-case hex
    ("Name", "Name-1a2b3c4d5"),  # 9 digits
    ("Name", "Name-1a2b3c4d5e6"),  # 11
    ("Name", "Name-1a2b3c4d5g"),  # not hex
    ("Address", "Name-1a2b3c4d5e"),  # another member's name
    ("Name", "Ana Name-1a2b3c4d5e"),  # inside a longer text
    ("Name", "name-1a2b3c4d5e"),  # the member's name, not capitalised as written
    ("Phone", "+351912345678"),
    ("Phone", "+0001234567890"),  # ten digits after +000
    ("Phone", "+000 123 456 789"),
    ("BirthDate", "1990-04-01"),
    ("BirthDate", "1901-01-01T00:00:00Z"),
    ("BirthDate", "1850-04-30"),  # past the 28th: never written
    ("BirthDate", "1850-04-01T10:00:00Z"),  # not midnight
    ("IPAddress", "198.51.100.7"),  # documentation (RFC 5737) but not ours
    ("IPAddress", "198.20.1.1"),
    ("IPAddress", "198.18.1.256"),
    ("clientIp", "2001:db8::1"),  # the documentation prefix, not in the form written
    ("clientIp", "2001:0db8::1234:5678"),
    ("Email", "ana@example.com"),
    ("Email", "ana@example.invalid.pt"),
]


@pytest.mark.parametrize(("key", "value"), LOOK_ALIKES, ids=[f"{k}:{v}" for k, v in LOOK_ALIKES])
def test_a_real_value_that_merely_looks_like_a_pseudonym_is_replaced(key: str, value: str) -> None:
    assert not is_pseudonym(key, value)
    assert FIRST.pseudonym(key, value) != value


def test_numbers_are_hidden_again_at_every_pass() -> None:
    """No shape tells a pseudonymous number from a real one: a second pass replaces it again, digit
    for digit (hidden, never let through), so personal numbers are the one thing a pass changes."""
    once = FIRST.value("Phone", 912345678)
    assert isinstance(once, int) and len(str(once)) == 9 and once != 912345678
    again = FIRST.value("Phone", once)
    assert isinstance(again, int) and len(str(again)) == 9 and again != once


MEMBERS = st.sampled_from(["Name", "FirstName", "address", "Email", "Phone", "BirthDate", "birthDate",
                           "IPAddress", "clientIp", "ShippingStreet", "x", "0", "ip:v6"])  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.emails(),
    st.from_regex(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?", fullmatch=True),
    st.ip_addresses().map(str),
    st.from_regex(r"\+?[0-9 ]{6,15}", fullmatch=True),
)


@given(key=MEMBERS, value=VALUES, first=st.binary(min_size=1, max_size=8), second=st.binary(max_size=8))
def test_redacting_a_pseudonym_again_changes_nothing_whatever_the_key(
    key: str, value: str, first: bytes, second: bytes
) -> None:
    pseudonym = Redactor(salt=first).pseudonym(key, value)
    assert is_pseudonym(key, pseudonym)
    assert Redactor(salt=second or first).pseudonym(key, pseudonym) == pseudonym
    nested = Redactor(salt=first).value(key, {key: [value, value]})
    assert Redactor(salt=second or first).value(key, nested) == nested == {key: [pseudonym, pseudonym]}


@given(text=st.text(max_size=60), address=st.emails())
def test_emails_in_any_text_are_replaced_once(text: str, address: str) -> None:
    once = FIRST.emails(f"{text} {address} {text}")
    assert SECOND.emails(once) == once
    assert PSEUDONYM_DOMAIN in once
