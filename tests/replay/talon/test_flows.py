"""replay.talon.flows: every identifier field of the 28 operations is namespaced, carried forward
or left alone with a reason. The fields are derived from the contract, so a new one fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from contracts.spec import Contract
from replay.talon.flows import ID_FLOWS, LEFT_ALONE, REFERENCES

#: What names an entity: a profile, session, audience, coupon, referral, card, store ...
IDENTIFIER = re.compile(
    r"integrationid|profileid|sessionid|audienceid|couponvalue|couponcode|referralcode|identifier|cardid",
    re.I,
)


def _fields(contract: Contract, schema: Any, path: str, depth: int = 0) -> Iterator[str]:
    schema = contract.schema_top(schema)
    if depth > 6 or not isinstance(schema, dict):
        return
    for name, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{name}"
        resolved = contract.schema_top(sub)
        if IDENTIFIER.search(name):
            yield here + ("[*]" if isinstance(resolved, dict) and resolved.get("type") == "array" else "")
        yield from _fields(contract, sub, here, depth + 1)
    items = schema.get("items")
    if isinstance(items, dict):
        yield from _fields(contract, items, path + "[*]", depth + 1)


def _identifier_fields(contract: Contract) -> Iterator[tuple[str, str]]:
    for operation in contract:
        for parameter in operation.parameters:
            if parameter.location == "path" and IDENTIFIER.search(parameter.name):
                yield operation.operation_id, f"path:{parameter.name}"
        body = operation.request_body
        for media in body.content.values() if body is not None else ():
            if media.schema is not None:
                yield from ((operation.operation_id, f) for f in _fields(contract, media.schema, "$"))


def test_every_identifier_field_is_covered(contract: Contract) -> None:
    covered = {
        (r.operation, f"path:{r.path_param}" if r.path_param else str(r.body_path)) for r in REFERENCES
    }
    carried_params = {name for flow in ID_FLOWS for name in flow.path_params}
    carried_keys = {key for flow in ID_FLOWS for key in flow.body_keys}
    missing = []
    for key in _identifier_fields(contract):
        field = key[1]
        last = field.removeprefix("path:").rsplit(".", 1)[-1].removesuffix("[*]")
        carried = last in carried_params if field.startswith("path:") else last in carried_keys
        if key not in covered and key not in LEFT_ALONE and not carried:
            missing.append(key)
    assert missing == []
    assert len(covered) > 20  # the measure found the fields at all


def test_left_alone_fields_exist_and_say_why(contract: Contract) -> None:
    fields = set(_identifier_fields(contract))
    for key, reason in LEFT_ALONE.items():
        assert key in fields and reason.strip(), key  # a stale row fails
