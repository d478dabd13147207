"""``talon-contracts replay export-test``: findings become a standalone pytest test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.cli import cli

from .conftest import STORIES, against


def _pytest(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=path.parent, timeout=120,
    )  # fmt: skip


def test_export_test_turns_findings_into_a_standalone_test(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    report = tmp_path / "replay.json"
    base = against(planted)
    assert runner.invoke(cli, [*base, "--report", f"json:{report}"]).exit_code == 1
    exported = tmp_path / "exported" / "test_findings.py"
    result = runner.invoke(
        cli, ["replay", "export-test", "--from-report", str(report), "--out", str(exported)]
    )
    assert result.exit_code == 0, result.output
    findings = [o for o in json.loads(report.read_text())["outcomes"] if o["outcome"] == "changed"]
    assert f"{len(findings)} interaction(s) checked by {exported}" in result.stderr
    text = exported.read_text()
    assert planted.api_key not in text and "cassettes" in text
    # the cassette is not needed any more: the test carries the story up to the findings
    passing = _pytest(exported, {"TALON_BASE_URL": "", "TALON_API_KEY": ""})  # an unchanged embedded sandbox
    assert passing.returncode == 0, passing.stdout + passing.stderr
    failing = _pytest(exported, {"TALON_BASE_URL": planted.base_url, "TALON_API_KEY": planted.api_key})
    assert failing.returncode == 1
    assert "Welcome discount (2027 edition)" in failing.stdout and "reproduce: curl" in failing.stdout


def test_export_test_selection_errors(runner: CliRunner, tmp_path: Path) -> None:
    out = str(tmp_path / "t.py")
    assert runner.invoke(cli, ["replay", "export-test", STORIES[0], "--out", out]).exit_code == 2
    result = runner.invoke(cli, ["replay", "export-test", *STORIES, "--select", "3", "--out", out])
    assert result.exit_code == 2 and "FILE#INDEX" in result.stderr
    result = runner.invoke(cli, ["replay", "export-test", STORIES[0], "--select", "x", "--out", out])
    assert result.exit_code == 2 and "must be a number" in result.stderr
    result = runner.invoke(cli, ["replay", "export-test", STORIES[0], "--select", "999", "--out", out])
    assert result.exit_code == 1 and "no interaction 999" in result.stderr
    result = runner.invoke(
        cli, ["replay", "export-test", STORIES[0], "--select", "2", "--no-setup", "--out", out]
    )
    assert result.exit_code == 0 and Path(out).read_text().count('\'{"request"') == 1
