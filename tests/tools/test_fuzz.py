"""tools/fuzz.py (behind `make fuzz`): its inputs for `st run`, and its usage errors. The long run
itself is the nightly job, not a test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig

from contracts import load_contract
from contracts.fuzzing import BUSINESS_RULES, contract_text, schemathesis_config, schemathesis_toml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import fuzz

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_the_written_files_are_the_packages_and_schemathesis_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One piece of code: the nightly run's inputs are what ``talon-contracts contract`` writes."""
    monkeypatch.setattr(fuzz, "OUT", tmp_path)
    monkeypatch.setenv("TALON_API_KEY", "k")
    contract, config = fuzz.write_inputs()
    document = load_contract().document.data
    assert contract.read_text(encoding="utf-8") == contract_text(document, "json")
    assert config.read_text(encoding="utf-8") == schemathesis_toml(document)
    expected = schemathesis_config(document)
    assert {
        k: v for k, v in tomllib.loads(config.read_text(encoding="utf-8")).items() if k != "headers"
    } == expected
    loaded = SchemathesisConfig.from_path(config)  # validated by schemathesis' own schema
    assert len(loaded.projects.default.operations.operations) == len(expected["operations"])
    assert {e["include-operation-id"] for e in expected["operations"] if "checks" in e} == set(BUSINESS_RULES)


def test_a_url_without_a_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALON_API_KEY", raising=False)
    with pytest.raises(SystemExit) as info:
        fuzz.main(["--url", "http://staging.example"])
    assert info.value.code == 2
