"""Sandbox fixtures: one server per test session, reset to the seed before each test.

Every call goes through the foundation's client in strict mode, so every answer the sandbox
gives in these tests is checked against the contract; error answers are checked by ``fails``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from contracts import Contract, HttpResponse, load_contract
from contracts.client import ApiError, IntegrationClient
from contracts.sandbox import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    # The property tests build their schemathesis schema at import, from the plugin's settings.
    from . import property_setup

    property_setup.PYTEST_CONFIG = config


@pytest.fixture(scope="session")
def running_sandbox(contract: Contract) -> Iterator[Sandbox]:
    with Sandbox(contract=contract) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: Sandbox) -> Sandbox:
    running_sandbox.reset()
    return running_sandbox


@pytest.fixture
def api(sandbox: Sandbox, contract: Contract) -> Iterator[IntegrationClient]:
    """Checks every request it sends and every answer it gets against the contract."""
    with IntegrationClient(
        sandbox.base_url, sandbox.api_key, contract=contract, validate="strict", retries=0
    ) as client:
        yield client


@pytest.fixture
def raw(sandbox: Sandbox, contract: Contract) -> Iterator[IntegrationClient]:
    """Sends what it is given, invalid requests included (to test the sandbox's 400s)."""
    with IntegrationClient(
        sandbox.base_url, sandbox.api_key, contract=contract, validate="off", retries=0
    ) as client:
        yield client


def fails(call: Callable[[], Any], status: int) -> ApiError:
    """Run ``call``, expect an ApiError with ``status`` whose answer conforms to the contract."""
    with pytest.raises(ApiError) as info:
        call()
    error = info.value
    assert error.status == status, str(error)
    validator = load_contract().validator()
    assert validator.validate_response(error.api_response.as_http(), error.operation_id) == []
    return error


def effect_types(effects: list[dict[str, Any]]) -> list[str]:
    return [e["effectType"] for e in effects]


def session(
    api: IntegrationClient, sid: str, *, profile: str = "cust-1", items: list[dict[str, Any]] | None = None,
    state: str = "open", wanted: tuple[str, ...] = (), **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    """Update a session and return the IntegrationStateV2."""
    body = {"customerSession": {"profileId": profile, "cartItems": items or [], "state": state, **fields}}
    if wanted:
        body["responseContent"] = list(wanted)
    return api.update_customer_session_v2(sid, body).data  # type: ignore[no-any-return]


BEANS = {"sku": "SKU-BEANS-1KG", "quantity": 2}  # 2 x 24.90 from the catalog
CUPS = {"sku": "SKU-CUP-WHITE", "quantity": 4}  # 4 x 7.50, 20% off per item
FROTHER = {"sku": "SKU-FROTHER", "quantity": 1}  # 59.00, free sample


def send(sandbox: Sandbox, method: str, target: str, body: Any = None, *, headers: dict[str, str] | None = None,
         auth: bool = True) -> requests.Response:  # fmt: skip
    """A raw HTTP request (anything at all); the answer is checked against the contract when it is
    an operation's answer."""
    sent_headers = {"Authorization": f"ApiKey-v1 {sandbox.api_key}"} if auth else {}
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    if data is not None and not isinstance(body, (bytes, str)):
        sent_headers["Content-Type"] = "application/json"
    sent_headers.update(headers or {})
    response = requests.request(
        method, sandbox.base_url + target, data=data, headers=sent_headers, timeout=10
    )
    contract = load_contract()
    match = contract.find(method, target)
    if match is not None:
        answer = HttpResponse(response.status_code, dict(response.headers), response.content)
        assert contract.validator().validate_response(answer, match.operation) == [], response.text
    return response
