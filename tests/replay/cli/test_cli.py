from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from replay.cassettes.reading import read_interactions
from replay.cli import cli, main
from tests.conftest import VENDOR_V6
from tests.contracts.test_spec import QUIRKY, REFERENCE_OPERATIONS

from ..helpers import CORPUS, har, jsonl, session_exchange


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


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


def test_main_turns_unexpected_errors_into_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import replay.cli

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(replay.cli, "load_spec", boom)
    monkeypatch.delenv("TALON_CONTRACTS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "internal error: RuntimeError: kaboom" in capsys.readouterr().err


def test_console_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "0.1.0" in capsys.readouterr().out


def test_validate_reports_schemas_the_validator_cannot_compile(runner: CliRunner, tmp_path: Path) -> None:
    from tests.contracts.test_spec import CRASHY

    path = tmp_path / "crashy.yaml"
    path.write_text(CRASHY)
    result = runner.invoke(cli, ["validate", "--contract", str(path), "--no-overlay"])
    assert result.exit_code == 0
    assert "schema cannot be compiled" in result.stderr
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- verify / coverage / record


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
    cases = {c.get("name"): c.find("failure") is not None for c in root.findall("./testsuite/testcase")}
    assert cases == {
        "interaction 1 (getCustomerSession)": True,
        "interaction 2": True,  # no operation matched: reported, not dropped
        "1 conforming interaction(s)": False,
    }


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
    assert result.exit_code == 2 and "not a valid JSONPath" in result.stderr


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


def test_convert_a_browser_har_to_redacted_json_lines(runner: CliRunner, tmp_path: Path) -> None:
    exchanges = [session_exchange("a"), session_exchange("b")]
    for exchange in exchanges:
        exchange.request.headers["Authorization"] = ["ApiKey-v1 " + "c0ffee" * 8]  # what devtools export
    source = tmp_path / "capture.har"
    source.write_bytes(har(exchanges))
    target = tmp_path / "capture.jsonl"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    assert f"2 interaction(s) -> {target} [jsonl]" in result.stderr
    assert "c0ffee" not in target.read_text() and "ApiKey-v1 REDACTED" in target.read_text()
    assert runner.invoke(cli, ["verify", str(target)]).exit_code == 0


def test_convert_refuses_to_write_a_credential(runner: CliRunner, tmp_path: Path) -> None:
    leaky = session_exchange(body=json.dumps({"note": "ApiKey-v1 0123456789abcdef"}).encode())
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange(), leaky]))
    target = tmp_path / "out.yaml"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 2
    assert "interaction 1, response body" in result.stderr
    assert not target.exists()


def test_convert_keeps_what_it_can_read(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "capture.jsonl"
    source.write_bytes(jsonl([session_exchange("a"), session_exchange("b")]) + b'{"request": {"meth')
    target = tmp_path / "out.yaml"
    result = runner.invoke(cli, ["convert", str(source), str(target)])
    assert result.exit_code == 2 and "truncated" in result.stderr and "1 part(s)" in result.stderr
    assert [i.index for i in read_interactions(target)] == [0, 1]
    assert runner.invoke(cli, ["convert", str(target), str(target)]).exit_code == 2  # same file: refused
