"""``talon-contracts diff`` through CliRunner: exit codes, formats, policies, git and bad input."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from click.testing import CliRunner

from contracts.specdiff.rules import RULES
from replay.cli import cli

from ..conftest import FIXTURES
from ..helpers import CORPUS as CASSETTES
from .conftest import STORIES

V6 = str(FIXTURES / "vendor" / "talon-integration-v6.0.0.yaml")
V7 = str(FIXTURES / "vendor" / "talon-integration-v7.0.0.yaml")


def _run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, [*args, "--quiet"] if args[0] in ("diff", "upgrade-check") else list(args))


def test_diff_of_the_last_two_releases_fails_on_the_new_enum_values(runner: CliRunner) -> None:
    result = _run(runner, "diff", V6, V7)
    assert result.exit_code == 1, result.output
    assert "28 operation(s) compared: 4 ERR, 0 WARN, 5 INFO (fail on ERR)" in result.stdout
    assert (
        "response-enum-value-added" in result.stdout and "talon-integration-v7.0.0.yaml:1899" in result.stdout
    )
    assert _run(runner, "diff", V7, V7).exit_code == 0


def test_severity_and_fail_on_decide_the_exit_code(runner: CliRunner) -> None:
    assert _run(runner, "diff", V6, V7, "--severity", "response-enum-value-added=WARN").exit_code == 0
    assert (
        _run(
            runner, "diff", V6, V7, "--severity", "response-enum-value-added=WARN", "--fail-on", "WARN"
        ).exit_code
        == 1
    )
    assert _run(runner, "diff", V7, V6, "--fail-on", "info").exit_code == 1
    assert _run(runner, "diff", V7, V6).exit_code == 1  # a list parameter that takes a single value again


def test_an_ignore_file_ignores_with_its_reason_and_reports_its_stale_entries(
    runner: CliRunner, tmp_path: Path
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "ignore:\n"
        "  - rule: response-enum-value-added\n    location: 'response 200 body/triggeredCampaigns/*'\n"
        "    reason: we do not read campaigns\n"
        "  - rule: operation-removed\n    reason: nothing is removed\n"
        "  - rule: request-parameter-added\n    reason: too late\n    until: 2020-01-01\n"
    )
    result = _run(runner, "diff", V6, V7, "--ignore-file", str(ignore))
    assert result.exit_code == 0, result.output
    assert "0 ERR, 0 WARN, 5 INFO, 4 ignored" in result.stdout
    assert "ignored: we do not read campaigns" in result.stdout
    assert re.search(r"ignore entry .*ignore.yaml:5 \(operation-removed\) matches no change", result.stdout)
    assert re.search(
        r"ignore entry .*ignore.yaml:7 \(request-parameter-added\) expired on 2020-01-01", result.stdout
    )


def test_json_report(runner: CliRunner) -> None:
    result = _run(runner, "diff", V6, V7, "--format", "json", "--traffic", str(CASSETTES))
    payload = json.loads(result.stdout)
    assert (
        payload["counts"] == {"ERR": 4, "INFO": 5} and payload["exit_code"] == 1 and payload["findings"] == 4
    )
    first = next(c for c in payload["changes"] if c["operation"] == "updateCustomerSessionV2")
    assert first["rule"] == "response-enum-value-added" and first["new"]["line"] == 1899
    assert first["traffic"]["count"] == 2 and first["in_traffic"] is True
    assert payload["traffic"]["interactions"] == 149 and payload["traffic"]["rejected_count"] == 0


def test_junit_report_is_valid_and_names_are_stable(runner: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    assert _run(runner, "diff", V6, V7, "--report", f"junit:{first}").exit_code == 1
    assert _run(runner, "diff", V6, V7, "--report", f"junit:{second}", "--traffic", STORIES[0]).exit_code == 1
    schema = xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd"))
    schema.validate(str(first))
    schema.validate(str(second))

    def names(path: Path) -> list[tuple[str, str]]:
        return re.findall(r'<testcase classname="([^"]+)" name="([^"]+)"', path.read_text())

    assert names(first) == names(second)
    assert ("updateCustomerSessionV2", "response-enum-value-added") in names(first)
    assert len(names(first)) == 9  # one per rule and operation
    assert 'failures="4"' in first.read_text()


def test_markdown_and_github_and_html(runner: CliRunner, tmp_path: Path) -> None:
    markdown = _run(runner, "diff", V6, V7, "--format", "markdown").stdout
    assert "| Level | Rule | Operation | Where | Change |" in markdown
    assert "| **ERR** | `response-enum-value-added` | updateCustomerSessionV2 |" in markdown
    github = _run(runner, "diff", V6, V7, "--format", "github").stdout.splitlines()
    assert len(github) == 9
    assert re.fullmatch(r"::error file=[^,]*talon-integration-v7.0.0.yaml,line=1899,title=response-enum-value-added "
                        r"\(returnCartItems\)::response 200 body/triggeredCampaigns/\*/frontendState: enum .*",
                        github[0])  # fmt: skip
    assert sum(line.startswith("::notice ") for line in github) == 5
    page = tmp_path / "r.html"
    assert _run(runner, "diff", V6, V7, "--output", str(page), "--format", "html").exit_code == 1
    assert "<table>" in page.read_text() and "response-enum-value-added" in page.read_text()


def test_rules_table(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["diff", "--rules"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(RULES)
    table = json.loads(runner.invoke(cli, ["diff", "--rules", "json"]).stdout)
    assert {r["id"] for r in table} == set(RULES)


def test_the_rules_document_is_the_table(runner: CliRunner) -> None:
    """docs/upgrade-rules.md is written from the rules; regenerate it with `talon-contracts diff --rules markdown`."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "upgrade-rules.md").read_text()
    assert runner.invoke(cli, ["diff", "--rules", "markdown"]).stdout in doc


