"""Renderers: turn outcome dataclasses into text or JSON. No logic lives here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contracts import Contract, LoadIssue

__all__ = ["ContractCheck", "render_contract_check"]


@dataclass(slots=True)
class ContractCheck:
    """Outcome of ``talon-contracts validate``."""

    source: str
    overlay: str | None
    title: str = ""
    version: str = ""
    openapi: str = ""
    operations: list[dict[str, Any]] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return 2 if self.error else 0

    @classmethod
    def of(cls, contract: Contract) -> ContractCheck:
        return cls(
            source=contract.source,
            overlay=contract.overlay.source if contract.overlay else None,
            title=contract.title,
            version=contract.version,
            openapi=contract.openapi_version,
            operations=[
                {
                    "operationId": op.operation_id,
                    "method": op.method,
                    "path": op.path,
                    "statuses": list(op.statuses),
                }
                for op in contract
            ],
            issues=list(contract.issues),
        )


def render_contract_check(check: ContractCheck, fmt: str = "text") -> tuple[str, str]:
    """(stdout, stderr) for a contract check."""
    if fmt == "json":
        payload = {
            "source": check.source,
            "overlay": check.overlay,
            "title": check.title,
            "version": check.version,
            "openapi": check.openapi,
            "operations": check.operations,
            "issues": [
                {"source": i.source, "pointer": i.pointer, "line": i.line, "message": i.message}
                for i in check.issues
            ],
            "error": check.error,
        }
        return json.dumps(payload, indent=2) + "\n", ""
    err = "".join(f"warning: {issue}\n" for issue in check.issues)
    if check.error:
        return "", err + f"error: {check.error}\n"
    lines = [
        f"{check.title or '(untitled)'} {check.version or ''}".rstrip()
        + f" — OpenAPI {check.openapi}, {len(check.operations)} operations",
        f"  contract: {check.source}",
        f"  overlay:  {check.overlay or '(none)'}",
        "",
    ]
    width_m = max((len(o["method"]) for o in check.operations), default=0)
    width_id = max((len(o["operationId"]) for o in check.operations), default=0)
    for o in check.operations:
        lines.append(
            f"  {o['method']:<{width_m}}  {o['operationId']:<{width_id}}  {o['path']}  [{' '.join(o['statuses'])}]"
        )
    if check.issues:
        lines += ["", f"{len(check.issues)} quirk(s) tolerated (details on stderr)."]
    return "\n".join(lines) + "\n", err
