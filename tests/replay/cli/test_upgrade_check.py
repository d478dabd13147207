"""``talon-contracts upgrade-check`` through CliRunner: the spec diff, the traffic under the new contract,
our overlay on the new document, and a replay against a live candidate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import xmlschema
import yaml
from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.cli import cli

from ..conftest import FIXTURES
from ..helpers import CORPUS as CASSETTES
from .conftest import STORIES

V7 = str(FIXTURES / "vendor" / "talon-integration-v7.0.0.yaml")


def _run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, [*args, "--quiet"] if args[0] in ("diff", "upgrade-check") else list(args))


def test_upgrade_check_from_the_shipped_contract(
    runner: CliRunner, next_release: Path, tmp_path: Path
) -> None:
    reports = [f"json:{tmp_path / 'r.json'}", f"junit:{tmp_path / 'r.xml'}", f"markdown:{tmp_path / 'r.md'}",
               f"html:{tmp_path / 'r.html'}"]  # fmt: skip
    args = ["upgrade-check", "--to", str(next_release), str(CASSETTES)]
    for report in reports:
        args += ["--report", report]
    result = _run(runner, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(
        "talon-contracts upgrade-check: contracts/openapi/talon-integration-v7.0.0.yaml ->"
    )
    assert (
        "re-verified: 22 recorded interaction(s) the old contract accepts, the new one rejects"
        in result.stdout
    )
    assert "[request-required-property-added]" in result.stdout
    assert re.search(r"our overlay \(.*talon-overlay.yaml\) on the new document: \d+ action\(s\), \d+ apply, 0 redundant, "
                     r"0 unmatched", result.stdout)  # fmt: skip
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["command"] == "upgrade-check" and payload["traffic"]["rejected_count"] == 22
    # 5 changes at ERR, and the 18 rejected interactions a request change explains; the 4 rejected only
    # for their answers' quantity (a narrowed answer, INFO) do not count at ERR
    assert payload["findings"] == 5 + 18
    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(tmp_path / "r.xml"))
    assert "traffic under the new contract" in (tmp_path / "r.xml").read_text()
    assert "**22 recorded interaction(s)**" in (tmp_path / "r.md").read_text()


def test_upgrade_check_reports_overlay_actions_the_new_release_broke(
    runner: CliRunner, tmp_path: Path
) -> None:
    doc = yaml.safe_load(Path(V7).read_text())
    # the vendor moves reopen's answer (our link on it no longer matches) and now requires profileId itself
    reopen = doc["paths"]["/v2/customer_sessions/{customerSessionId}/reopen"]["put"]["responses"]
    reopen["201"] = reopen.pop("200")
    doc["components"]["schemas"]["IntegrationEventV2Request"]["required"] = ["type", "profileId"]
    new = tmp_path / "next.yaml"
    new.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = _run(runner, "upgrade-check", "--to", str(new), "--format", "json")
    payload = json.loads(result.stdout)
    odd = [(a["target"], a["status"]) for a in payload["overlay"]["actions"] if a["status"] != "applied"]
    assert odd == [
        ("$.components.schemas.IntegrationEventV2Request", "redundant"),
        ("$.paths['/v2/customer_sessions/{customerSessionId}/reopen'].put.responses['200']", "unmatched"),
    ]
    assert result.exit_code == 1  # the moved 200 is a removed success status, too
    text = _run(runner, "upgrade-check", "--to", str(new), "--severity", "response-success-status-removed=INFO",
                "--severity", "response-success-status-added=INFO").stdout  # fmt: skip
    assert "1 redundant, 1 unmatched" in text and "the vendor states the same now" in text
    assert "its target selects nothing" in text
    assert (
        _run(
            runner,
            "upgrade-check",
            "--to",
            str(new),
            "--severity",
            "response-success-status-removed=INFO",
            "--fail-on",
            "WARN",
        ).exit_code
        == 1
    )  # an unmatched overlay action is a WARN


def test_upgrade_check_replays_the_traffic_against_a_candidate(runner: CliRunner, planted: Sandbox) -> None:
    with Sandbox() as same:
        result = _run(runner, "upgrade-check", "--to", V7, *STORIES, "--candidate", same.base_url,
                      "--candidate-api-key", same.api_key, "--no-namespace")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "replay compare" in result.stdout and "0 finding(s) at or above ERR" in result.stdout
    result = _run(runner, "upgrade-check", "--to", V7, *STORIES, "--candidate", planted.base_url,
                  "--candidate-api-key", planted.api_key, "--no-namespace", "--format", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["compare"]["outcomes"]["changed"] >= 1 and payload["changes"] == []


def test_upgrade_check_refuses_a_candidate_it_may_not_replayagainst(runner: CliRunner) -> None:
    result = _run(runner, "upgrade-check", "--to", V7, *STORIES, "--candidate", "https://prod.example.com",
                  "--api-key", "k")  # fmt: skip
    assert result.exit_code == 2 and "refusing to replay against prod.example.com" in result.output
    result = _run(runner, "upgrade-check", "--to", V7, "--candidate", "http://127.0.0.1:1", "--api-key", "k")
    assert result.exit_code == 2 and "name CASSETTES" in result.output
