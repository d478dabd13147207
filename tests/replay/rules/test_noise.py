"""replay.rules.noise: the pattern language, compiled matchers, rules, rules files and the built-in rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.errors import TalonContractsError
from replay.rules.noise import NoiseRule, NoiseRules, NoiseRulesError, write_rules

# --------------------------------------------------------------------------- the pattern language


def test_operations_restrict_a_rule() -> None:
    rule = NoiseRule("$.id", "generated", frozenset({"createReferral"}))
    assert rule.matches("createReferral", ("id",))
    assert not rule.matches("syncCatalog", ("id",))
    assert not rule.matches(None, ("id",))  # an exchange of no known operation
    assert not rule.matches("createReferral", ("code",))
    everywhere = NoiseRule("$.id", "generated")
    assert everywhere.matches(None, ("id",)) and everywhere.matches("syncCatalog", ("id",))


def test_rules_match_in_order_and_per_operation() -> None:
    specific = NoiseRule("$.id", "referral ids", frozenset({"createReferral"}))
    general = NoiseRule("$..id", "every id")
    rules = NoiseRules([specific, general])
    assert rules.match("createReferral", ("id",)) is specific
    assert rules.match("syncCatalog", ("id",)) is general
    assert rules.match("syncCatalog", ("name",)) is None
    assert rules.match(None, ("a", 0, "id")) is general
    assert len(rules) == 2 and list(rules) == [specific, general]
    combined = NoiseRules([specific]) + NoiseRules([general])
    assert list(combined) == [specific, general]


def test_a_rule_needs_a_reason_a_valid_pattern_and_a_set_of_operations() -> None:
    with pytest.raises(ValueError, match="reason is required"):
        NoiseRule("$.id", "  ")
    with pytest.raises(ValueError, match="at position 2"):
        NoiseRule("$.", "why")
    with pytest.raises(TypeError, match="not a string"):
        NoiseRule("$.id", "why", "createReferral")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown value kind"):
        NoiseRule("$.id", "why", values="date")
    coerced = NoiseRule("$.id", "why", ["a", "b"])  # type: ignore[arg-type]
    assert coerced.operations == frozenset({"a", "b"})
    assert hash(coerced) == hash(NoiseRule("$.id", "why", frozenset({"a", "b"})))


def test_timestamp_rules_cover_only_date_times() -> None:
    rule = NoiseRule("$..startDate", "clock", values="timestamp")
    assert rule.covers("2026-03-16T09:00:04Z")
    assert rule.covers("2026-03-02T09:00:04.000Z")
    assert rule.covers("2026-03-02T09:00:04+01:00")
    assert rule.covers("2026-03-02")
    assert not rule.covers("immediate")
    assert not rule.covers(None)
    assert not rule.covers(1772442004)
    assert NoiseRule("$.id", "any value").covers(None)


# --------------------------------------------------------------------------- the built-in rules


GOOD_RULES = """\
# rules for our staging tenant
version: 1
rules:
  - path: "$..lastActivity"
    reason: "set by the server on every write"
    operations: [updateCustomerSessionV2]
  - path: "$['weird.key'][*]"
    reason: a field whose name holds a dot
  - path: $..startDate
    reason: clock
    values: timestamp
