"""Building minimal documents for spec-diff tests."""

from __future__ import annotations

import copy
from typing import Any

from contracts.spec import Contract, load_spec
from contracts.specdiff.model import SpecDiff
from contracts.specdiff.operations import diff_contracts

SKELETON: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}


def document(**parts: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SKELETON)
    doc.update(copy.deepcopy(parts))
    return doc


def contract(data: dict[str, Any]) -> Contract:
    return load_spec(data, warn=False)


def diff(base: dict[str, Any], revision: dict[str, Any]) -> SpecDiff:
    return diff_contracts(contract(base), contract(revision))


def body_document(direction: str, schema: Any, required: bool = False) -> dict[str, Any]:
    """An operation whose request body (or 200 answer) is an object with property ``x`` = ``schema``."""
    wrapper: dict[str, Any] = {"type": "object", "properties": {"x": schema}}
    if required:
        wrapper["required"] = ["x"]
    content = {"application/json": {"schema": wrapper}}
    plain = {"application/json": {"schema": {"type": "object"}}}
    operation: dict[str, Any] = {
        "operationId": "putThing",
        "requestBody": {"content": content if direction == "request" else plain},
        "responses": {"200": {"description": "OK", "content": content if direction == "response" else plain}},
    }
    return document(paths={"/things": {"put": operation}})
