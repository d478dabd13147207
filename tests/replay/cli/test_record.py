"""``talon-contracts record``: its arguments, cassettes that verify, an unreachable target."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from replay.cli import cli


def test_record_lists_and_checks_its_arguments(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["record", "--list"])
    assert result.exit_code == 0 and "checkout-coupon-referral" in result.stdout
    result = runner.invoke(cli, ["record", "no-such-story"])
    assert result.exit_code == 2 and "valid: audience-lifecycle" in result.stderr
    assert runner.invoke(cli, ["record"]).exit_code == 2
    result = runner.invoke(
        cli, ["record", "catalog-sync", "--target", "http://127.0.0.1:9"], env={"TALON_API_KEY": ""}
    )
    assert result.exit_code == 2 and "--api-key" in result.stderr
    result = runner.invoke(cli, ["record", "catalog-sync", "--redact-path", "$..["])
    assert result.exit_code == 2 and "invalid path pattern '$..[' at position 3" in result.stderr


def test_record_writes_cassettes_that_verify(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["record", "catalog-sync", "gdpr-deletion", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok   catalog-sync" in result.stderr and "ok   gdpr-deletion" in result.stderr
    assert runner.invoke(cli, ["verify", str(tmp_path)]).exit_code == 0


def test_record_against_an_unreachable_target_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "record",
            "catalog-sync",
            "--target",
            "http://127.0.0.1:9",
            "--api-key",
            "k" * 40,
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2 and "FAIL catalog-sync: ConnectionError" in result.stderr
    assert "k" * 40 not in result.output
