"""``talon-contracts verify``: findings by file, index, operation and pointer; JSON and JUnit reports."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import xmlschema
from click.testing import CliRunner

from replay.cli import cli
from tests.conftest import VENDOR_V6

from ..conftest import FIXTURES
from ..helpers import CORPUS, jsonl, session_exchange


def _bad_capture(tmp_path: Path) -> Path:
    """A JSON Lines capture: one good exchange, one wrong answer, one unknown URL."""
    wrong = session_exchange(body=json.dumps({"customerSession": {"id": "seven"}}).encode())
    path = tmp_path / "capture.jsonl"
    unknown = b'{"request": {"method": "GET", "uri": "http://h/v9/nothing"}, "response": {"status": 200}}\n'
    path.write_bytes(jsonl([session_exchange(), wrong]) + unknown)
    return path


def test_verify_the_corpus_is_clean(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["verify", str(CORPUS)])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("all conform")
    assert result.stdout.count("ok   ") == len(list(CORPUS.glob("*.yaml")))


def test_verify_names_file_index_operation_pointer_and_expectation(runner: CliRunner, tmp_path: Path) -> None:
    path = _bad_capture(tmp_path)
    result = runner.invoke(cli, ["verify", str(path)])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert f"FAIL {path} [jsonl]: 3 interaction(s)" in out
    assert "#1 (line 2) GET http://localhost:9000/v2/customer_sessions/order-1 -> getCustomerSession" in out
    assert 'response 200: body/customerSession/id: expected integer, got string "seven"' in out
    assert 'expected: "integer"' in out
    assert "#2 (line 3) GET http://h/v9/nothing -> no operation" in out  # reported, not dropped
    assert "no operation of the contract matches GET /v9/nothing" in out


def test_verify_json_and_junit(runner: CliRunner, tmp_path: Path) -> None:
    path = _bad_capture(tmp_path)
    result = runner.invoke(cli, ["verify", "--format", "json", str(path)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["exit_code"] == 1 and payload["interactions"] == 3
    finding = next(f for f in payload["findings"] if f["keyword"] == "type")
    assert finding | {"file": str(path), "index": 1, "line": 2, "operation_id": "getCustomerSession",
                      "pointer": "/customerSession/id", "expected": "integer"} == finding  # fmt: skip

    report = tmp_path / "reports" / "verify.xml"
    result = runner.invoke(cli, ["verify", "--format", "junit", "--output", str(report), str(path)])
    assert result.exit_code == 1
    assert f"report: {report}" in result.stderr
    root = ElementTree.parse(report).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3"
    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(report))
    cases = {c.get("name"): c.find("failure") is not None for c in root.findall("./testsuite/testcase")}
    assert cases == {  # one case per interaction, named as the replay report names it: no count in a name
        "0 getCustomerSession": False,
        "1 getCustomerSession": True,
        "2 GET": True,  # no operation matched: reported, not dropped
    }
    assert {c.get("classname") for c in root.iter("testcase")} == {str(path)}
    assert root.get("failures") == "2" and root.get("errors") == "0"

    streamed = runner.invoke(cli, ["verify", "--format", "junit", str(path)])  # to standard output
    assert streamed.exit_code == 1 and streamed.stdout == report.read_text()


def test_verify_junit_reports_unreadable_parts_as_errors(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(jsonl([session_exchange()]) + b'{"request": {"method": "GET"')
    report = tmp_path / "verify.xml"
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(
        cli, ["verify", "--format", "junit", "--output", str(report), str(path), str(missing)]
    )
    assert result.exit_code == 2
    xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd")).validate(str(report))
    root = ElementTree.parse(report).getroot()
    assert root.get("tests") == "3" and root.get("errors") == "2" and root.get("failures") == "0"
    errors = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert {f.get("type") for c in errors for f in c.iter("failure")} == {"error"}
    assert next(c.get("name") for c in errors) == "unreadable interaction 1"


def test_verify_unreadable_input_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["verify", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "no such file or directory" in result.stdout

    broken = tmp_path / "broken.har"
    broken.write_text('{"log": {"version": "1.2"}}')
    result = runner.invoke(cli, ["verify", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}: a HAR file needs log.entries" in result.stdout
    assert "Traceback" not in result.output


def test_verify_against_another_contract(runner: CliRunner) -> None:
    """The v6 document (without our overlay) disagrees with recordings of v7 behaviour."""
    result = runner.invoke(
        cli, ["verify", "--contract", str(VENDOR_V6), str(CORPUS / "checkout-coupon-referral.yaml")]
    )
    assert result.exit_code in (0, 1) and "interaction(s)" in result.stdout
    result = runner.invoke(cli, ["verify", "--contract", "/nonexistent.yaml", str(CORPUS)])
    assert result.exit_code == 2
