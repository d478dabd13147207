"""The whole loop a team runs: its own code (plain ``requests``) against the sandbox through the
capture proxy, then the capture replayed and verified by the toolkit's own commands."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.cli import cli
from tests.replay.capture.running import capturing


def _shop(base_url: str, customer: str) -> None:
    """What a shop's checkout does, with plain requests (the key and base URL configured)."""
    talon = requests.Session()
    talon.headers["Authorization"] = "ApiKey-v1 sandbox-api-key"
    profile = talon.put(f"{base_url}/v2/customer_profiles/{customer}",
                        json={"attributes": {"Email": f"{customer}@shop.example"}})  # fmt: skip
    assert profile.ok, profile.text
    cart = [{"sku": "SKU-1", "quantity": 2, "price": 20}]
    for state in ("open", "closed"):
        answer = talon.put(f"{base_url}/v2/customer_sessions/{customer}-order",
                           json={"customerSession": {"profileId": customer, "cartItems": cart, "state": state}})  # fmt: skip
        assert answer.ok, answer.text
    assert talon.get(f"{base_url}/v1/customer_profiles/{customer}/inventory").ok


def test_capture_then_replay_then_verify(tmp_path: Path) -> None:
    out = tmp_path / "capture"
    with Sandbox() as sandbox, capturing(sandbox.base_url, out) as proxy:
        for customer in ("ana", "bob", "eve"):
            _shop(proxy.url, customer)
    (segment,) = [p for p in out.iterdir() if p.is_dir()]
    assert len(list(segment.glob("profile-*.jsonl"))) == 3  # a story a customer

    verified = CliRunner().invoke(cli, ["verify", str(segment)])
    assert verified.exit_code == 0, verified.output
    assert "12 interaction(s): all conform" in verified.output

    replayed = CliRunner().invoke(
        cli, ["replay", str(segment), "--report", f"json:{tmp_path / 'replay.json'}"]
    )
    assert replayed.exit_code == 0, replayed.output  # the capture means today what it meant then
    outcomes = json.loads((tmp_path / "replay.json").read_text())["outcomes"]
    assert len(outcomes) == 12 and {o["outcome"] for o in outcomes} <= {"same", "noise"}
