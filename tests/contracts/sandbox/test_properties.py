"""Property-based contract tests (schemathesis 4): every operation, generated valid and invalid
requests, schemathesis' default checks, against the sandbox (its WSGI app, no socket).

The number of examples comes from the Hypothesis profile (``ci`` by default, ``thorough`` for
nightly runs: ``--hypothesis-profile thorough`` or ``TALON_HYPOTHESIS_PROFILE``; see tests/conftest.py).
The schema, the generation hints and the per-operation business rules are in property_setup.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings

from .property_setup import ADDITIONAL_CHECKS, BUSINESS_RULES, build_schema, excluded_checks

schema = build_schema(max_examples=settings.default.max_examples)


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Any) -> None:
    case.call_and_validate(excluded_checks=excluded_checks(case), additional_checks=ADDITIONAL_CHECKS)


def test_every_operation_is_generated() -> None:
    operations = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert len(operations) == 28
    assert set(BUSINESS_RULES) <= operations