"""


def test_a_rules_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "noise.yaml"
    path.write_text(GOOD_RULES)
    rules = list(NoiseRules.load(path))
    assert [r.pattern for r in rules] == ["$..lastActivity", "$['weird.key'][*]", "$..startDate"]
    assert rules[0].operations == frozenset({"updateCustomerSessionV2"})
    assert rules[1].operations is None and rules[1].reason == "a field whose name holds a dot"
    assert rules[2].values == "timestamp"
    assert {r.source for r in rules} == {str(path)}
    loaded = NoiseRules.load(str(path))  # str paths too
    assert loaded.match("updateCustomerSessionV2", ("customerProfile", "lastActivity")) is not None
    assert loaded.match("getCustomerSession", ("customerProfile", "lastActivity")) is None


def test_a_json_rules_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    path.write_text(json.dumps({"version": 1, "rules": [{"path": "$..etag", "reason": "a hash"}]}))
    (rule,) = NoiseRules.load(path)
    assert (rule.pattern, rule.reason, rule.operations) == ("$..etag", "a hash", None)


def test_an_empty_rules_list_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "none.yaml"
    path.write_text("version: 1\nrules: []\n")
    assert len(NoiseRules.load(path)) == 0


def _rule_file(*rules: str) -> str:
    return "version: 1\nrules:\n" + "".join(rules)


GOOD = "  - path: $.a\n    reason: fine\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["the file is empty"]),
        ("- path: $.a\n", ["expected a mapping with 'version' and 'rules', found a list"]),
        ("version: 1\nrule: []\n", ["unknown top-level key 'rule'", "did you mean 'rules'?"]),
        ("version: 2\nrules: []\n", ["unsupported version 2"]),
        ("version: 1\n", ["no 'rules' list"]),
        ("version: 1\nrules: {path: $.a}\n", ["'rules' must be a list, found a mapping"]),
        ("version: 1\nrules:\n  - path: [$.a\n", ["not valid YAML"]),
        (
            _rule_file(GOOD, GOOD, "  - pth: $.a\n    reason: typo\n"),
            [
                ":7: rule 3:",
                "unknown key 'pth'",
                "(valid: path, reason, operations, values)",
                "did you mean 'path'?",
            ],
        ),
        (_rule_file(GOOD, "  - reason: no path\n"), [":5: rule 2:", "missing 'path'"]),
        (_rule_file("  - path: $.a\n"), ["rule 1:", "missing 'reason'"]),
        (_rule_file("  - path: $.a\n    reason: ''\n"), ["rule 1:", "'reason' is empty"]),
        (
            _rule_file("  - path: 3\n    reason: number\n"),
            ["rule 1:", "'path' must be a string, found a number"],
        ),
        (
            _rule_file(GOOD, '  - path: "$.a[01]"\n    reason: bad\n'),
            ["rule 2:", "invalid path pattern '$.a[01]' at position 4", "no leading zeros"],
        ),
        (
            _rule_file("  - path: $.a\n    reason: r\n    operations: getCustomerSession\n"),
            ["rule 1:", "'operations' must be a list of operation ids, e.g. [getCustomerSession]"],
        ),
        (
            _rule_file("  - path: $.a\n    reason: r\n    operations: [1, 2]\n"),
            ["rule 1:", "'operations' must be a list of operation ids"],
        ),
        (_rule_file("  - path: $.a\n    reason: r\n    operations: []\n"), ["'operations' is empty"]),
        (_rule_file("  - path: $.a\n    reason: r\n    values: date\n"), ["unknown 'values' kind 'date'"]),
        (
            _rule_file("  - $.a\n"),
            ["rule 1:", "a rule is a mapping with 'path' and 'reason', found a string"],
        ),
    ],
)
def test_rules_file_errors_explain_the_near_miss(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "noise.yaml"
    path.write_text(text)
    with pytest.raises(NoiseRulesError) as caught:
        NoiseRules.load(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message
    assert isinstance(caught.value, TalonContractsError) and isinstance(caught.value, ValueError)


def test_a_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "noise.yaml"
    path.write_text(_rule_file(GOOD, "  - path: $.b\n    reason: [unclosed\n"))
    with pytest.raises(NoiseRulesError) as caught:
        NoiseRules.load(path)
    assert caught.value.line is not None and caught.value.line >= 6
    assert f"{path}:{caught.value.line}: not valid YAML" in str(caught.value)


def test_a_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(NoiseRulesError, match="cannot read the noise rules") as caught:
        NoiseRules.load(tmp_path / "absent.yaml")
    assert caught.value.source == str(tmp_path / "absent.yaml")


def test_write_rules_round_trips(tmp_path: Path) -> None:
    rules = [
        NoiseRule("$..lastActivity", "set by the server: on every write", frozenset({"b", "a"}), "learned"),
        NoiseRule("$['odd \"key\"'][*]", "quotes, colons: and # hashes", values="timestamp"),
        NoiseRule("$.data[0].id", "one location"),
    ]
    path = tmp_path / "rules" / "learned.yaml"
    write_rules(path, rules, header="learned from 2 runs\n\nby talon-contracts")
    text = path.read_text()
    assert text.startswith("# learned from 2 runs\n#\n# by talon-contracts\n")
    assert "  - path: $..lastActivity\n" in text
    assert "    operations:\n      - a\n      - b\n" in text  # sorted: stable files, readable diffs
    loaded = list(NoiseRules.load(path))
    assert [(r.pattern, r.reason, r.operations, r.values) for r in loaded] == [
        (r.pattern, r.reason, r.operations, r.values) for r in rules
    ]
    assert {r.source for r in loaded} == {str(path)}
    assert [p.name for p in path.parent.iterdir()] == ["learned.yaml"]  # no temporary file left behind


def test_write_rules_without_a_header_and_with_no_rules(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    write_rules(path, [])
    assert path.read_text() == "version: 1\nrules: []\n"
    assert len(NoiseRules.load(path)) == 0


def test_id_rules_cover_only_what_looks_like_an_id() -> None:
    rule = NoiseRule("$..id", "numbered by the server", values="id")
    assert rule.covers(41) and rule.covers("c0ffee-12") and rule.covers("REF-2B9H")
    assert (
        not rule.covers(True)
        and not rule.covers(4.5)
        and not rule.covers("two words")
        and not rule.covers(None)
    )
