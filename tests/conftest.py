from __future__ import annotations

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
