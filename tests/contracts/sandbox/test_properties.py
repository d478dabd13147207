"""Property-based contract tests (schemathesis 4): every operation, generated valid and invalid
requests, schemathesis' default checks, against the sandbox (its WSGI app, no socket).

The number of examples comes from the Hypothesis profile (``ci`` by default, ``thorough`` for
nightly runs: ``--hypothesis-profile thorough`` or ``TALON_HYPOTHESIS_PROFILE``; see tests/conftest.py).
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from contracts import load_contract
from contracts.sandbox import make_app

#: Operations whose documented business rules answer 400 to requests the schema allows, so the
#: ``positive_data_acceptance`` check does not apply to them (every other check does). Each reason
#: is a rule the API states in prose and no schema can express.
BUSINESS_RULES: dict[str, str] = {
    "getLoyaltyCardBalances": "program 1 is profile-based: card operations on it are refused",
    "getLoyaltyCardPoints": "program 1 is profile-based: card operations on it are refused",
    "getLoyaltyCardTransactions": "program 1 is profile-based: card operations on it are refused",
    "linkLoyaltyCardToProfile": "card operations need a card-based program and an existing card",
    "getLoyaltyBalances": "program 2 is card-based: profile operations on it are refused",
    "getLoyaltyProgramProfilePoints": "program 2 is card-based: profile operations on it are refused",
    "getLoyaltyProgramProfileTransactions": "program 2 is card-based: profile operations on it are refused",
    "trackEventV2": "event types and attributes must be defined by the Application",
    "updateAudienceCustomersAttributes": "only attributes the Application defines can be written",
    "updateCustomerSessionV2": "attributes must be defined; `now` needs dry=true; closed sessions keep their profile",
    "updateCustomerProfileV2": "attributes and audiences must exist; runRuleEngine=false refuses responseContent",
    "createReferral": "only referral campaigns issue codes",
    "createReferralsForMultipleAdvocates": "only referral campaigns issue codes",
    "syncCatalog": "the catalog version must be current and ADD needs a sku",
    "updateCustomerProfilesV2": "profile attributes must be defined by the Application",
    "reopenCustomerSession": "only closed sessions can be reopened",
    "returnCartItems": "only closed sessions take returns, of items they hold",
}

API_KEY = "sandbox-api-key"
schema = schemathesis.openapi.from_dict(copy.deepcopy(load_contract().document.data))
schema.app = make_app(api_key=API_KEY)
schema.config.update(headers={"Authorization": f"ApiKey-v1 {API_KEY}"})
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=settings.default.max_examples,
)
schema.config.output.sanitization.update(enabled=False)


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Any) -> None:
    operation_id = case.operation.definition.raw.get("operationId")
    excluded = [positive_data_acceptance] if operation_id in BUSINESS_RULES else []
    case.call_and_validate(excluded_checks=excluded)


def test_every_operation_is_generated() -> None:
    operations = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert len(operations) == 28
    assert set(BUSINESS_RULES) <= operations
