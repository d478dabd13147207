"""``talon-contracts coverage``: the operation x status matrix and what it misses."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from replay.cli import cli

from ..helpers import CORPUS


def test_coverage_matrix_and_missing(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["coverage", str(CORPUS)])
    assert result.exit_code == 0, result.output
    assert "28 of 28 operations covered" in result.stdout
    assert (
        "Documented but not recorded:\n  getCustomerSession: 400\n  getReservedCustomers: 400"
        in result.stdout
    )
    assert runner.invoke(cli, ["coverage", "--fail-on-missing", str(CORPUS)]).exit_code == 1

    result = runner.invoke(cli, ["coverage", "--format", "json", str(CORPUS)])
    payload = json.loads(result.stdout)
    assert payload["operations"]["trackEventV2"]["409"] >= 1
    assert payload["missing"] == {"getCustomerSession": ["400"], "getReservedCustomers": ["400"]}


def test_coverage_of_unreadable_input_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b'{"request": {"method": "GET"')
    result = runner.invoke(cli, ["coverage", str(path)])
    assert result.exit_code == 2 and "truncated" in result.stdout
