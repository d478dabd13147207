"""``--talon-coverage-fail-under``: a session that exercised fewer operations fails (exit 1), with
what it exercised and what it missed; through pytester."""

from __future__ import annotations

import pytest

TWO_OPERATIONS = """
import pytest
from contracts.client import ApiError

def test_profile(talon_client):
    talon_client.update_customer_profile_v2("p-1", {"attributes": {}})

def test_session(talon_client):
    with pytest.raises(ApiError):
        talon_client.get_customer_session("s-1")
"""


@pytest.mark.parametrize(
    ("threshold", "code", "line"),
    [
        ("2", pytest.ExitCode.OK, None),
        ("3", pytest.ExitCode.TESTS_FAILED, "FAIL: 2 of 28 operations exercised, under --talon-coverage-fail-under 3"),
        ("7%", pytest.ExitCode.OK, None),
        ("50%", pytest.ExitCode.TESTS_FAILED, "FAIL: 2 of 28 operations exercised (7%), under --talon-coverage-fail-under 50%"),
    ],
)  # fmt: skip
def test_the_session_fails_under_the_threshold(
    pytester: pytest.Pytester, threshold: str, code: pytest.ExitCode, line: str | None
) -> None:
    pytester.makepyfile(test_two=TWO_OPERATIONS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--talon-coverage-fail-under", threshold)
    result.assert_outcomes(passed=2)
    assert result.ret == code
    result.stdout.fnmatch_lines(["*2 of 28 operations exercised*"])
    if line:
        result.stdout.fnmatch_lines([f"*{line}*"])


def test_the_threshold_is_an_ini_setting_too_and_under_xdist_the_controller_judges(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\ntalon_coverage_fail_under = 3\n")
    pytester.makepyfile(test_two=TWO_OPERATIONS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAIL: 2 of 28 operations exercised*"])


def test_a_failed_run_keeps_its_status_and_collecting_is_not_judged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_two=TWO_OPERATIONS + "\ndef test_broken():\n    assert False\n")
    failed = pytester.runpytest("-p", "no:cacheprovider", "--talon-coverage-fail-under", "28")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    collected = pytester.runpytest("-p", "no:cacheprovider", "--co", "--talon-coverage-fail-under", "28")
    assert collected.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("bad", ["many", "120%", "-1"])
def test_a_bad_threshold_is_a_usage_error(pytester: pytest.Pytester, bad: str) -> None:
    pytester.makepyfile(test_two=TWO_OPERATIONS)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--talon-coverage-fail-under={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*neither a number of operations (20) nor a share (75%)*"])
