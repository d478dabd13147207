"""replay.engine.noise: the pattern language, compiled matchers, rules, rules files and the built-in rules."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from contracts.errors import TalonContractsError
from replay.engine.noise import (
    BUILTIN,
    NoiseRule,
    NoiseRules,
    NoiseRulesError,
    PathMatcher,
    PathPattern,
    Token,
    pattern_for,
    write_rules,
)

# --------------------------------------------------------------------------- the pattern language


@pytest.mark.parametrize(
    ("pattern", "location", "expected"),
    [
        # the root
        ("$", (), True),
        ("$", ("a",), False),
        # dot and bracket member names
        ("$.a", ("a",), True),
        ("$.a", ("a", "b"), False),
        ("$.a", ("b",), False),
        ("$.a.b", ("a", "b"), True),
        ("$['a']", ("a",), True),
        ('$["a"]', ("a",), True),
        ("$.naïve", ("naïve",), True),
        ("$._x1", ("_x1",), True),
        # quoted names may hold dots, brackets, quotes, spaces and escapes
        ("$['a.b']", ("a.b",), True),
        ("$['a.b']", ("a", "b"), False),
        ('$["x[0]"]', ("x[0]",), True),
        ("$['odd key']['it\\'s']", ("odd key", "it's"), True),
        ('$["\\u00e9\\n"]', ("é\n",), True),
        ("$[ 'a' ][ 2 ]", ("a", 2), True),
        # indexes are not member names, and member names made of digits are not indexes
        ("$.a[3]", ("a", 3), True),
        ("$.a[3]", ("a", 4), False),
        ("$.a[3]", ("a", "3"), False),
        ("$['3']", ("3",), True),
        ("$['3']", (3,), False),
        ("$[0]", (0,), True),
        # wildcards: any member or any element
        ("$.a[*]", ("a", 0), True),
        ("$.a[*]", ("a", "k"), True),
        ("$.a[*]", ("a",), False),
        ("$.a[*]", ("a", 0, "b"), False),
        ("$.a.*", ("a", 7), True),
        ("$.*.id", ("customerSession", "id"), True),
        ("$.*.id", ("id",), False),
        # descendant at the start: zero or more levels in between
        ("$..created", ("created",), True),
        ("$..created", ("customerSession", "created"), True),
        ("$..created", ("data", 0, "profile", "created"), True),
        ("$..created", ("created", "x"), False),
        ("$..created", ("createdCoupons",), False),
        ("$..*", (), False),
        ("$..*", ("a",), True),
        ("$..*", ("a", 1, "b"), True),
        ("$..[0]", (0,), True),
        ("$..[0]", ("a", "b", 0), True),
        ("$..[0]", ("a", "0"), False),
        ("$..['odd key']", ("x", 3, "odd key"), True),
        # descendant in the middle, and twice
        ("$.data[*]..id", ("data", 0, "id"), True),
        ("$.data[*]..id", ("data", 0, "x", 1, "id"), True),
        ("$.data[*]..id", ("data", "id"), False),
        ("$.data[*]..id", ("other", 0, "id"), False),
        ("$.a..b..c", ("a", "b", "c"), True),
        ("$.a..b..c", ("a", "x", "b", "y", "z", "c"), True),
        ("$.a..b..c", ("a", "c"), False),
        ("$..effects[*].props.value", ("event", "effects", 2, "props", "value"), True),
        ("$..effects[*].props.value", ("effects", 2, "props", "name"), False),
    ],
)
def test_patterns_select_concrete_locations(
    pattern: str, location: tuple[Token, ...], expected: bool
) -> None:
    assert PathPattern(pattern).matches(location) is expected
    # the compiled automaton agrees with the pattern run on its own
    assert (PathMatcher([PathPattern(pattern)]).match(location) == (0,)) is expected


@pytest.mark.parametrize(
    ("pattern", "position", "fragment"),
    [
        ("", 0, "starts with '$'"),
        ("a.b", 0, "starts with '$'"),
        ("$a", 1, "expected '.', '..' or '['"),
        ("$.", 2, "a name or '*' must follow '.'"),
        ("$.a.", 4, "a name or '*' must follow '.'"),
        ("$..", 3, "a name or '*' must follow '.'"),
        ("$...a", 3, "'...' is not a segment"),
        ("$.1a", 2, "quote it: ['1a']"),
        ("$.a b", 3, "expected '.', '..' or '['"),
        ("$[", 1, "unterminated '['"),
        ("$[1", 3, "unterminated '[' (opened at position 1)"),
        ("$['a", 2, "unterminated string"),
        ("$['a'x]", 5, "expected ']'"),
        ("$[-1]", 2, "negative indexes are not supported"),
        ("$[01]", 2, "no leading zeros"),
        ("$[?@.a]", 2, "filter selectors"),
        ("$[1:2]", 3, "slices are not supported"),
        ("$[:2]", 2, "slices are not supported"),
        ("$['a','b']", 5, "unions"),
        ("$[abc]", 2, "expected a quoted name, an index or '*'"),
        ("$['\\x']", 3, "unknown escape"),
        ("$['\\u12']", 3, "four hex digits"),
    ],
)
def test_invalid_patterns_name_the_pattern_and_the_position(
    pattern: str, position: int, fragment: str
) -> None:
    with pytest.raises(ValueError) as caught:
        PathPattern(pattern)
    message = str(caught.value)
    assert repr(pattern) in message
    assert f"at position {position}:" in message
    assert fragment in message


def test_a_pattern_must_be_text() -> None:
    with pytest.raises(TypeError):
        PathPattern(3)  # type: ignore[arg-type]


def test_one_automaton_for_many_patterns_agrees_with_each_pattern() -> None:
    texts = ["$..created", "$.a[*].b", "$..b", "$[0]..*", "$.a[1]", "$..['a'][*]", "$.*.*", "$"]
    patterns = [PathPattern(t) for t in texts]
    matcher = PathMatcher(patterns)
    tokens: list[Token] = ["a", "b", "created", "zzz", 0, 1, 7]
    checked = 0
    for length in range(5):
        for location in itertools.product(tokens, repeat=length):
            expected = tuple(i for i, p in enumerate(patterns) if p.matches(location))
            assert matcher.match(location) == expected, location
            checked += 1
    assert checked > 2000
    # tokens that no pattern names share one state per class: indexes and keys do not blow up the cache
    states = len(matcher.states)
    for index in range(10_000):
        matcher.match(("a", index, "b"))
    assert len(matcher.states) == states


def test_pattern_for_round_trips_any_location() -> None:
    location: tuple[Token, ...] = ("data", 0, "a.b", "it's", "x[1]", "naïve", "", "9lives", 12)
    text = pattern_for(location)
    assert text.startswith("$.data[0][")
    pattern = PathPattern(text)
    assert pattern.matches(location)
    assert not pattern.matches(location[:-1])
    assert not pattern.matches((*location[:-1], 13))
    assert pattern_for(()) == "$"


# --------------------------------------------------------------------------- rules


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


def test_builtin_rules_are_specific_and_explained() -> None:
    rules = NoiseRules.builtin()
    assert rules is NoiseRules.builtin()  # shared: its compiled matchers stay warm
    assert len(rules) == len(BUILTIN) > 20
    assert all(r.reason and r.source == "builtin" for r in rules)
    assert len({(r.pattern, r.operations) for r in rules}) == len(rules)  # no duplicates


@pytest.mark.parametrize(
    ("operation", "location"),
    [
        ("updateCustomerSessionV2", ("customerSession", "created")),
        ("updateCustomerSessionV2", ("customerSession", "updated")),
        ("updateCustomerSessionV2", ("customerSession", "id")),
        ("updateCustomerSessionV2", ("customerProfile", "lastActivity")),
        ("updateCustomerSessionV2", ("customerProfile", "loyaltyMemberships", 0, "joined")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "joinDate")),
        ("updateCustomerSessionV2", ("effects", 4, "props", "transactionUUID")),
        ("updateCustomerSessionV2", ("event", "effects", 6, "props", "expiryDate")),
        ("updateCustomerSessionV2", ("effects", 0, "triggeredByCoupon")),
        ("updateCustomerSessionV2", ("event", "id")),
        ("updateCustomerSessionV2", ("coupons", 0, "id")),
        ("updateCustomerSessionV2", ("referral", "code")),
        ("updateCustomerSessionV2", ("customerSession", "referralCode")),
        ("updateCustomerSessionV2", ("previousReturns", 1, "sessionId")),
        ("getLoyaltyProgramProfilePoints", ("data", 0, "startDate")),
        ("getLoyaltyCardTransactions", ("data", 3, "id")),
        ("createReferral", ("code",)),
        ("createReferral", ("id",)),
        ("createAudienceV2", ("id",)),
        ("createReferralsForMultipleAdvocates", ("data", 1, "batchId")),
        ("linkLoyaltyCardToProfile", ("profiles", 1, "timestamp")),
        ("linkLoyaltyCardToProfile", ("id",)),
        ("getCustomerInventory", ("loyalty", "cards", 0, "id")),
        ("trackEventV2", ("loyalty", "cards", 0, "modified")),
        ("syncCatalog", ("modified",)),
    ],
)
def test_builtin_rules_cover_generated_values(operation: str, location: tuple[Token, ...]) -> None:
    assert NoiseRules.builtin().match(operation, location) is not None


@pytest.mark.parametrize(
    ("operation", "location"),
    [
        ("updateCustomerSessionV2", ("customerSession", "total")),
        ("updateCustomerSessionV2", ("customerSession", "state")),
        ("updateCustomerSessionV2", ("customerSession", "integrationId")),
        ("updateCustomerSessionV2", ("customerSession", "couponCodes", 0)),
        ("updateCustomerSessionV2", ("effects", 1, "effectType")),
        ("updateCustomerSessionV2", ("effects", 1, "props", "value")),
        ("updateCustomerSessionV2", ("effects", 1, "campaignId")),
        ("updateCustomerSessionV2", ("coupons", 0, "value")),
        ("updateCustomerSessionV2", ("triggeredCampaigns", 0, "id")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "id")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "ledger", "currentTier", "id")),
        ("updateCustomerSessionV2", ("customerProfile", "accountId")),
        ("getLoyaltyProgramProfilePoints", ("data", 0, "amount")),
        # dates the client chose are business data; only the loyalty listings' are clock-derived
        ("createReferralsForMultipleAdvocates", ("data", 0, "startDate")),
        ("createReferralsForMultipleAdvocates", ("data", 0, "advocateProfileIntegrationId")),
        ("updateCustomerSessionV2", ("coupons", 0, "expiryDate")),
        # configuration ids answered by operations that create nothing
        ("syncCatalog", ("id",)),
        ("getCustomerInventory", ("giveaways", 0, "code")),
    ],
)
def test_builtin_rules_leave_business_fields_alone(operation: str, location: tuple[Token, ...]) -> None:
    assert NoiseRules.builtin().match(operation, location) is None


# --------------------------------------------------------------------------- rules files

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
            _rule_file(GOOD, '  - path: "$.a[-1]"\n    reason: bad\n'),
            ["rule 2:", "invalid path pattern '$.a[-1]' at position 4", "negative indexes"],
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
