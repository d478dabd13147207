"""``--talon-next-contract``: cassette items and strict client calls checked against the next release too,
and the session's report of what would break under it (through pytester)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from contracts.spec import DEFAULT_VENDOR_CONTRACT

CASSETTES = Path(__file__).parents[3] / "cassettes"


def test_cassette_items_are_checked_against_the_next_contract(
    pytester: pytest.Pytester, next_release: Path
) -> None:
    shutil.copy(CASSETTES / "cancelled-order.yaml", pytester.path / "cancelled-order.yaml")
    result = pytester.runpytest("--talon-verify-cassettes", ".", "--talon-next-contract", str(next_release), "-p",
                                "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=6)  # they conform to today's contract: nothing fails
    result.stdout.fnmatch_lines([
        f"*talon-contracts: under the next contract ({next_release})*",
        "*6 of 6 exchange(s) checked would break:*",
        "*cancelled-order.yaml::0-updateCustomerSessionV2: PUT http://localhost:9000/v2/customer_sessions/cancel-1",
        "*body/customerSession/currency: required property 'currency' is missing",
    ])  # fmt: skip


def test_client_calls_are_checked_against_the_next_contract(
    pytester: pytest.Pytester, next_release: Path
) -> None:
    pytester.makepyfile(
        """
        def test_checkout(talon_client):
            talon_client.update_customer_session_v2(
                "order-1", {"customerSession": {"profileId": "ana", "cartItems": [
                    {"sku": "SKU-1", "quantity": 3, "price": 5}]}})

        def test_inventory(talon_client):
            talon_client.get_customer_inventory("seed-alice")
        """
    )
    result = pytester.runpytest("--talon-next-contract", str(next_release), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*1 of 2 exchange(s) checked would break:*",
        "*test_checkout: PUT http://127.0.0.1:*/v2/customer_sessions/order-1*",
        "*required property 'currency' is missing*",
        "*body/customerSession/cartItems/0/quantity: 3 is above the maximum 1*",
    ])  # fmt: skip


def test_nothing_breaks_under_the_same_contract(pytester: pytest.Pytester) -> None:
    shutil.copy(CASSETTES / "cancelled-order.yaml", pytester.path / "cancelled-order.yaml")
    result = pytester.runpytest("--talon-verify-cassettes", ".", "--talon-next-contract", str(DEFAULT_VENDOR_CONTRACT),
                                "-p", "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*none of the 6 exchange(s) checked would break*"])


def test_a_next_contract_that_cannot_be_read_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--talon-next-contract", "missing.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--talon-next-contract: *missing.yaml: No such file or directory*"])


def test_the_next_contract_under_xdist(pytester: pytest.Pytester, next_release: Path) -> None:
    shutil.copy(CASSETTES / "cancelled-order.yaml", pytester.path / "cancelled-order.yaml")
    result = pytester.runpytest("-n", "2", "--talon-verify-cassettes", ".", "--talon-next-contract",
                                str(next_release), "-p", "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*6 of 6 exchange(s) checked would break:*"])


def test_the_ini_setting_names_a_file_of_the_project(pytester: pytest.Pytester, next_release: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    shutil.copy(next_release, pytester.path / "next.yaml")
    (pytester.path / "tests").mkdir()
    shutil.copy(CASSETTES / "cancelled-order.yaml", pytester.path / "tests" / "cancelled-order.yaml")
    pytester.makeini("[pytest]\ntalon_next_contract = next.yaml\n")
    monkeypatch.chdir(pytester.path / "tests")
    result = pytester.runpytest("--talon-verify-cassettes", ".", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*6 of 6 exchange(s) checked would break:*"])


def test_a_call_that_fails_today_is_not_reported_for_the_next(pytester: pytest.Pytester) -> None:
    """An answer today's contract already refuses is today's failure, not news about the next release."""
    import yaml

    strict = yaml.safe_load(DEFAULT_VENDOR_CONTRACT.read_text())
    strict["components"]["schemas"]["IntegrationStateV2"]["required"].append("notSentByAnyone")
    (pytester.path / "strict.yaml").write_text(yaml.safe_dump(strict))
    pytester.makepyfile(
        """
        import pytest
        from contracts.errors import ContractViolationError

        def test_answer_refused_today(talon_client):
            with pytest.raises(ContractViolationError, match="notSentByAnyone"):
                talon_client.update_customer_session_v2("o-1", {"customerSession": {"profileId": "ana"}})

        def test_inventory(talon_client):
            talon_client.get_customer_inventory("seed-alice")
        """
    )
    result = pytester.runpytest("--talon-contract", "strict.yaml", "--talon-next-contract", "strict.yaml",
                                "-p", "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*none of the 1 exchange(s) checked would break*"])
