"""Talon.One facts the replay engine and the recorder act on: how a credential is written,
recorded exchanges that must not be sent again, and which values in a recording are personal data."""

from __future__ import annotations

__all__ = ["AUTH_SCHEME", "CONCURRENCY_CONFLICTS", "KEY_SHAPE", "PERSONAL_DATA_PATHS", "authorization"]

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

#: Personal profile attributes, wherever attributes appear (profiles, sessions, bulk updates ...).
PERSONAL_DATA_PATHS: tuple[str, ...] = tuple(
    f"$..attributes['{name}']"
    for base in (
        "Name",
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "PhoneNumber",
        "Address",
        "BirthDate",
        "Birthdate",
        "DateOfBirth",
        "Street",
        "PostalCode",
    )
    # the API's own spelling, lower case and camelCase (attribute names are user-defined)
    for name in dict.fromkeys((base, base.lower(), base[0].lower() + base[1:]))
)
