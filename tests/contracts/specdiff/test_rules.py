"""Every rule of the spec diff: a minimal base/revision pair reports exactly its rule id, and the table
is symmetric (each rule has its mirror, or says why not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.specdiff.rules import FACETS, ONE_DIRECTION, RULES, Level, UnknownRule, rule
from tests.contracts.specdiff.helpers import body_document, diff, document

FIXTURES = Path(__file__).parents[2] / "fixtures" / "specdiff"
FACET_CASES: dict[str, Any] = yaml.safe_load((FIXTURES / "facets.yaml").read_text())
OPERATION_CASES: dict[str, Any] = {
    k: v
    for k, v in yaml.safe_load((FIXTURES / "operations.yaml").read_text()).items()
    if not k.startswith("x-")
}


@pytest.mark.parametrize("direction", ["request", "response"])
@pytest.mark.parametrize("facet", sorted(FACET_CASES))
def test_facet_reports_exactly_its_rule(facet: str, direction: str) -> None:
    case = FACET_CASES[facet]
    required = bool(case.get("required"))
    base = body_document(direction, case["base"], required)
    revision = body_document(direction, case["revision"], required)
    expected = case.get("expect", {}).get(direction, [f"{direction}-{facet}"])
    found = diff(base, revision)
    assert sorted({c.rule_id for c in found.changes}) == sorted(expected), [c.message for c in found.changes]
    for change in found.changes:
        assert change.location.startswith(
            f"{direction} body/x" if direction == "request" else "response 200 body/x"
        )
        assert change.old is not None and change.new is not None


@pytest.mark.parametrize("case_id", sorted(OPERATION_CASES))
def test_operation_case_reports_exactly_its_rules(case_id: str) -> None:
    case = OPERATION_CASES[case_id]
    found = diff(document(**case["base"]), document(**case["revision"]))
    assert sorted({c.rule_id for c in found.changes}) == sorted(case.get("expect", [case_id])), [
        (c.rule_id, c.message) for c in found.changes
    ]


def test_the_reverse_of_each_case_reports_the_mirror() -> None:
    """Swapping base and revision turns each rule into its mirror (where one exists)."""
    for facet, case in FACET_CASES.items():
        for direction in ("request", "response"):
            expected = case.get("expect", {}).get(direction, [f"{direction}-{facet}"])
            mirror = RULES[expected[0]].mirror if expected else None
            if mirror is None:
                continue
            required = bool(case.get("required"))
            found = diff(body_document(direction, case["revision"], required),
                         body_document(direction, case["base"], required))  # fmt: skip
            assert [c.rule_id for c in found.changes] == [mirror], (facet, direction)
    for case_id, case in OPERATION_CASES.items():
        mirror = RULES[case_id].mirror
        if mirror is None:
            continue
        found = diff(document(**case["revision"]), document(**case["base"]))
        assert [c.rule_id for c in found.changes] == [mirror], case_id


def test_every_rule_has_a_fixture() -> None:
    covered = set(OPERATION_CASES)
    for facet, case in FACET_CASES.items():
        for direction in ("request", "response"):
            covered.update(case.get("expect", {}).get(direction, [f"{direction}-{facet}"]))
    assert sorted(set(RULES) - covered) == []
    assert sorted(covered - set(RULES)) == []


def test_every_rule_has_its_mirror_or_says_why_not() -> None:
    for r in RULES.values():
        if r.mirror is None:
            assert r.no_mirror, f"{r.id} has no mirror and no reason"
        else:
            assert r.mirror in RULES, r.id
            assert RULES[r.mirror].mirror == r.id, f"{r.id} -> {r.mirror} is not mutual"


def test_schema_rules_exist_in_both_directions() -> None:
    for facet in FACETS:
        assert f"request-{facet}" in RULES and f"response-{facet}" in RULES
    for r in RULES:
        direction, _, rest = r.partition("-")
        if direction in ("request", "response") and rest in FACETS:
            continue
        if (
            r.startswith("response-required-nullable")
            or "read-only" in r
            or "write-only" in r
            or "closed-object" in r
        ):
            assert r in ONE_DIRECTION
    for r, why in ONE_DIRECTION.items():
        assert r in RULES and why


def test_levels_follow_the_client_side_of_the_wire() -> None:
    """Narrowing a request and widening a response break clients; the opposites do not."""
    assert rule("request-required-property-added").level is Level.ERR
    assert rule("response-required-property-added").level is Level.INFO
    assert rule("request-enum-value-removed").level is Level.ERR
    assert rule("response-enum-value-removed").level is Level.INFO
    assert rule("response-enum-value-added").level is Level.ERR  # the SDK refuses unknown values
    assert rule("request-enum-value-added").level is Level.INFO
    assert rule("response-property-added").level is Level.INFO
    assert rule("response-property-became-optional").level is Level.ERR
    assert rule("response-nullable-added").level is Level.WARN
    assert rule("response-required-nullable-added").level is Level.ERR
    for facet in ("max", "min", "max-length", "min-length", "max-items", "min-items"):
        assert rule(f"request-{facet}-tightened").level is Level.ERR
        assert rule(f"request-{facet}-loosened").level is Level.INFO
        assert rule(f"response-{facet}-loosened").level is Level.ERR
        assert rule(f"response-{facet}-tightened").level is Level.INFO


def test_unknown_rule_suggests_the_closest() -> None:
    with pytest.raises(UnknownRule, match=r"did you mean response-enum-value-added"):
        rule("response-enum-value-adde")
    with pytest.raises(LookupError):
        rule("nothing-like-it-at-all")