def test_whole_documents_and_all_operations(runner: CliRunner, tmp_path: Path) -> None:
    paths = []
    for version in ("6.0.0", "7.0.0"):
        path = tmp_path / f"talon-v{version}.yaml"
        path.write_bytes(
            gzip.decompress((FIXTURES / "vendor" / "releases" / f"talon-v{version}.yaml.gz").read_bytes())
        )
        paths.append(str(path))
    default = json.loads(_run(runner, "diff", *paths, "--format", "json").stdout)
    assert default["operations"] == 28 and len(default["changes"]) == 9
    every = json.loads(_run(runner, "diff", *paths, "--format", "json", "--all-operations").stdout)
    assert every["operations"] == 180 and len(every["changes"]) == 21


def test_a_document_read_from_git(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path,
                       check=True, capture_output=True)  # fmt: skip

    git("init", "-q")
    shutil.copy(V6, tmp_path / "api.yaml")
    git("add", "api.yaml")
    git("commit", "-q", "-m", "v6")
    shutil.copy(V7, tmp_path / "api.yaml")
    monkeypatch.chdir(tmp_path)
    result = _run(runner, "diff", "HEAD:api.yaml", "api.yaml", "--format", "github")
    assert result.exit_code == 1 and result.stdout.startswith("::error file=api.yaml,line=1899,")
    result = _run(runner, "diff", "HEAD~4:api.yaml", "api.yaml")
    assert (
        result.exit_code == 2 and "git cannot read it" in result.stderr and "Traceback" not in result.output
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": 'swagger: "2.0"\ninfo: {title: x, version: "1"}\npaths: {}\n'}, "Swagger 2.0"),
        ({"a.yaml": "just: text\n"}, "is it an OpenAPI document"),
        ({"a.yaml": "{{{\n"}, "a.yaml:2: while parsing a flow node"),
        ({"a.yaml": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\ncomponents: {schemas: {A: {$ref: "
                    "'#/components/schemas/A'}}}\n"}, "loops back on itself"),
        ({"a.yaml": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {/a: {get: {responses: {'200': "
                    "{description: ok, content: {application/json: {schema: {$ref: '#/nope'}}}}}}}}\n"}, "points at nothing"),
    ],
)  # fmt: skip
def test_bad_documents_exit_2_with_one_line(
    runner: CliRunner, tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = _run(runner, "diff", str(tmp_path / "a.yaml"), V7)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--severity", "response-enum-value-adde=WARN"], "did you mean response-enum-value-added"),
        (["--severity", "response-enum-value-added"], "expected RULE=LEVEL"),
        (["--fail-on", "FATAL"], "'FATAL' is not one of"),
        (["--report", "pdf:x.pdf"], "expected FORMAT:PATH"),
        (["--ignore-file", "missing.yaml"], "No such file"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = _run(runner, "diff", V6, V7, *args)
    assert result.exit_code == 2 and message in result.output


def test_an_ignore_file_with_a_typo_in_a_rule_id_lists_the_closest(runner: CliRunner, tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("- rule: response-property-remove\n  reason: r\n")
    result = _run(runner, "diff", V6, V7, "--ignore-file", str(ignore))
    assert result.exit_code == 2
    assert (
        "unknown rule id 'response-property-remove'; did you mean response-property-removed" in result.stderr
    )


def test_annotations_name_the_file_of_a_git_revision(runner: CliRunner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if shutil.which("git") is None:
        pytest.skip("git is not installed")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path,
                       check=True, capture_output=True)  # fmt: skip

    git("init", "-q", "-b", "main")
    (tmp_path / "spec").mkdir()
    shutil.copy(V7, tmp_path / "spec" / "api.yaml")
    git("add", ".")
    git("commit", "-q", "-m", "v7")
    git("checkout", "-q", "-b", "feature/next")
    shutil.copy(V6, tmp_path / "spec" / "api.yaml")
    git("commit", "-q", "-am", "v6")
    monkeypatch.chdir(tmp_path)
    result = _run(runner, "diff", "main:spec/api.yaml", "feature/next:spec/api.yaml", "--format", "github")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines and all(re.match(r"::\w+ file=spec/api.yaml[,:]", line) for line in lines), lines


def test_documents_without_any_contract_operation_need_all_operations(
    runner: CliRunner, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {/pets: {get: {operationId: listPets, "
                     "responses: {'200': {description: ok}}}}}\n")  # fmt: skip
    result = _run(runner, "diff", str(other), str(other))
    assert result.exit_code == 2 and "compare them with --all-operations" in result.stderr
    assert _run(runner, "diff", str(other), str(other), "--all-operations").exit_code == 0


def test_reports_show_odd_text_as_text(runner: CliRunner, tmp_path: Path) -> None:
    def doc(enum: list[str]) -> Path:
        schema = {"type": "object", "properties": {"new\nline|`<b>x</b>`": {"type": "string", "enum": enum}}}
        data = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/t": {"get": {
            "operationId": "getThing", "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": schema}}}}}}}}  # fmt: skip
        path = tmp_path / f"{len(enum)}.json"
        path.write_text(json.dumps(data))
        return path

    old, new = doc(["a"]), doc(["a", "b|c"])
    text = _run(runner, "diff", str(old), str(new), "--all-operations").stdout
    assert "body/new\\nline|`<b>x</b>`: enum value(s)" in text  # one line
    markdown = _run(runner, "diff", str(old), str(new), "--all-operations", "--format", "markdown").stdout
    row = next(line for line in markdown.splitlines() if "response-enum-value-added" in line)
    assert row.count(" | ") == 4  # five cells: nothing in the text made another
    assert "<b>" not in row and "&lt;b&gt;" in row
    github = _run(runner, "diff", str(old), str(new), "--all-operations", "--format", "github").stdout
    assert len(github.splitlines()) == 1


def test_the_overlay_can_be_applied_to_one_side(runner: CliRunner) -> None:
    """Our overlay on the new side only: what it adds (the 204 of silent=yes, the 404s we decided) shows as changes."""
    payload = json.loads(_run(runner, "diff", V7, V7, "--overlay", "new", "--format", "json").stdout)
    added = {(c["operation"], c["rule"]) for c in payload["changes"]}
    assert ("trackEventV2", "response-success-status-added") in added
    assert ("getCustomerSession", "response-error-status-added") in added
    assert (
        json.loads(_run(runner, "diff", V7, V7, "--overlay", "both", "--format", "json").stdout)["changes"]
        == []
    )


def test_what_hits_the_traffic_comes_first_and_the_rest_is_marked(runner: CliRunner) -> None:
    text = _run(runner, "diff", V6, V7, "--traffic", STORIES[0]).stdout  # the checkout story only
    operations = re.findall(r"^(\w+)  (?:GET|PUT|POST|DELETE) ", text, re.MULTILINE)
    assert operations[:2] == ["updateCustomerSessionV2", "getLoyaltyBalances"]  # both touched by the story
    assert "getLoyaltyCardPoints  GET /v1/loyalty_programs/{loyaltyProgramId}/cards/{loyaltyCardId}/points  " \
           "[not in your traffic]" in text  # fmt: skip
    assert operations.index("returnCartItems") > operations.index("getLoyaltyBalances")
