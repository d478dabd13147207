"""Audiences and memberships.

Decision (also listed in the README): natively created audiences can be renamed and deleted too.
CreateAudienceV2 answers 409 when an audience with the same ``integrationId`` exists for the
same ``integration`` (both absent counts as the same integration).
"""

from __future__ import annotations

from typing import Any

from . import model
from .model import ApiProblem, Ctx, api_error, not_found
from .registry import operation
from .store import dumps, loads


def _audience(ctx: Ctx) -> Any:
    row = model.audience_row(ctx.db, ctx.path["audienceId"])
    if row is None:
        raise not_found("audience")
    return row


@operation("createAudienceV2")
def create_audience(ctx: Ctx) -> tuple[int, Any]:
    body = ctx.body
    integration, integration_id = body.get("integration"), body.get("integrationId")
    if integration_id is not None:
        clash = ctx.db.execute(
            "SELECT id FROM audiences WHERE integration_id = ? AND integration IS ?",
            (integration_id, integration),
        ).fetchone()
        if clash is not None:
            raise ApiProblem(
                409, f"an audience with integrationId {integration_id!r} already exists (id {clash['id']})"
            )
    data = {
        key: body[key] for key in ("description", "sandbox", "createdIn3rdParty", "lastUpdate") if key in body
    }
    cursor = ctx.db.execute(
        "INSERT INTO audiences (name, data, integration, integration_id, created) VALUES (?, ?, ?, ?, ?)",
        (body["name"], dumps(data), integration, integration_id, ctx.stamp),
    )
    row = model.audience_row(ctx.db, int(cursor.lastrowid or 0))
    return 201, model.audience_json(row, ctx.seed)  # type: ignore[arg-type]


@operation("updateAudienceV2")
def update_audience(ctx: Ctx) -> tuple[int, Any]:
    row = _audience(ctx)
    ctx.db.execute("UPDATE audiences SET name = ? WHERE id = ?", (ctx.body["name"], row["id"]))
    return 200, model.audience_json(model.audience_row(ctx.db, row["id"]), ctx.seed)  # type: ignore[arg-type]


@operation("deleteAudienceV2")
def delete_audience(ctx: Ctx) -> tuple[int, Any]:
    row = _audience(ctx)
    ctx.db.execute("DELETE FROM audience_members WHERE audience_id = ?", (row["id"],))
    ctx.db.execute("DELETE FROM audiences WHERE id = ?", (row["id"],))
    return 204, None


@operation("deleteAudienceMembershipsV2")
def delete_audience_memberships(ctx: Ctx) -> tuple[int, Any]:
    row = _audience(ctx)
    ctx.db.execute("DELETE FROM audience_members WHERE audience_id = ?", (row["id"],))
    return 204, None


@operation("updateCustomerProfileAudiences")
def update_customer_profile_audiences(ctx: Ctx) -> tuple[int, Any]:
    actions = ctx.body.get("data") or []
    blank = model.blank_ids(
        (a["profileIntegrationId"], f"/data/{i}/profileIntegrationId") for i, a in enumerate(actions)
    )
    if blank:
        raise ApiProblem(400, "Invalid request", blank)
    missing = [
        api_error(f"unknown audience {a['audienceId']}", pointer=f"/data/{i}/audienceId")
        for i, a in enumerate(actions)
        if model.audience_row(ctx.db, a["audienceId"]) is None
    ]
    if missing:
        raise ApiProblem(404, "audience not found", missing)
    for action in actions:
        profile, audience = action["profileIntegrationId"], action["audienceId"]
        if action["action"] == "add":
            model.ensure_profile(ctx, profile)
            ctx.db.execute("INSERT OR IGNORE INTO audience_members VALUES (?, ?)", (audience, profile))
        else:
            ctx.db.execute(
                "DELETE FROM audience_members WHERE audience_id = ? AND profile_integration_id = ?",
                (audience, profile),
            )
    return 204, None


@operation("updateAudienceCustomersAttributes")
def update_audience_customers_attributes(ctx: Ctx) -> tuple[int, Any]:
    row = _audience(ctx)
    attributes = ctx.body if isinstance(ctx.body, dict) else {}
    errors = model.check_attributes(ctx.seed, "audience", attributes, "")
    if errors:
        raise ApiProblem(400, "Invalid request", errors)
    members = ctx.db.execute(
        "SELECT p.integration_id, p.attributes FROM profiles p JOIN audience_members m"
        " ON m.profile_integration_id = p.integration_id WHERE m.audience_id = ?",
        (row["id"],),
    ).fetchall()
    for member in members:
        merged = loads(member["attributes"])
        merged.update(attributes)
        ctx.db.execute(
            "UPDATE profiles SET attributes = ? WHERE integration_id = ?",
            (dumps(merged), member["integration_id"]),
        )
    return 204, None
