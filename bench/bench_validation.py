"""Benchmark: validations per second on the hot path, next to plain ``jsonschema``.

Run with ``make bench`` (or ``python bench/bench_validation.py [--seconds S]``). Prints, for a
realistic IntegrationStateV2 response (~4.6 KB, tests/fixtures/payloads) and for a large
loyalty card transactions page (1000 entries, ~250 KB):

* talon-contracts, schema only: ``Validator.validate_body`` on the parsed body;
* talon-contracts, full response: ``Validator.validate_response`` from bytes (status, content
  type, JSON parsing, schema);
* plain jsonschema: ``jsonschema.Draft202012Validator(...).is_valid`` on the same bundled
  schema, with its format checker (what one would write without this project);
* the detailed pass on an invalid payload (paid only when validation fails).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import jsonschema

from contracts import Contract, HttpResponse, load_contract
from contracts.validation import Validator

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "tests" / "fixtures" / "payloads" / "integration_state_v2.json"


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``fn``, measured over about ``seconds`` (after a warm-up)."""
    for _ in range(50):
        fn()
    calls, started = 0, time.perf_counter()
    batch = 100
    while True:
        for _ in range(batch):
            fn()
        calls += batch
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed
        batch = min(batch * 2, 10_000)


def transactions_page(n: int = 1000) -> dict[str, Any]:
    return {
        "hasMore": True,
        "data": [
            {
                "id": 100_000 + i,
                "created": "2026-11-20T10:15:30Z",
                "programId": 2,
                "cardIdentifier": "CARD-0001",
                "customerSessionId": f"session-{i:05d}",
                "type": "addition" if i % 3 else "subtraction",
                "name": "1 point per euro" if i % 3 else "Redeem 100 points",
                "startDate": "immediate",
                "expiryDate": "unlimited" if i % 2 else "2027-11-20T10:15:30Z",
                "subledgerId": "" if i % 4 else "beans",
                "amount": float(i % 250),
                "rulesetId": 40 + i % 7,
                "ruleName": f"Rule {i % 7}",
            }
            for i in range(n)
        ],
    }


def bench_case(
    contract: Contract, validator: Validator, title: str, op_id: str, status: int, body: Any, seconds: float
) -> None:
    raw = json.dumps(body, separators=(",", ":")).encode()
    response = HttpResponse(status, {"Content-Type": "application/json"}, raw)
    assert validator.validate_body(op_id, body, status=status) == [], "the benchmark payload must be valid"
    assert validator.validate_response(response, op_id) == []
    spec = contract.operation(op_id).response_for(status).content["application/json"]  # type: ignore[union-attr]
    bundled = contract.compiler.bundle(spec.schema, spec.schema_pointer, "response")
    plain_cls = jsonschema.Draft202012Validator
    plain = plain_cls(bundled.schema, format_checker=plain_cls.FORMAT_CHECKER)
    assert plain.is_valid(body)
    broken = json.loads(raw)
    if "effects" in broken:
        broken["effects"][0]["campaignId"] = "three"
    else:
        broken["data"][0]["amount"] = "lots"
    assert validator.validate_body(op_id, broken, status=status), "the broken payload must fail"

    ours_body = rate(partial(validator.validate_body, op_id, body, status=status), seconds)
    ours_full = rate(partial(validator.validate_response, response, op_id), seconds)
    detailed = rate(partial(validator.validate_body, op_id, broken, status=status), seconds)
    baseline = rate(partial(plain.is_valid, body), min(seconds, 2.0))
    version = importlib.metadata.version("jsonschema")
    print(f"\n{title}: {len(raw):,} bytes")
    print(f"  talon-contracts, schema only     {ours_body:>12,.0f} validations/s")
    print(f"  talon-contracts, full response   {ours_full:>12,.0f} validations/s  (bytes -> parse -> checks)")
    print(f"  talon-contracts, invalid payload {detailed:>12,.0f} validations/s  (with the detailed pass)")
    print(f"  plain jsonschema {version:<8}        {baseline:>12,.0f} validations/s")
    print(f"  speed-up (schema only)           {ours_body / baseline:>12,.0f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure (default 2)")
    args = parser.parse_args(argv)

    contract = load_contract()
    validator = Validator(contract)  # engine "auto": jsonschema-rs
    print(f"python {platform.python_version()} on {platform.machine()}, engine={validator.engine}")
    state = json.loads(STATE.read_text())
    bench_case(contract, validator, "IntegrationStateV2 (updateCustomerSessionV2 200)", "updateCustomerSessionV2",
               200, state, args.seconds)  # fmt: skip
    bench_case(contract, validator, "card transactions page, 1000 entries (getLoyaltyCardTransactions 200)",
               "getLoyaltyCardTransactions", 200, transactions_page(), args.seconds)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
