"""replay.paths: the one path language, against locations and against documents."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from replay.paths import PathMatcher, PathPattern, Token, pattern_for


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
        ("$[01]", 2, "no leading zeros"),
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


@pytest.mark.parametrize(
    ("pattern", "document", "expected"),
    [
        ("$.effects[?@.effectType=='setDiscount'].props.value",
         {"effects": [{"effectType": "addLoyaltyPoints", "props": {"value": 5}},
                      {"effectType": "setDiscount", "props": {"value": 2.5}}]},
         [("effects", 1, "props", "value")]),
        ("$[-1]", [1, 2, 3], [(2,)]),
        ("$[1:3]", [1, 2, 3], [(1,), (2,)]),
        ("$['a','b']", {"a": 1, "b": 2, "c": 3}, [("a",), ("b",)]),
        ("$..created", {"x": {"created": 1}, "created": 2}, [("created",), ("x", "created")]),
    ],
)  # fmt: skip
def test_beyond_locations_rfc_9535_is_evaluated_against_documents(
    pattern: str, document: Any, expected: list[tuple[Token, ...]]
) -> None:
    compiled = PathPattern(pattern)
    assert sorted(compiled.locations(document), key=str) == sorted(expected, key=str)
    if not compiled.located:
        assert not compiled.matches(expected[0])  # a bare location cannot tell: never a match


def test_an_invalid_filter_names_the_pattern_and_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"invalid path pattern '\$\.a\[\?@\.b==\]' \(a filter selector\)"):
        PathPattern("$.a[?@.b==]")
    assert PathPattern("$..created").located and not PathPattern("$[?@.a]").located


@pytest.mark.parametrize(
    "path",
    ["$.id", "$.data[*].code", "$.customerSession.profileId", "$.integrationIDs[*]", "$.a[*].b[*]", "$[*]",
     "$.data[?@.action == 'add'].audienceId"],
)  # fmt: skip
def test_paths_select_and_assign_as_jsonpath_does(path: str) -> None:
    """The direct walk of simple paths agrees with python-jsonpath (the general one is used otherwise)."""
    import copy

    import jsonpath

    document = {
        "id": 7, "integrationIDs": ["a", "b"], "customerSession": {"profileId": "p"},
        "data": [{"code": "X", "action": "add", "audienceId": 1}, {"code": "Y", "action": "delete", "audienceId": 2}],
        "a": [{"b": [1, 2]}, {"b": [3]}, {"c": 0}], "plain": "text",
    }  # fmt: skip
    expected = [m.obj for m in jsonpath.JSONPathEnvironment(strict=True).compile(path).finditer(document)]
    compiled = PathPattern(path)
    assert compiled.values(document) == expected
    changed = copy.deepcopy(document)
    assert compiled.assign(changed, lambda v: f"<{v}>" if not isinstance(v, (dict, list)) else v) == any(
        not isinstance(v, (dict, list)) for v in expected
    )
    assert compiled.values(changed) == [f"<{v}>" if not isinstance(v, (dict, list)) else v for v in expected]
    assert compiled.values("not a document") == []
