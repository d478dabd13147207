"""ReturnCartItems: units of a closed session's cart come back.

Each returned unit rolls back its share of what the close committed for its cart line (line
discounts, line points), the profile's sales go down by the units' value, and the session becomes
``partially_returned``; it can take further returns and can still be reopened.
"""

from __future__ import annotations

from typing import Any

from .commitments import commitment, rollback, sales_change
from .integration_state import integration_state, returns_json
from .journal import insert_event
from .model import ApiProblem, Ctx, api_error, bad_request, not_found
from .registry import operation
from .session_data import session_row
from .store import dumps, loads

__all__ = ["return_cart_items"]


@operation("returnCartItems")
def return_cart_items(ctx: Ctx) -> tuple[int, Any]:
    integration_id = ctx.path["customerSessionId"]
    wanted = list(ctx.body.get("responseContent") or [])
    row = session_row(ctx, integration_id)
    if row is None:
        raise not_found("customer session")
    if row["state"] not in ("closed", "partially_returned"):
        raise bad_request(f"items can only be returned from a closed session; this one is {row['state']}")
    data = loads(row["data"])
    items = data["cartItems"]
    returned, recorded = _requested(items, ctx.body["return"]["returnedCartItems"])
    committed = commitment(row)
    # shares of what each line held when the session closed (the effects were computed on that)
    shares = {
        p: (units, committed["units"].get(str(p), items[p]["quantity"])) for p, units in returned.items()
    }
    effects = rollback(ctx, integration_id, row["profile_id"], committed, mode="return", returned=shares)
    value = 0.0
    for position, units in returned.items():
        item = items[position]
        item["returnedQuantity"] = item.get("returnedQuantity", 0) + units
        item["remainingQuantity"] = item["quantity"] - item["returnedQuantity"]
        value += item["price"] * units
    sales_change(ctx, row["profile_id"], 0, -round(value, 2))
    event_id = insert_event(
        ctx,
        "talon_session_partially_returned",
        row["profile_id"],
        integration_id,
        data["attributes"],
        effects,
    )
    cursor = ctx.db.execute(
        "INSERT INTO returns (session_integration_id, event_id, created, items) VALUES (?, ?, ?, ?)",
        (integration_id, event_id, ctx.stamp, dumps(recorded)),
    )
    ctx.db.execute(
        "UPDATE sessions SET state = 'partially_returned', updated = ?, data = ?, committed = ?"
        " WHERE integration_id = ?",
        (ctx.stamp, dumps(data), dumps(committed), integration_id),
    )
    row = session_row(ctx, integration_id)
    assert row is not None
    this_return = next(r for r in returns_json(ctx, row) if r["id"] == cursor.lastrowid)
    return 200, integration_state(ctx, effects=effects, row=row, data=data, outcome=None, wanted=wanted,
                                  event_id=event_id, extra={"return": this_return})  # fmt: skip


def _requested(
    items: list[dict[str, Any]], requested: list[dict[str, Any]]
) -> tuple[dict[int, int], list[dict[str, int]]]:
    """(units returned per position, the return as recorded); a 400 for units the cart does not have."""
    errors: list[dict[str, Any]] = []
    returned: dict[int, int] = {}
    recorded: list[dict[str, int]] = []
    for i, entry in enumerate(requested):
        position = entry["position"]
        where = f"/return/returnedCartItems/{i}"
        if not 0 <= position < len(items):
            errors.append(api_error(f"no cart item at position {position}", pointer=f"{where}/position"))
            continue
        item = items[position]
        left = item["quantity"] - item.get("returnedQuantity", 0) - returned.get(position, 0)
        units = entry.get("quantity", left)
        if units < 1 or units > left:
            errors.append(api_error(f"position {position} has {left} unit(s) left to return, not {units}",
                                    pointer=f"{where}/quantity"))  # fmt: skip
            continue
        returned[position] = returned.get(position, 0) + units
        recorded.append({"position": position, "quantity": units})
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    return returned, recorded
