"""tools/fuzz.py (behind `make fuzz`): its inputs for `st run`, and its usage errors. The long run
itself is the nightly job, not a test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig

from contracts import load_contract
from tests.contracts.sandbox.property_setup import BUSINESS_RULES, config_from_examples

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import fuzz

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_the_written_configuration_is_the_tests_own_and_schemathesis_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fuzz, "OUT", tmp_path)
    contract, config = fuzz.write_inputs()
    expected = config_from_examples(load_contract().document.data)
    assert tomllib.loads(config.read_text(encoding="utf-8")) == expected
    loaded = SchemathesisConfig.from_path(config)  # validated by schemathesis' own schema
    assert len(loaded.projects.default.operations.operations) == len(expected["operations"])
    assert {e["include-operation-id"] for e in expected["operations"] if "checks" in e} == set(BUSINESS_RULES)
    assert '"paths"' in contract.read_text(encoding="utf-8")


def test_a_url_without_a_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALON_API_KEY", raising=False)
    with pytest.raises(SystemExit) as info:
        fuzz.main(["--url", "http://staging.example"])
    assert info.value.code == 2
