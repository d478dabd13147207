"""What the command-line tests share: a CliRunner, the two corpus stories they replay, and a target
that answers one thing differently from the recording."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from contracts.sandbox import Sandbox

from ..helpers import CORPUS

SEED = Path(__file__).resolve().parents[3] / "contracts" / "sandbox" / "seed.yaml"
STORIES = [str(CORPUS / "checkout-coupon-referral.yaml"), str(CORPUS / "loyalty-card.yaml")]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _planted_seed() -> dict[str, Any]:
    seed = yaml.safe_load(SEED.read_text())
    seed["campaigns"][0]["name"] = "Welcome discount (2027 edition)"
    return seed


@pytest.fixture
def planted() -> Iterator[Sandbox]:
    """A target whose campaign 1 was renamed since the recording."""
    with Sandbox(seed=_planted_seed(), api_key="planted-target-key") as sandbox:
        yield sandbox


def against(target: Sandbox) -> list[str]:
    """``replay STORIES`` against ``target``, as recorded (no namespace), quietly."""
    return [
        "replay",
        *STORIES,
        "--target",
        target.base_url,
        "--api-key",
        target.api_key,
        "--quiet",
        "--no-namespace",
    ]
