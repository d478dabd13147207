"""What the property tests share: the schemathesis schema over the sandbox, the business rules
that relax one check per operation, and generation hints derived from the contract's examples.

Generation hints: the overlay gives examples for the ids that must exist (loyalty programs and cards, seeded
profiles, coupons, the referral campaign, the catalog). schemathesis mixes examples into only
one positive case in five, per parameter, so an operation that needs three of them right at
once (linking a card: program, card and profile) rarely succeeds and a stateful chain rarely
starts. The same values become schemathesis "dictionaries" bound to those parameters with a
higher probability. schemathesis uses a dictionary value only where it fits the generation
mode (positive cases take it, negative cases never do), so no check is weakened.

The examples stay the single source: this module reads them, it does not repeat them.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from contracts import HttpRequest, load_contract
from contracts.sandbox import make_app
from replay.pytest_plugin import setting

API_KEY = "sandbox-api-key"

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


def excluded_checks(case: Any) -> list[Any]:
    """The checks not to run on ``case``'s answer: positive_data_acceptance where BUSINESS_RULES
    say so; negative_data_rejection always, as ADDITIONAL_CHECKS runs it on the request as sent."""
    operation_id = case.operation.definition.raw.get("operationId")
    excluded: list[Any] = [negative_data_rejection]
    return [*excluded, positive_data_acceptance] if operation_id in BUSINESS_RULES else excluded


def negative_data_rejection_as_sent(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' negative_data_rejection, for requests that break the contract as they went
    out. A negative value can serialise into a valid one: an object put in an array query
    parameter became one string item, an empty object for ``skip`` vanished, and schemathesis
    reported the 200 to that valid request as invalid data accepted (met in a thorough run; our
    validator found nothing wrong with the request on the wire)."""
    sent = response.request
    body = sent.body.encode() if isinstance(sent.body, str) else sent.body
    request = HttpRequest(sent.method, sent.url, dict(sent.headers), body)
    if not load_contract().validator().validate_request(request):
        return None
    return negative_data_rejection(ctx, response, case)  # type: ignore[no-any-return]


ADDITIONAL_CHECKS: list[Any] = [negative_data_rejection_as_sent]


#: The pytest configuration of the run (set by this directory's conftest.py): the target is
#: chosen by the plugin's settings, before test modules build their schemas at import.
PYTEST_CONFIG: pytest.Config | None = None


def target() -> tuple[str | None, str]:
    """(base URL, API key): ``--talon-base-url``/``TALON_BASE_URL`` with ``--talon-api-key``/
    ``TALON_API_KEY`` when given, else (None, the sandbox's key) for the embedded sandbox."""
    if PYTEST_CONFIG is not None:
        base_url = setting(PYTEST_CONFIG, "base_url")
        if base_url:
            key = PYTEST_CONFIG.getoption("talon_api_key") or os.environ.get("TALON_API_KEY")
            if not key:
                raise pytest.UsageError("--talon-base-url needs --talon-api-key (or TALON_API_KEY)")
            return base_url, str(key)
    return None, API_KEY


def build_schema(max_examples: int | None = None) -> Any:
    """The contract as a schemathesis schema, with the generation hints below, positive and
    negative generation. It calls the target (see ``target``); by default a fresh sandbox's
    WSGI app, in-process, which is several times faster than a socket for the same checks."""
    document = copy.deepcopy(load_contract().document.data)
    schema = schemathesis.openapi.from_dict(
        document, config=SchemathesisConfig.from_dict(config_from_examples(document))
    )
    base_url, key = target()
    if base_url is None:
        schema.app = make_app(api_key=key)
    else:
        schema.config.update(base_url=base_url)
    schema.config.update(headers={"Authorization": f"ApiKey-v1 {key}"})
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    if max_examples is not None:
        schema.config.generation.update(max_examples=max_examples)
    schema.config.output.sanitization.update(enabled=False)
    return schema


#: How often a positive case takes a hinted value instead of a generated one.
PROBABILITY = 0.7


def operation_objects(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def config_from_examples(document: dict[str, Any], probability: float = PROBABILITY) -> dict[str, Any]:
    """A schemathesis configuration (the ``schemathesis.toml`` structure) binding every
    parameter and top-level body field with an example to a dictionary of its example values,
    and turning ``positive_data_acceptance`` off for the BUSINESS_RULES operations."""
    dictionaries: dict[str, dict[str, list[Any]]] = {}
    operations: list[dict[str, Any]] = []
    for operation in operation_objects(document):
        bindings: dict[str, Any] = {}
        for parameter in operation.get("parameters", []):
            values = [example["value"] for example in parameter.get("examples", {}).values()]
            if "example" in parameter:
                values.append(parameter["example"])
            if values:
                bindings[f"{parameter['in']}.{parameter['name']}"] = values
        for media in operation.get("requestBody", {}).get("content", {}).values():
            example = media.get("example")
            if isinstance(example, dict):
                for field, value in example.items():
                    if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
                        bindings[f"body.{field}[*]"] = value
                    elif isinstance(value, str | int) and not isinstance(value, bool):
                        bindings[f"body.{field}"] = [value]
        entry: dict[str, Any] = {"include-operation-id": operation["operationId"]}
        if bindings:
            parameters = entry["parameters"] = {}
            for key, values in bindings.items():
                name = f"{operation['operationId']}:{key}"
                dictionaries[name] = {"values": values}
                parameters[key] = {"dictionary": name, "probability": probability}
        if operation["operationId"] in BUSINESS_RULES:
            # For `st run`, which knows nothing of excluded_checks (the same rule, same reason).
            entry["checks"] = {"positive_data_acceptance": {"enabled": False}}
        if len(entry) > 1:
            operations.append(entry)
    return {"dictionaries": dictionaries, "operations": operations}
