"""Talon.One facts the replay engine and the recorder act on: recorded exchanges that must not be
sent again, and which values in a recording are personal data."""

from __future__ import annotations

__all__ = ["CONCURRENCY_CONFLICTS", "PERSONAL_DATA_PATHS"]

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
