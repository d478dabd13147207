"""Fields a JSON body holds that its schema does not describe.

JSON Schema lets an object carry properties it does not name (the vendor's schemas never say
``additionalProperties: false``), so a body with a field the contract does not know is valid: the
API reads what it knows and ignores the rest. That is the case of a client generated from a newer
release than the contract (the official SDK sends ``selectedPriceType`` on cart items, which
v7.0.0 does not have): the call succeeds and the field does nothing. This names those fields, for
a caller to warn about; it is not a violation.

An object is open on purpose, and nothing under it is named, when its schema describes no
properties (``attributes: {type: object}``) or maps any name to a schema (``additionalProperties:
{...}``). ``allOf``/``oneOf``/``anyOf`` describe the union of their alternatives' properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = ["undocumented_fields"]

_DEPTH = 64  # as deep as the sandbox reads a body
_ITEMS = 100  # items of one array looked at: the first ones say what a client sends


def undocumented_fields(contract: Contract, schema: Any, value: Any, pointer: str = "body") -> list[str]:
    """Pointers (``body/customerSession/cartItems/0/selectedPriceType``) of the fields of ``value``
    that ``schema`` does not describe, in the body's order."""
    found: list[str] = []
    _walk(contract, schema, value, pointer, found, 0)
    return found


def _walk(contract: Contract, schema: Any, value: Any, pointer: str, found: list[str], depth: int) -> None:
    if depth > _DEPTH or not isinstance(value, (dict, list)):
        return
    properties, items, open_ended = _described(contract, schema, 0)
    if isinstance(value, list):
        item_schema = _either(items)
        if item_schema is not None:
            for index, item in enumerate(value[:_ITEMS]):
                _walk(contract, item_schema, item, f"{pointer}/{index}", found, depth + 1)
        return
    for name, member in value.items():
        where = f"{pointer}/{name}"
        if name in properties:
            _walk(contract, _either(properties[name]), member, where, found, depth + 1)
        elif open_ended is not None:
            _walk(contract, open_ended, member, where, found, depth + 1)
        elif properties:
            found.append(where)


def _either(schemas: list[Any]) -> Any:
    """One schema for what several alternatives say of the same place: a field is undocumented only
    when none of them describes it."""
    if not schemas:
        return None
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _described(contract: Contract, schema: Any, depth: int) -> tuple[dict[str, list[Any]], list[Any], Any]:
    """(the schemas of each property name, item schemas, the schema of any other name or None) of
    a schema and its alternatives; an object schema without properties is open (``{}`` as its
    other names' schema), as is one with ``additionalProperties: true``."""
    node = contract.schema_top(schema)
    properties: dict[str, list[Any]] = {}
    items: list[Any] = []
    open_ended: Any = None
    if depth > 16:
        return properties, items, {}
    own = node.get("properties")
    if isinstance(own, dict):
        for name, member in own.items():
            properties.setdefault(name, []).append(member)
    if "items" in node:
        items.append(node["items"])
    additional = node.get("additionalProperties")
    if isinstance(additional, dict) or additional is True or node.get("patternProperties"):
        open_ended = additional if isinstance(additional, dict) else {}
    alternatives = [a for key in ("allOf", "oneOf", "anyOf") for a in node.get(key) or ()]
    for alternative in alternatives:
        more, more_items, other = _described(contract, alternative, depth + 1)
        for name, members in more.items():
            properties.setdefault(name, []).extend(members)
        items += more_items
        open_ended = open_ended if open_ended is not None else other
    if not properties and not alternatives and open_ended is None:
        open_ended = {}  # an object of any fields (or not an object at all)
    return properties, items, open_ended
