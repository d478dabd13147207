"""SyncCatalog: ADD, PATCH, PATCH_MANY, REMOVE, REMOVE_MANY on the Application's catalog.

Decisions (also listed in the README): ADD of an existing SKU without ``replaceIfExists``, PATCH or
REMOVE of a missing SKU without ``createIfNotExists``, and a ``version`` other than the
catalog's current one are 400s (the operation documents no 409); every successful sync
increments the version. The whole request applies or nothing does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import model
from .model import ApiProblem, Ctx, api_error, not_found
from .registry import operation
from .store import dumps, loads

_OPS = {  # the numeric comparisons (EQ and IN compare text as well, see _matches)
    "LT": lambda a, b: a < b,
    "LE": lambda a, b: a <= b,
    "GT": lambda a, b: a > b,
    "GE": lambda a, b: a >= b,
}


class _Problems:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, title: str, pointer: str) -> None:
        self.errors.append(api_error(title, pointer=pointer))


def _matches(item: Mapping[str, Any], filters: list[Mapping[str, Any]]) -> bool:
    attributes = item["attributes"]
    for f in filters:
        value, target = attributes.get(f["attr"]), f["value"]
        if f["op"] == "IN":
            if str(value) not in [v.strip() for v in str(target).split(",")]:
                return False
        elif f["op"] == "EQ":
            if value != target and str(value) != str(target):
                return False
        else:
            try:
                if not _OPS[f["op"]](float(value), float(target)):
                    return False
            except (TypeError, ValueError):
                return False
    return True


def _check_filters(
    filters: Any, allowed: tuple[str, ...], where: str, problems: _Problems
) -> list[Mapping[str, Any]]:
    if filters is None:
        return []
    if not isinstance(filters, list):
        problems.add("filters must be a list", where)
        return []
    for i, f in enumerate(filters):
        here = f"{where}/{i}"
        if not isinstance(f, Mapping) or not {"attr", "op", "value"} <= set(f):
            problems.add("a filter needs attr, op and value", here)
        elif f["attr"] not in allowed:
            problems.add(f"{f['attr']!r} is not an attribute of this catalog (catalog attributes: {', '.join(allowed)})",
                         f"{here}/attr")  # fmt: skip
        elif f["op"] not in ("EQ", *_OPS, "IN"):
            problems.add(f"unknown operator {f['op']!r}; valid: EQ, LT, LE, GT, GE, IN", f"{here}/op")
        elif f["op"] in _OPS and (isinstance(f["value"], bool) or not _number(f["value"])):
            problems.add(f"{f['op']} compares numbers", f"{here}/value")
    return filters


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@operation("syncCatalog")
def sync_catalog(ctx: Ctx) -> tuple[int, Any]:
    catalog_id = ctx.path["catalogId"]
    row = ctx.db.execute("SELECT * FROM catalogs WHERE id = ?", (catalog_id,)).fetchone()
    if row is None:
        raise not_found("catalog")
    spec = ctx.seed.catalogs.get(catalog_id)
    allowed = spec.attributes if spec is not None else ()
    body = ctx.body
    problems = _Problems()
    if "version" in body and body["version"] != row["version"]:
        problems.add(f"the catalog is at version {row['version']}, not {body['version']}", "/version")
    items = {
        r["sku"]: {"price": r["price"], "product": loads(r["product"]), "attributes": loads(r["attributes"])}
        for r in ctx.db.execute("SELECT * FROM catalog_items WHERE catalog_id = ?", (catalog_id,))
    }
    seen: dict[str, int] = {}
    for i, action in enumerate(body["actions"]):
        _apply(action, i, items, seen, allowed, problems)
    if problems.errors:
        raise ApiProblem(400, "Invalid request", problems.errors)
    ctx.store.forget_catalog()
    ctx.db.execute("DELETE FROM catalog_items WHERE catalog_id = ?", (catalog_id,))
    ctx.db.executemany(
        "INSERT INTO catalog_items (catalog_id, sku, price, product, attributes) VALUES (?, ?, ?, ?, ?)",
        [(catalog_id, sku, item["price"], dumps(item["product"]) if item["product"] else None, dumps(item["attributes"]))
         for sku, item in items.items()],
    )  # fmt: skip
    ctx.db.execute(
        "UPDATE catalogs SET version = version + 1, modified = ? WHERE id = ?", (ctx.stamp, catalog_id)
    )
    return 200, model.catalog_json(
        ctx.db.execute("SELECT * FROM catalogs WHERE id = ?", (catalog_id,)).fetchone(), ctx.seed
    )


def _apply(
    action: Mapping[str, Any],
    i: int,
    items: dict[str, dict[str, Any]],
    seen: dict[str, int],
    allowed: tuple[str, ...],
    problems: _Problems,
) -> None:
    """Apply action ``i`` to ``items`` (the catalog as the request leaves it), or note why it cannot be."""
    kind, payload, where = action["type"], action["payload"], f"/actions/{i}/payload"
    sku = payload.get("sku")
    if not _payload_ok(kind, payload, i, where, seen, allowed, problems):
        return
    if kind == "ADD":
        if sku in items and not payload.get("replaceIfExists", False):
            problems.add(f"sku {sku!r} exists; set replaceIfExists to replace it", f"{where}/sku")
            return
        old = items.get(sku)
        items[sku] = {
            "price": payload.get("price", old["price"] if old else None),  # replacing keeps an omitted price
            "product": payload.get("product"),  # ... but not an omitted product
            "attributes": dict(payload.get("attributes") or {}),
        }
    elif kind == "PATCH":
        if sku not in items:
            if not payload.get("createIfNotExists", False):
                problems.add(f"no item with sku {sku!r}; set createIfNotExists to create it", f"{where}/sku")
                return
            items[sku] = {"price": None, "product": None, "attributes": {}}
        _patch(items[sku], payload)
    elif kind == "REMOVE":
        if sku not in items:
            problems.add(f"no item with sku {sku!r}", f"{where}/sku")
            return
        del items[sku]
    else:
        before = len(problems.errors)
        filters = _check_filters(payload.get("filters"), allowed, f"{where}/filters", problems)
        if len(problems.errors) > before:
            return
        chosen = [s for s, item in items.items() if _matches(item, filters)]
        for s in chosen:
            if kind == "PATCH_MANY":
                _patch(items[s], payload)
            else:
                del items[s]


def _payload_ok(
    kind: str,
    payload: Mapping[str, Any],
    i: int,
    where: str,
    seen: dict[str, int],
    allowed: tuple[str, ...],
    problems: _Problems,
) -> bool:
    """Whether an action's payload can be applied: one action per sku, known attributes, a numeric
    price. Problems are noted; an unknown attribute name alone does not stop the action."""
    sku = payload.get("sku")
    if kind in ("ADD", "PATCH", "REMOVE"):
        if not isinstance(sku, str) or not sku:
            problems.add(f"{kind} needs a sku", f"{where}/sku")
            return False
        if sku in seen:
            problems.add(
                f"sku {sku!r} appears in actions {seen[sku]} and {i}; one action per sku", f"{where}/sku"
            )
            return False
        seen[sku] = i
    attributes = payload.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, Mapping):
            problems.add("attributes must be an object", f"{where}/attributes")
            return False
        for name in attributes:
            if name not in allowed:
                problems.add(f"{name!r} is not an attribute of this catalog", f"{where}/attributes/{name}")
    if "price" in payload and not (
        isinstance(payload["price"], int | float) and not isinstance(payload["price"], bool)
    ):
        problems.add("price must be a number", f"{where}/price")
        return False
    return True


def _patch(item: dict[str, Any], payload: Mapping[str, Any]) -> None:
    if "price" in payload:
        item["price"] = payload["price"]
    if "product" in payload:
        item["product"] = payload["product"]
    if payload.get("attributes"):
        item["attributes"].update(payload["attributes"])
