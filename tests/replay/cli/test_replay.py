"""``talon-contracts replay`` (run and compare) through CliRunner: exit codes, reports (JUnit against pytest's
schema, HTML in headless Chromium), safety refusals, Ctrl-C, malfunctions of the tool."""

from __future__ import annotations

import _thread
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import xmlschema
from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay import engine
from replay.cli import cli

from ..conftest import FIXTURES
from ..helpers import CORPUS
from .conftest import STORIES, against


def test_replay_against_embedded_sandboxes_is_clean(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["replay", *STORIES, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "embedded sandboxes" in result.stderr
    assert (
        "28 interaction(s) from 2 file(s)" in result.stdout
        and "changed" not in result.stdout.splitlines()[-1]
    )


def test_findings_exit_1_with_diffs_and_reports(runner: CliRunner, planted: Sandbox, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ["replay", *STORIES, "--target", planted.base_url, "--api-key", planted.api_key, "--quiet",
            "--no-namespace", "--report", f"json:{reports / 'replay.json'}",
            "--report", f"junit:{reports / 'replay.xml'}", "--report", f"html:{reports / 'replay.html'}"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert (
        "CHANGED" in result.stdout
        and '"Welcome discount" -> "Welcome discount (2027 edition)"' in result.stdout
    )
    assert "reproduce: curl" in result.stdout and planted.api_key not in result.output

    payload = json.loads((reports / "replay.json").read_text())
    assert payload["summary"]["outcomes"]["changed"] >= 2
    changed = [o for o in payload["outcomes"] if o["outcome"] == "changed"]
    assert all(o["curl"].startswith("curl ") and "$TALON_API_KEY" in o["curl"] for o in changed)
    real = [c for o in changed for c in o["changes"] if c["noise"] is None]
    assert {c["live"] for c in real} == {"Welcome discount (2027 edition)"}

    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(reports / "replay.xml"))
    junit = (reports / "replay.xml").read_text()
    assert f'tests="{payload["summary"]["interactions"]}"' in junit and "<failure" in junit
    assert (reports / "replay.html").read_text().startswith("<!DOCTYPE html>")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_html_report_opens_in_a_headless_browser(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium (.ci/run); it is missing")
        pytest.skip("no chromium here: install Debian's chromium package to run this check")
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "replay.html"
    result = runner.invoke(cli, ["replay", *STORIES, "--target", planted.base_url, "--api-key", planted.api_key,
                                 "--quiet", "--no-namespace", "--report", f"html:{page_path}"])  # fmt: skip
    assert result.exit_code == 1
    errors: list[str] = []
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(
            executable_path=browser,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = chrome.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(page_path.as_uri())
            assert page.title() == "talon-contracts replay"
            findings = page.locator("section.finding")
            assert findings.count() >= 2
            assert "Welcome discount (2027 edition)" in findings.first.inner_text()
            assert page.locator("section.finding pre").first.is_visible()
        finally:
            chrome.close()
    assert errors == []


def test_a_target_that_is_not_loopback_is_refused(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALON_CONTRACTS_ALLOW_HOSTS", raising=False)
    result = runner.invoke(
        cli, ["replay", *STORIES, "--target", "https://staging.example.com", "--api-key", "k"]
    )
    assert result.exit_code == 2
    assert "refusing to replay against staging.example.com" in result.stderr
    assert "--allow-host staging.example.com" in result.stderr


def test_an_allowed_host_that_does_not_answer_is_an_infrastructure_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALON_CONTRACTS_ALLOW_HOSTS", "nowhere.invalid")
    result = runner.invoke(cli, ["replay", *STORIES, "--target", "http://nowhere.invalid:1", "--api-key", "k",
                                 "--quiet", "--writes", "allow"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "giving up" in result.stdout and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "http://127.0.0.1:9"], "--api-key"),
        (["--rate", "fast"], "expected requests per second"),
        (["--speed", "0x"], "expected max, or a factor"),
        (["--fail-on", "changed,broken"], "unknown outcome(s) broken"),
        (
            ["--fail-on", "malfunction"],
            "valid: same, noise, shared-state, additive, changed, violation, error, skipped",
        ),
        (["--report", "pdf:x.pdf"], "expected FORMAT:PATH"),
        (["--operation", "getEverything"], "unknown operation(s) getEverything"),
        (["--ignore", "$..["], "--noise/--ignore"),
        (["--writes", "sometimes"], "Invalid value for '--writes'"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["replay", *STORIES, *args], env={"TALON_API_KEY": ""})
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_bad_noise_file_names_the_rule(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "noise.yaml"
    rules.write_text("version: 1\nrules:\n  - pth: $..created\n    reason: clock\n")
    result = runner.invoke(cli, ["replay", *STORIES, "--noise", str(rules)])
    assert result.exit_code == 2 and "pth" in result.stderr and "valid: " in result.stderr


def test_ignore_and_fail_on_decide_what_counts(runner: CliRunner, planted: Sandbox) -> None:
    base = against(planted)
    ignored = runner.invoke(cli, [*base, "--ignore", "$.triggeredCampaigns[*].name"])
    assert ignored.exit_code == 0, ignored.output
    assert runner.invoke(cli, [*base, "--fail-on", "violation,error"]).exit_code == 0


def test_ignore_takes_the_filters_redaction_takes(runner: CliRunner, planted: Sandbox) -> None:
    # one path language (replay.paths): a filter selects the renamed campaign, and only it
    base = against(planted)
    renamed = planted.app.store.seed.campaigns[0].id
    ignored = runner.invoke(cli, [*base, "--ignore", f"$.triggeredCampaigns[?@.id=={renamed}].name"])
    assert ignored.exit_code == 0, ignored.output
    other = runner.invoke(cli, [*base, "--ignore", f"$.triggeredCampaigns[?@.id=={renamed + 1000}].name"])
    assert other.exit_code == 1, other.output


def test_ctrl_c_stops_and_still_writes_the_reports(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emitted = engine.Replayer.emit

    def interrupt_after_five(self: engine.Replayer, outcome: engine.Outcome) -> None:
        emitted(self, outcome)
        if self.summary.done == 5:
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            self.stopping.wait(2)  # until the main thread has seen it (it polls the workers every 0.2 s)

    monkeypatch.setattr(engine.Replayer, "emit", interrupt_after_five)
    report = tmp_path / "replay.json"
    result = runner.invoke(
        cli, ["replay", str(CORPUS), "--quiet", "--concurrency", "1", "--report", f"json:{report}"]
    )
    assert result.exit_code == 130, result.output
    payload = json.loads(report.read_text())
    assert payload["summary"]["interrupted"] is True
    assert 5 <= payload["summary"]["interactions"] < 149 == 149
    assert len(payload["outcomes"]) == payload["summary"]["interactions"]
    assert "interrupted:" in result.stdout


def test_compare_reports_where_the_candidate_differs(runner: CliRunner, planted: Sandbox) -> None:
    with Sandbox() as same:
        result = runner.invoke(cli, ["replay", "compare", *STORIES, "--candidate", same.base_url, "--quiet",
                                     "--candidate-api-key", same.api_key, "--no-namespace"])  # fmt: skip
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["replay", "compare", *STORIES, "--candidate", planted.base_url, "--quiet",
                                 "--candidate-api-key", planted.api_key, "--no-namespace"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert '"Welcome discount" -> "Welcome discount (2027 edition)"' in result.stdout


def test_compare_names_its_sides_baseline_and_candidate(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    report = tmp_path / "compare.json"
    result = runner.invoke(cli, ["replay", "compare", *STORIES, "--candidate", planted.base_url, "--quiet",
                                 "--candidate-api-key", planted.api_key, "--no-namespace",
                                 "--report", f"json:{report}"])  # fmt: skip
    assert (
        f"vs candidate {planted.base_url}" in result.stdout and "baseline embedded sandbox" in result.stdout
    )
    payload = json.loads(report.read_text())
    assert payload["summary"]["candidate"] == planted.base_url
    renamed = next(
        c
        for o in payload["outcomes"]
        for c in o.get("changes", [])
        if c.get("candidate") == "Welcome discount (2027 edition)"
    )
    assert renamed["baseline"] == "Welcome discount" and "recorded" not in renamed
    sequences = [o["sequence"] for o in payload["outcomes"]]
    assert len(set(sequences)) == len(sequences)  # one per interaction: story.index
    assert {s.split(".")[0] for s in sequences} == {"1", "2"}  # the two stories, in file order


def test_only_real_loopback_addresses_count_as_loopback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALON_CONTRACTS_ALLOW_HOSTS", raising=False)
    result = runner.invoke(
        cli, ["replay", *STORIES, "--target", "http://127.attacker.example.com", "--api-key", "k"]
    )
    assert result.exit_code == 2 and "refusing to replay against 127.attacker.example.com" in result.stderr
    assert engine.is_loopback("http://127.0.0.5:9000") and engine.is_loopback("http://[::1]:9000")
    # a name is what it resolves to: localhost does (to 127.0.0.1), a made-up *.localhost may not
    assert engine.is_loopback("http://localhost:9000") and not engine.is_loopback("http://localhost.invalid")
    assert not engine.is_loopback("http://no-such-name.invalid") and not engine.is_loopback("http://")


def test_compare_is_as_careful_as_its_least_safe_target(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["replay", "compare", *STORIES, "--candidate", "http://staging.invalid:1",
                                 "--allow-host", "staging.invalid", "--api-key", "k", "--quiet"])  # fmt: skip
    assert "writes: dry" in result.stderr and result.exit_code == 2  # dry writes, then: nobody answers


def test_a_report_path_that_cannot_be_written_is_refused_before_replaying(
    runner: CliRunner, tmp_path: Path
) -> None:
    for spec in (f"html:{tmp_path}", f"json:{tmp_path / 'missing-dir-is-fine' / 'r.json'}"):
        result = runner.invoke(cli, ["replay", STORIES[0], "--quiet", "--report", spec])
        if spec.startswith("html"):
            assert result.exit_code == 2 and "is a directory" in result.stderr
            assert "interaction(s)" not in result.stdout  # nothing was replayed
        else:
            assert result.exit_code == 0 and (tmp_path / "missing-dir-is-fine" / "r.json").exists()


def test_control_characters_cannot_break_the_junit_report_or_the_terminal(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    capture = tmp_path / "weird.jsonl"
    # (a control character in the URL is refused when read: a request line cannot carry it)
    record = {"request": {"method": "GET", "uri": "http://localhost:9000/v2/customer_sessions/red",
                          "headers": {"Authorization": ["ApiKey-v1 REDACTED"]}},
              "response": {"status": 200, "headers": {"Content-Type": ["application/json"]},
                           "body": json.dumps({"note": "\x1b[31mbell\x07 nul\x00"})}}  # fmt: skip
    capture.write_text(json.dumps(record) + "\n")
    report = tmp_path / "r.xml"
    result = runner.invoke(cli, ["replay", str(capture), "--target", planted.base_url, "--api-key", planted.api_key,
                                 "--quiet", "--report", f"junit:{report}", "--report", f"html:{tmp_path / 'r.html'}"])  # fmt: skip
    assert result.exit_code == 1, result.output
    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(report))
    assert "\x1b" not in result.stdout and '"\\u001b[31mbell\\u0007 nul\\u0000"' in result.stdout


def test_a_cassette_cannot_smuggle_a_second_request_through_a_header(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    # a header name or value with a line break would end the request early and start another one
    smuggled = "X-A: 1\r\nContent-Length: 0\r\n\r\nDELETE /v1/customer_data/victim HTTP/1.1\r\nX-B"
    capture = tmp_path / "smuggle.jsonl"
    records = [
        {"request": {"method": "GET", "uri": "http://localhost:9000/v2/customer_sessions/s1",
                     "headers": {smuggled: ["x"]}}, "response": {"status": 200, "headers": {}, "body": ""}},
        {"request": {"method": "GET", "uri": "http://localhost:9000/v2/customer_sessions/s1",
                     "headers": {"X-Note": ["1\r\nDELETE /v1/customer_data/victim HTTP/1.1"]}},
         "response": {"status": 200, "headers": {}, "body": ""}},
    ]  # fmt: skip
    capture.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(cli, ["replay", str(capture), "--target", planted.base_url, "--api-key", planted.api_key,
                                 "--quiet"])  # fmt: skip
    assert result.exit_code == 2 and "0 interaction(s)" in result.stdout  # nothing was sent
    assert "is not an RFC 9110 token" in result.stdout and "holds a control character" in result.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes are forked (POSIX)")
def test_worker_processes_report_the_same_findings(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    report = tmp_path / "replay.json"
    result = runner.invoke(cli, [*against(planted), "--processes", "2", "--report", f"json:{report}"])
    assert result.exit_code == 1, result.output
    payload = json.loads(report.read_text())
    outcomes = payload["outcomes"]
    assert len(outcomes) == payload["summary"]["interactions"] == 28  # 11 + 17, each once
    assert sorted((Path(o["file"]).name, o["index"]) for o in outcomes) == sorted(
        (Path(path).name, index)
        for path, count in ((STORIES[0], 11), (STORIES[1], 17))
        for index in range(count)
    )
    real = {
        c["live"] for o in outcomes if o["outcome"] == "changed" for c in o["changes"] if c["noise"] is None
    }
    assert real == {"Welcome discount (2027 edition)"}
    assert all(o["outcome"] in ("same", "noise", "changed") for o in outcomes)


def test_a_malfunction_of_the_tool_exits_2_and_every_report_says_so(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours on one interaction (here: the diff raises) is reported as a malfunction of
    talon-contracts, not as a finding about the API; the other interactions are still replayed."""
    from replay.engine import diff

    real, calls = diff.diff_responses, []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyError("a bug of ours")
        return real(*args, **kwargs)

    # wherever the engine's judging imported it from replay.engine.diff
    patched = [m for name, m in list(sys.modules.items())
               if name.startswith("replay.engine.") and name != "replay.engine.diff"
               and getattr(m, "diff_responses", None) is real]  # fmt: skip
    assert patched, "the engine no longer imports diff_responses: patch what judges an answer instead"
    for module in patched:
        monkeypatch.setattr(module, "diff_responses", broken)
    reports = tmp_path / "reports"
    result = runner.invoke(cli, ["replay", STORIES[0], "--quiet", "--concurrency", "1",
                                 "--report", f"json:{reports / 'r.json'}", "--report", f"junit:{reports / 'r.xml'}",
                                 "--report", f"html:{reports / 'r.html'}"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "MALFUNCTION" in result.stdout and "a bug of talon-contracts" in result.stdout
    assert "1 malfunction" in result.stdout.splitlines()[-1]

    payload = json.loads((reports / "r.json").read_text())
    assert payload["summary"]["interactions"] == 11 and payload["summary"]["outcomes"]["malfunction"] == 1
    (failed,) = [o for o in payload["outcomes"] if o["outcome"] == "malfunction"]
    assert failed["index"] == 1 and "KeyError" in failed["reason"]
    assert {o["outcome"] for o in payload["outcomes"]} - {"malfunction"} <= {"same", "noise", "skipped"}

    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(reports / "r.xml"))
    root = ElementTree.parse(reports / "r.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("11", "0", "1")
    (failure,) = root.iter("failure")
    assert failure.get("type") == "malfunction" and "a bug of talon-contracts" in (
        failure.get("message") or ""
    )
    assert "Malfunctions of talon-contracts (1 shown)" in (reports / "r.html").read_text()

    # a finding counted by --fail-on still decides the exit code
    calls.clear()
    assert runner.invoke(cli, ["replay", STORIES[0], "--quiet", "--concurrency", "1",
                               "--fail-on", "same"]).exit_code == 1  # fmt: skip
