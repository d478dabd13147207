"""``talon-contracts validate``: a contract loads, its operations, the quirks tolerated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from replay.cli import cli
from tests.conftest import VENDOR_V6
from tests.contracts.test_spec import QUIRKY, REFERENCE_OPERATIONS


def test_validate_lists_the_shipped_operations(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "OpenAPI 3.0.1, 28 operations" in result.stdout
    assert "talon-overlay.yaml" in result.stdout
    for op_id, (_method, path) in REFERENCE_OPERATIONS.items():
        assert op_id in result.stdout and path in result.stdout
    assert result.stderr == ""


def test_validate_json_output(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["validate", "--format", "json", "--contract", str(VENDOR_V6), "--no-overlay"]
    )
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["overlay"] is None and payload["error"] is None
    assert {o["operationId"] for o in payload["operations"]} == set(REFERENCE_OPERATIONS)
    by_id = {o["operationId"]: o for o in payload["operations"]}
    assert by_id["trackEventV2"]["statuses"] == ["200", "400", "401", "409"]


def test_validate_tolerates_quirks_and_reports_them(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "vendor-next.yaml"
    path.write_text(QUIRKY)
    result = runner.invoke(cli, ["validate", "--contract", str(path), "--no-overlay"])
    assert result.exit_code == 0
    assert "quirk(s) tolerated" in result.stdout
    assert (
        f"warning: {path}:8 (at /paths/~1v1~1catalogs~1{{catalogId}}~1sync/put/parameters/0/schema/maximum)"
        in (result.stderr)
    )
    assert "bare '=' scalar" in result.stderr


def test_validate_reports_overlay_actions_that_no_longer_match(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: tiny, version: '1'}\npaths: {}\n")
    result = runner.invoke(cli, ["validate", "--contract", str(path)])
    assert result.exit_code == 0
    assert "matched nothing; the vendor document may have changed" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["validate", "--contract", "{missing}"], "No such file or directory"),
        (["validate", "--contract", "{bad}"], "column"),
        (["validate", "--overlay", "{bad}"], "an overlay must be a mapping"),
    ],
)
def test_validate_unusable_input_exits_2(
    runner: CliRunner, tmp_path: Path, args: list[str], fragment: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: [\n")
    missing = tmp_path / "missing.yaml"
    args = [a.format(missing=missing, bad=bad) for a in args]
    if "--overlay" in args:
        bad.write_text("- just a list\n")
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_contradicting_options_are_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--no-overlay", "--overlay", "x.yaml"])
    assert result.exit_code == 2
    assert "contradict" in result.stderr


def test_validate_reports_schemas_the_validator_cannot_compile(runner: CliRunner, tmp_path: Path) -> None:
    from tests.contracts.test_spec import CRASHY

    path = tmp_path / "crashy.yaml"
    path.write_text(CRASHY)
    result = runner.invoke(cli, ["validate", "--contract", str(path), "--no-overlay"])
    assert result.exit_code == 0
    assert "schema cannot be compiled" in result.stderr
    assert "Traceback" not in result.output
