"""Stateful property tests: schemathesis chains operations along the contract's OpenAPI links
(contracts/openapi/talon-overlay.yaml) and checks every answer on the way, against the sandbox.

The operations are split into journeys, one state machine each. schemathesis starts a chain
only from an operation it expects to succeed with random data (a POST, or a GET without path
parameters) and falls back to the other link sources only when a machine has none. A session
or a profile is created by PUT with an id the client chooses, so each gets a journey of its
own in which that PUT is the start. Every operation is in a journey and in a link (the last
test checks both); which operations the machines actually called is on the session's coverage
line (talon_coverage).

Chains per journey follow the Hypothesis profile (tests/conftest.py); a chain has at most 10 steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings

from contracts import load_contract
from contracts.fuzzing import operation_objects
from replay.pytest_plugin import OperationCoverage

from .property_setup import ADDITIONAL_CHECKS, build_schema, excluded_checks

#: A path value as schemathesis generates it: unreserved characters and %XX escapes only. Any
#: other value came from a link, unencoded. (A raw value that happens to look encoded, "a%41",
#: is sent as it is.)
_ENCODED = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*")

#: journey -> the operations its state machine may call (roots are found by schemathesis).
JOURNEYS: dict[str, tuple[str, ...]] = {
    "session": ("updateCustomerSessionV2", "getCustomerSession", "returnCartItems", "reopenCustomerSession"),
    "referral": ("createReferral", "updateCustomerSessionV2", "getCustomerSession", "returnCartItems"),
    # schemathesis does not count the batch as a reliable start next to createReferral, so it
    # starts a journey of its own.
    "referral-batch": (
        "createReferralsForMultipleAdvocates",
        "updateCustomerSessionV2",
        "getCustomerSession",
    ),
    "audience": (
        "createAudienceV2",
        "updateAudienceV2",
        "deleteAudienceV2",
        "deleteAudienceMembershipsV2",
        "updateAudienceCustomersAttributes",
        "updateCustomerProfileAudiences",
    ),
    "loyalty-card": (
        "linkLoyaltyCardToProfile",
        "getLoyaltyCardBalances",
        "getLoyaltyCardPoints",
        "getLoyaltyCardTransactions",
    ),
    "profile": (
        "updateCustomerProfilesV2",
        "updateCustomerProfileV2",
        "getCustomerInventory",
        "getLoyaltyBalances",
        "getLoyaltyProgramProfilePoints",
        "getLoyaltyProgramProfileTransactions",
        "trackEventV2",
        "deleteCustomerData",
    ),
    "coupon-reservation": ("createCouponReservation", "getReservedCustomers", "deleteCouponReservation"),
    "catalog": ("syncCatalog",),
}


ALL_OPERATIONS: tuple[str, ...] = tuple(dict.fromkeys(op for ops in JOURNEYS.values() for op in ops))


def _machine(journey: str, exercised: Callable[[str], None]) -> Any:
    schema = build_schema()
    # `exclude` rather than `include`: a configuration with per-operation settings adds an
    # include filter of its own that matches everything, and includes are or-ed.
    others = [op for op in ALL_OPERATIONS if op not in JOURNEYS[journey]]
    base = schema.exclude(operation_id=others).as_state_machine()

    class Journey(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # Each scenario starts from the seed: Hypothesis replays scenarios while shrinking,
            # and one that depended on an earlier scenario's leftovers would not replay alike.
            app = getattr(self.schema, "app", None)
            if app is not None:  # the embedded sandbox; a real target keeps its state
                app.store.reset()

        def before_call(self, case: Any) -> None:
            # schemathesis percent-encodes the path values it generates, but puts a value a link
            # took from an earlier body into the path as it is: a profile id "/x1" sent
            # PUT /v2/customer_profiles//x1 (found by the thorough run). A client encodes it.
            for name, value in (case.path_parameters or {}).items():
                if isinstance(value, str) and not _ENCODED.fullmatch(value):
                    case.path_parameters[name] = quote(value, safe="")

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            exercised(case.operation.definition.raw["operationId"])

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            # The same relaxation as the stateless tests, for the same documented reasons.
            case.validate_response(
                response,
                additional_checks=[*(additional_checks or ()), *ADDITIONAL_CHECKS],
                excluded_checks=excluded_checks(case),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    Journey.__name__ = f"Journey_{journey.replace('-', '_')}"
    return Journey


@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_journey_keeps_the_contract(journey: str, talon_coverage: OperationCoverage) -> None:
    profile = settings.default
    _machine(journey, talon_coverage.record).run(
        settings=settings(
            max_examples=profile.max_examples,
            stateful_step_count=10,
            deadline=None,
            derandomize=profile.derandomize,
            database=None if profile.derandomize else profile.database,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_every_operation_is_in_a_journey_and_linked() -> None:
    operations = {op["operationId"]: op for op in operation_objects(load_contract().document.data)}
    linked: set[str] = set()
    for operation_id, operation in operations.items():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                linked.update((operation_id, link["operationId"]))
    in_journeys = {operation_id for ops in JOURNEYS.values() for operation_id in ops}
    assert in_journeys == set(operations), sorted(set(operations) ^ in_journeys)
    assert linked == set(operations), sorted(set(operations) - linked)


def test_negative_data_is_judged_on_the_request_as_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A negative case whose invalid value serialised into a valid request (the thorough run's
    `subledgerId` object) is not judged at all; a request invalid on the wire goes to
    schemathesis' negative_data_rejection."""
    from . import property_setup

    consulted: list[Any] = []

    def delegate(ctx: Any, response: Any, case: Any) -> bool:
        consulted.append(case)
        return True

    monkeypatch.setattr(property_setup, "negative_data_rejection", delegate)
    operation = build_schema()["/v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/points"]["GET"]
    path = {"loyaltyProgramId": 2, "loyaltyCardId": "CARD-0001"}
    auth = {"Authorization": f"ApiKey-v1 {property_setup.API_KEY}"}

    valid_on_the_wire = operation.Case(path_parameters=path, query={"subledgerId": "{'a': {}}"}, headers=auth)
    response = valid_on_the_wire.call()
    assert response.status_code == 200
    assert property_setup.negative_data_rejection_as_sent(None, response, valid_on_the_wire) is None
    assert consulted == []

    invalid = operation.Case(path_parameters=path, query={"pageSize": "0"}, headers=auth)
    response = invalid.call()
    assert response.status_code == 400
    assert property_setup.negative_data_rejection_as_sent(None, response, invalid) is True
    assert consulted == [invalid]
