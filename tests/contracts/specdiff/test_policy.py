"""The team's decisions about changes: ignore files, severity overrides, the failing level."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from contracts.errors import ContractLoadError
from contracts.specdiff.model import Change, SpecDiff
from contracts.specdiff.policy import judge, parse_severity, read_ignore_file
from contracts.specdiff.rules import Level, UnknownRule


def _diff() -> SpecDiff:
    diff = SpecDiff("a.yaml", "b.yaml", "1", "2")
    diff.changes = [
        Change(
            "response-enum-value-added", Level.ERR, "getThing", "GET", "/t", "response 200 body/state", "m"
        ),
        Change(
            "response-enum-value-added",
            Level.ERR,
            "putThing",
            "PUT",
            "/t",
            "response 200 body/items/*/state",
            "m",
        ),
        Change("request-parameter-added", Level.INFO, "getThing", "GET", "/t", "request query/q", "m"),
    ]
    return diff


def _ignore(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ignore.yaml"
    path.write_text(text)
    return path


def test_an_entry_ignores_what_it_matches_and_the_rest_still_fails(tmp_path: Path) -> None:
    entries = read_ignore_file(_ignore(tmp_path, (
        "ignore:\n  - rule: response-enum-value-added\n    operation: getThing\n    reason: we never read state\n"
    )))  # fmt: skip
    judged = judge(_diff(), ignore=entries, today=dt.date(2026, 12, 2))
    assert [c.ignored for c in judged.diff.changes] == ["we never read state", None, None]
    assert [c.operation_id for c in judged.failing] == ["putThing"]
    assert judged.exit_code == 1 and not judged.unused and not judged.expired


def test_location_globs_match_stars_and_nothing_else(tmp_path: Path) -> None:
    entries = read_ignore_file(_ignore(tmp_path, (
        "- rule: response-enum-value-added\n  location: 'response 200 body/*/state'\n  reason: r\n"
    )))  # fmt: skip
    judged = judge(_diff(), ignore=entries)
    assert [c.ignored is not None for c in judged.diff.changes] == [False, True, False]
    entries = read_ignore_file(_ignore(tmp_path, (
        "- rule: response-enum-value-added\n  location: 'response 200 body/items/*/state'\n  reason: r\n"
    )))  # fmt: skip
    assert [c.ignored is not None for c in judge(_diff(), ignore=entries).diff.changes] == [
        False,
        True,
        False,
    ]


def test_an_expired_entry_stops_ignoring_and_says_so(tmp_path: Path) -> None:
    entries = read_ignore_file(_ignore(tmp_path, (
        "- rule: response-enum-value-added\n  reason: until the SDK is regenerated\n  until: 2026-11-30\n"
    )))  # fmt: skip
    judged = judge(_diff(), ignore=entries, today=dt.date(2026, 12, 2))
    assert all(c.ignored is None for c in judged.diff.changes)
    assert [e.until for e in judged.expired] == [dt.date(2026, 11, 30)]
    assert judge(_diff(), ignore=entries, today=dt.date(2026, 11, 30)).diff.changes[0].ignored is not None


def test_an_entry_that_matches_nothing_is_reported(tmp_path: Path) -> None:
    entries = read_ignore_file(_ignore(tmp_path, "- rule: operation-removed\n  reason: r\n"))
    judged = judge(_diff(), ignore=entries)
    assert [e.rule for e in judged.unused] == ["operation-removed"]
    assert judged.unused[0].where.endswith("ignore.yaml:1")


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("- rule: response-enum-value-adde\n  reason: r\n", UnknownRule,
         r"ignore.yaml:1: unknown rule id 'response-enum-value-adde'; did you mean response-enum-value-added"),
        ("- rule: operation-removed\n", ContractLoadError, "needs a 'reason'"),
        ("- rule: operation-removed\n  reason: r\n  until: soon\n", ContractLoadError, "'until' must be a date"),
        ("- rule: operation-removed\n  reason: r\n  operaton: x\n", ContractLoadError,
         "unknown key\\(s\\) 'operaton'; valid: rule, operation, location, reason, until"),
        ("ignore: 3\n", ContractLoadError, "a list of entries"),
        ("- just a string\n", ContractLoadError, "an entry is a mapping"),
    ],
)  # fmt: skip
def test_a_malformed_ignore_file_says_where(tmp_path: Path, text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        read_ignore_file(_ignore(tmp_path, text))


def test_an_empty_ignore_file_ignores_nothing(tmp_path: Path) -> None:
    assert read_ignore_file(_ignore(tmp_path, "# nothing yet\n")) == []


def test_severity_overrides_and_fail_on() -> None:
    severity = parse_severity(["response-enum-value-added=warn"])
    judged = judge(_diff(), severity=severity)
    assert [c.level for c in judged.diff.changes] == [Level.WARN, Level.WARN, Level.INFO]
    assert judged.exit_code == 0
    assert judge(_diff(), severity=severity, fail_on=Level.WARN).exit_code == 1
    assert len(judge(_diff(), fail_on=Level.INFO).failing) == 3


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("response-enum-value-added", ValueError),
        ("nope=ERR", UnknownRule),
        ("operation-removed=FATAL", ValueError),
    ],
)
def test_bad_severity(item: str, error: type) -> None:
    with pytest.raises(error):
        parse_severity([item])
