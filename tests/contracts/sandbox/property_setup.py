"""What the property tests share: the schemathesis schema over the sandbox, the business rules
that relax one check per operation, and generation hints derived from the contract's examples.

The hints and the business rules are the package's (``contracts.fuzzing``), which also writes them
as ``schemathesis.toml`` for ``st run`` (``talon-contracts contract --schemathesis-config``): the
tests and ``st run`` get the same ones. What only the tests have is here: the checks' harness
(``excluded_checks``, ``negative_data_rejection_as_sent``) and the choice of target.
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
from contracts.fuzzing import BUSINESS_RULES, schemathesis_config
from contracts.sandbox import make_app
from replay.pytest_plugin import setting

API_KEY = "sandbox-api-key"


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
    """The contract as a schemathesis schema, with the package's generation hints, positive and
    negative generation. It calls the target (see ``target``); by default a fresh sandbox's
    WSGI app, in-process, which is several times faster than a socket for the same checks."""
    document = copy.deepcopy(load_contract().document.data)
    schema = schemathesis.openapi.from_dict(
        document, config=SchemathesisConfig.from_dict(schemathesis_config(document))
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
