"""Talon.One facts the replay engine and the recorder act on: how a credential is written,
recorded exchanges that must not be sent again, and which values in a recording are personal data."""

from __future__ import annotations

__all__ = [
    "AUTH_SCHEME",
    "CONCURRENCY_CONFLICTS",
    "KEY_SHAPE",
    "PERSONAL_ATTRIBUTES",
    "PERSONAL_DATA_PATHS",
    "authorization",
]

#: The Integration API's credential: ``Authorization: ApiKey-v1 <key>``.
AUTH_SCHEME = "ApiKey-v1"
#: What an Integration API key looks like where it should not be (a cassette's body ...): a run of
#: 40 or more hex digits (the keys are 64).
KEY_SHAPE = r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{40,}(?![0-9A-Fa-f])"


def authorization(key: str) -> str:
    """The ``Authorization`` header's value for ``key``."""
    return f"{AUTH_SCHEME} {key}"


#: Recorded 409s of these operations say "another request for the same entity was in flight":
#: timing that a replay cannot reproduce (and must not try to). Their 409 exchanges are skipped.
CONCURRENCY_CONFLICTS = frozenset({"updateCustomerSessionV2", "updateCustomerProfileV2", "trackEventV2"})

#: Personal attribute names the toolkit knows, and why. The contract cannot name them: it types every
#: attribute map as a free-form object, and the names are the Application's (``contracts/sandbox/
#: seed.yaml`` defines the sandbox's). Where the contract puts attribute maps, and the word rule that
#: recognises other spellings (``ShippingCity``, ``customer_email``), are ``replay.talon.personal``'s;
#: these rows are matched in any case (``email``, ``EMAIL``) inside attribute maps.
PERSONAL_ATTRIBUTES: dict[str, str] = {
    "Name": "the seed's profile attribute: a customer's name (a bare `name` elsewhere is a campaign's, an audience's ...)",
    "FirstName": "a customer's given name",
    "LastName": "a customer's family name",
    "Email": "the seed's profile attribute: a customer's e-mail address",
    "Phone": "the seed's profile attribute: a customer's phone number",
    "PhoneNumber": "a customer's phone number, the other usual spelling",
    "Address": "the seed's profile attribute: where a customer lives or receives parcels",
    "Street": "part of a customer's address",
    "PostalCode": "part of a customer's address",
    "BirthDate": "the seed's profile attribute (type time): a customer's birth date",
    "Birthdate": "a customer's birth date, the one-word spelling",
    "DateOfBirth": "a customer's birth date, the long spelling",
}

#: The rows above as paths, wherever attribute maps appear (``--redact-path`` adds to these). The
#: recorder's rules cover them without walking each path (``replay.talon.personal``).
PERSONAL_DATA_PATHS: tuple[str, ...] = tuple(
    f"$..attributes['{name}']"
    for base in PERSONAL_ATTRIBUTES
    # the API's own spelling, lower case and camelCase (attribute names are user-defined)
    for name in dict.fromkeys((base, base.lower(), base[0].lower() + base[1:]))
)
