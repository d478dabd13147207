from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from contracts import Contract, load_contract
from tests import samples

FIXTURES = Path(__file__).parent / "fixtures"
VENDOR_V6 = FIXTURES / "vendor" / "talon-integration-v6.0.0.yaml"
VENDOR_V7 = FIXTURES / "vendor" / "talon-integration-v7.0.0.yaml"


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The shipped contract (vendor v7.0.0 + our overlay)."""
    return load_contract()


@pytest.fixture
def integration_state() -> dict[str, Any]:
    """A realistic, valid IntegrationStateV2 (a fresh copy per test)."""
    return samples.integration_state()


# Hypothesis profiles for the property tests: `ci` (the default, a few minutes at most on 2 cores)
# and `thorough` (nightly: `--hypothesis-profile thorough` or TALON_HYPOTHESIS_PROFILE=thorough).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same examples on every CI run: no surprise discoveries in a pull request
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
settings.load_profile(os.environ.get("TALON_HYPOTHESIS_PROFILE", "ci"))
