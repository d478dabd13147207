"""A session's content (``data``): what a PUT merges into it, its check against the Application,
its totals, and the session as the vendor shapes it (``CustomerSessionV2``).

The cart's server-computed fields (position, returned and remaining quantity) are never taken
from the client; units already returned no longer count for the rules.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from typing import Any

from . import model
from .facts import card_program
from .model import ApiProblem, Ctx, api_error
from .rules import CartLine

__all__ = ["Record", "merge_content", "prepare_cart", "session_json", "session_row", "totals"]

_MAX_UNITS = 10_000
_COMPUTED = ("position", "returnedQuantity", "remainingQuantity")
Record = sqlite3.Row | Mapping[str, Any]  # a sessions row, or the same fields in a dict


def merge_content(stored: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    # both come freshly parsed from JSON and are not used elsewhere: no copies needed
    data: dict[str, Any] = dict(stored) if stored else {}
    for key in ("storeIntegrationId", "couponCodes", "loyaltyCards", "additionalCosts", "identifiers"):
        if key in payload:
            data[key] = payload[key]
    if "cartItems" in payload:
        # position, returnedQuantity and remainingQuantity are the server's to compute
        data["cartItems"] = [
            {k: v for k, v in item.items() if k not in _COMPUTED} for item in payload["cartItems"]
        ]
    if "referralCode" in payload:
        if payload["referralCode"]:
            data["referralCode"] = payload["referralCode"]
        else:
            data.pop("referralCode", None)
    if "attributes" in payload:
        merged = dict(data.get("attributes") or {})
        merged.update(payload["attributes"] or {})
        data["attributes"] = merged
    for key, default in (("couponCodes", []), ("loyaltyCards", []), ("cartItems", []), ("additionalCosts", {}),
                         ("identifiers", []), ("attributes", {})):  # fmt: skip
        data.setdefault(key, default)
    return data


def prepare_cart(ctx: Ctx, data: dict[str, Any]) -> list[CartLine]:
    """Check a session's content against the Application; fill catalog prices. Raises a 400."""
    base = "/customerSession"
    errors = model.check_attributes(ctx.seed, "session", data.get("attributes"), f"{base}/attributes")
    units = 0
    lines = []
    catalog = ctx.store.catalog(ctx.db)
    for i, item in enumerate(data["cartItems"]):
        errors += model.check_attributes(
            ctx.seed, "cartItem", item.get("attributes"), f"{base}/cartItems/{i}/attributes"
        )
        units += item.get("quantity", 0)
        entry = catalog.get(item["sku"])
        if "price" not in item:
            if entry is None or entry[0] is None:
                errors.append(api_error(f"cart item {item['sku']!r} has no price and is not in the catalog",
                                        pointer=f"{base}/cartItems/{i}/price"))  # fmt: skip
                continue
            item["price"] = entry[0]
        attributes = dict(entry[1]) if entry is not None else {}
        attributes.update(item.get("attributes") or {})  # the session's values win over the catalog's
        item["position"] = i
        item.setdefault("returnedQuantity", 0)
        item["remainingQuantity"] = item["quantity"] - item["returnedQuantity"]
        if item["remainingQuantity"] > 0:  # returned units no longer count for the rules
            lines.append(
                CartLine(i, item["sku"], item["remainingQuantity"], float(item["price"]), attributes)
            )
    costs = sum(
        cost.get("price", 0) for cost in data["additionalCosts"].values() if isinstance(cost, Mapping)
    )
    if not math.isfinite(sum(line.price * line.quantity for line in lines) + costs):
        errors.append(api_error("the session's total is too large to compute", pointer=f"{base}/cartItems"))
    if units > _MAX_UNITS:
        errors.append(api_error(f"the cart holds {units} units; at most {_MAX_UNITS} per request",
                                pointer=f"{base}/cartItems"))  # fmt: skip
    for name in data["additionalCosts"]:
        if name not in ctx.seed.additional_costs:
            known = ", ".join(ctx.seed.additional_costs) or "none"
            errors.append(api_error(f"unknown additional cost {name!r}", pointer=f"{base}/additionalCosts/{name}",
                                    details=f"defined: {known}"))  # fmt: skip
    for i, card in enumerate(data["loyaltyCards"]):
        if card_program(ctx, card) is None:
            errors.append(
                api_error(f"unknown or inactive loyalty card {card!r}", pointer=f"{base}/loyaltyCards/{i}")
            )
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    return lines


def totals(data: Mapping[str, Any]) -> tuple[float, float]:
    items = round(sum(item["price"] * item["quantity"] for item in data["cartItems"]), 2)
    costs = round(sum(cost["price"] for cost in data["additionalCosts"].values()), 2)
    return items, costs


def session_json(ctx: Ctx, row: Record, data: Mapping[str, Any]) -> dict[str, Any]:
    items, costs = totals(data)
    result: dict[str, Any] = {
        "id": row["id"],
        "created": row["created"],
        "integrationId": row["integration_id"],
        "applicationId": ctx.seed.application_id,
        "profileId": row["profile_id"],
        "couponCodes": data["couponCodes"],
        "loyaltyCards": data["loyaltyCards"],
        "state": row["state"],
        "cartItems": data["cartItems"],
        "additionalCosts": data["additionalCosts"],
        "identifiers": data["identifiers"],
        "attributes": data["attributes"],
        "firstSession": bool(row["first_session"]),
        "total": round(items + costs, 2),
        "cartItemTotal": items,
        "additionalCostTotal": costs,
        "updated": row["updated"],
    }
    for key in ("storeIntegrationId", "referralCode"):
        if key in data:
            result[key] = data[key]
    return result


def session_row(ctx: Ctx, integration_id: str) -> sqlite3.Row | None:
    return ctx.db.execute("SELECT * FROM sessions WHERE integration_id = ?", (integration_id,)).fetchone()  # type: ignore[no-any-return]
