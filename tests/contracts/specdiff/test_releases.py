"""The spec diff on real vendor releases, against reviewed expected-changes lists
(tests/fixtures/specdiff/expected/: each list says how it was reviewed)."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.documents import parse_document
from contracts.spec import Contract, load_contract, load_spec
from contracts.specdiff.operations import Scope, diff_contracts

FIXTURES = Path(__file__).parents[2] / "fixtures"
RELEASES = FIXTURES / "vendor" / "releases"
EXPECTED = FIXTURES / "specdiff" / "expected"


@cache
def release(version: str) -> Contract:
    raw = gzip.decompress((RELEASES / f"talon-v{version}.yaml.gz").read_bytes())
    return load_spec(parse_document(raw, source=f"talon-v{version}.yaml"), warn=False)


def _as_rows(changes: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (c["rule"], c["level"], c["operation"], c["location"], c["message"], c["old_line"], c["new_line"])
        for c in changes
    )


@pytest.mark.parametrize(
    ("old", "new", "scope", "expected"),
    [
        ("6.0.0", "7.0.0", "contract", "v6.0.0-v7.0.0.yaml"),
        ("6.0.0", "7.0.0", "all", "v6.0.0-v7.0.0-all.yaml"),
        ("5.0.0", "6.0.0", "contract", "v5.0.0-v6.0.0.yaml"),
        ("4.0.0", "5.0.0", "contract", "v4.0.0-v5.0.0.yaml"),
    ],
)
def test_real_release_pair_matches_the_reviewed_list(old: str, new: str, scope: str, expected: str) -> None:
    reviewed = yaml.safe_load((EXPECTED / expected).read_text())["changes"]
    found = diff_contracts(
        release(old), release(new), scope=None if scope == "all" else Scope.of(load_contract())
    )
    got = [
        {"rule": c.rule_id, "level": str(c.level), "operation": c.operation_id, "location": c.location,
         "message": c.message, "old_line": c.old.line if c.old else None, "new_line": c.new.line if c.new else None}
        for c in found.changes
    ]  # fmt: skip
    assert _as_rows(got) == _as_rows(reviewed)


def test_the_shipped_subsets_give_the_same_changes_as_the_whole_releases() -> None:
    """The 28-operation subsets in tests/fixtures/vendor carry every fact the whole releases hold for them."""
    subset = diff_contracts(load_spec(FIXTURES / "vendor" / "talon-integration-v6.0.0.yaml", warn=False),
                            load_spec(FIXTURES / "vendor" / "talon-integration-v7.0.0.yaml", warn=False))  # fmt: skip
    whole = diff_contracts(release("6.0.0"), release("7.0.0"), scope=Scope.of(load_contract()))
    assert sorted(c.key for c in subset.changes) == sorted(c.key for c in whole.changes)


def test_a_release_compared_with_itself_has_no_changes() -> None:
    assert diff_contracts(release("7.0.0"), release("7.0.0")).changes == []
