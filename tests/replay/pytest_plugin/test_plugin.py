"""The pytest plugin, through pytester: options, ini settings and their precedence, fixtures (and
overriding them), markers, cassettes, and the session's coverage line."""

from __future__ import annotations

import pytest

SETTINGS_TEST = """
import pytest

def test_mode(talon_record_mode):
    print("MODE", talon_record_mode)

@pytest.mark.talon_record_mode("new_episodes")
def test_marked(talon_record_mode):
    print("MODE", talon_record_mode)
"""


def test_options_are_in_their_own_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*Talon.One Integration API contract testing*", "*--talon-base-url=*", "*--talon-api-key=*",
         "*--talon-contract=*", "*--talon-coverage-fail-under=N*", "*talon_coverage_fail_under (string)*"]
    )  # fmt: skip
    # recording is pytest-recording's, with its options
    result.stdout.fnmatch_lines(["*--record-mode=*", "*--block-network*"])


def test_markers_are_declared(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["*talon_contract(*operation_ids)*", "*talon_staging*", "*talon_record_mode(mode)*"]
    )


@pytest.mark.parametrize(
    ("conftest", "args", "expected"),
    [
        ("", [], ["MODE none", "MODE new_episodes"]),  # default; the marker wins anyway
        (
            "",
            ["--record-mode", "all"],
            ["MODE all", "MODE new_episodes"],
        ),  # the command line over the default
        (  # vcr_config over the command line (pytest-recording's order), the marker over both
            "import pytest\n\n@pytest.fixture\ndef vcr_config():\n    return {'record_mode': 'once'}\n",
            ["--record-mode", "all"],
            ["MODE once", "MODE new_episodes"],
        ),
    ],
)
def test_record_mode_precedence(
    pytester: pytest.Pytester, conftest: str, args: list[str], expected: list[str]
) -> None:
    if conftest:
        pytester.makeconftest(conftest)
    pytester.makepyfile(SETTINGS_TEST)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*{line}*" for line in expected])


def test_the_client_talks_to_the_sandbox_and_the_session_reports_coverage(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from contracts.client import ApiError

        def test_profile(talon_client):
            answer = talon_client.update_customer_profile_v2("plugin-ana", {"attributes": {"Language": "en"}})
            assert answer.data["customerProfile"]["integrationId"] == "plugin-ana"

        @pytest.mark.talon_contract("getCustomerSession")
        def test_unknown_session(talon_client):
            with pytest.raises(ApiError) as caught:
                talon_client.get_customer_session("no-such-session")
            assert caught.value.status == 404
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*talon-contracts coverage*", "2 of 28 operations exercised", "not exercised: *"]
    )
    assert "updateCustomerProfileV2" not in result.stdout.str().split("not exercised:")[1]


def test_strict_validation_fails_the_test_with_the_violation(pytester: pytest.Pytester) -> None:
    """Overriding talon_base_url (a fixture like any other) to a server that answers out of contract."""
    pytester.makeconftest(
        """
        import json, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import pytest

        class Broken(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"customerSession": {"id": "not-a-number"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass

        @pytest.fixture(scope="session")
        def talon_base_url():
            server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            yield f"http://127.0.0.1:{server.server_address[1]}"
            server.shutdown()

        @pytest.fixture(scope="session")
        def talon_api_key():
            return "k"
        """
    )
    pytester.makepyfile(
        """
        def test_session(talon_client):
            talon_client.get_customer_session("s1")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ContractViolationError*", "*getCustomerSession*/customerSession/id*"])


def test_staging_tests_are_skipped_without_a_staging_system(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALON_API_KEY", raising=False)
    monkeypatch.delenv("TALON_BASE_URL", raising=False)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.talon_staging
        def test_on_staging():
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a staging system: give --talon-base-url and --talon-api-key*"])


def test_cassettes_record_once_with_redaction_then_replay(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_recorded(talon_cassette, talon_client):
            answer = talon_client.update_customer_profile_v2("rec-1", {"attributes": {"Name": "Ana Lima"}})
            assert answer.status == 200
        """
    )
    first = pytester.runpytest("--record-mode", "once")
    first.assert_outcomes(passed=1)
    module = next(pytester.path.glob("test_*.py")).stem
    cassette = pytester.path / "cassettes" / module / "test_recorded.yaml"  # pytest-recording's layout
    text = cassette.read_text()
    assert "Ana Lima" not in text and "sandbox-api-key" not in text and "ApiKey-v1 REDACTED" in text
    again = pytester.runpytest()  # record mode none: the cassette answers
    again.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            'talon_record_mode("sometimes")',
            "*talon_record_mode takes one of none, once, new_episodes, all, rewrite*",
        ),
    ],
)
def test_bad_markers_are_usage_errors(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.{marker}\ndef test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_base_url_without_a_key_fails_clearly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALON_API_KEY", raising=False)
    pytester.makepyfile("def test_x(talon_client):\n    pass\n")
    result = pytester.runpytest("--talon-base-url", "http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--talon-base-url needs --talon-api-key (or TALON_API_KEY)*"])
    assert "Traceback" not in result.stdout.str()


# --------------------------------------------------------------------------- cassettes as tests


def _corpus_copy(pytester: pytest.Pytester, *names: str) -> None:
    from ..helpers import CORPUS

    folder = pytester.mkdir("cassettes")
    for name in names:
        (folder / name).write_bytes((CORPUS / name).read_bytes())


def test_cassettes_are_collected_as_tests_with_readable_ids(pytester: pytest.Pytester) -> None:
    _corpus_copy(pytester, "catalog-sync.yaml", "checkout-coupon-referral.yaml")
    pytester.makefile(".yaml", settings="version: 1\nnot: a cassette\n")  # an unrelated YAML file
    result = pytester.runpytest("cassettes", "-v")
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["cassettes/catalog-sync.yaml::0-syncCatalog PASSED*",
                                 "cassettes/checkout-coupon-referral.yaml::2-updateCustomerSessionV2 PASSED*"])  # fmt: skip
    assert "settings.yaml" not in result.stdout.str()
    selected = pytester.runpytest("cassettes", "-k", "updateCustomerSessionV2")
    selected.assert_outcomes(passed=5)  # one in catalog-sync, four in the checkout


def test_a_violating_interaction_fails_with_its_violations(pytester: pytest.Pytester) -> None:
    import json

    from replay.cassettes import to_jsonl

    from ..helpers import corpus

    folder = pytester.mkdir("captures")
    good = json.dumps(to_jsonl(corpus("checkout-coupon-referral")[4]))  # a recorded getCustomerSession
    bad = '{"request": {"method": "GET", "uri": "http://h/v2/customer_sessions/b"}, "response": {"status": 200, "headers": {"Content-Type": ["application/json"]}, "body": "{\\"customerSession\\": {\\"id\\": \\"x\\"}}"}}'
    (folder / "capture.jsonl").write_text(f"{good}\n{bad}\n{{broken\n{bad}\n")
    result = pytester.runpytest("--talon-verify-cassettes", "captures", "captures", "--junitxml=report.xml")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*capture.jsonl#1 (line 2): GET http://h/v2/customer_sessions/b*",
                                 "*getCustomerSession response 200: body/customerSession/id: expected integer*",
                                 "*unreadable: *capture.jsonl:3*"])  # fmt: skip
    junit = (pytester.path / "report.xml").read_text()
    assert 'name="1-getCustomerSession"' in junit and "<failure" in junit
    first_failure = pytester.runpytest("--talon-verify-cassettes", "captures", "captures", "-x")
    first_failure.assert_outcomes(passed=1, failed=1)


def test_cassette_items_run_under_xdist(pytester: pytest.Pytester) -> None:
    _corpus_copy(pytester, "loyalty-card.yaml", "cancelled-order.yaml")
    result = pytester.runpytest("cassettes", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=23)


PROPERTY_TEST = """
import copy
import schemathesis
from contracts import load_contract
from contracts.sandbox import make_app

schema = schemathesis.openapi.from_dict(copy.deepcopy(load_contract().document.data))
schema = schema.include(operation_id=["getCustomerInventory", "getReservedCustomers"])
schema.app = make_app()
schema.config.update(headers={"Authorization": "ApiKey-v1 sandbox-api-key"})
schema.config.generation.update(max_examples=3)

@schema.parametrize()
def test_api(case):
    case.call_and_validate()
"""


def test_schemathesis_items_count_as_their_operations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_props=PROPERTY_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*talon-contracts coverage*", "2 of 28 operations exercised"])
    # a deselected operation is not counted
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "inventory")
    result.stdout.fnmatch_lines(["1 of 28 operations exercised"])
    # xdist workers send the items' labels to the controller
    result = pytester.runpytest("-p", "no:cacheprovider", "-n", "2", "-p", "xdist")
    result.stdout.fnmatch_lines(["2 of 28 operations exercised"])


def test_schemathesis_tests_of_another_api_print_no_coverage(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other="""
import schemathesis

schema = schemathesis.openapi.from_dict({
    "openapi": "3.0.3", "info": {"title": "other", "version": "1"},
    "paths": {"/pets": {"get": {"responses": {"200": {"description": "OK"}}}}},
})

@schema.parametrize()
def test_api(case):
    assert case.path == "/pets"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "talon-contracts coverage" not in result.stdout.str()


RECORDING_TEST = """
import pytest

@pytest.mark.parametrize("operation", ["createAudienceV2", "syncCatalog", "deleteCustomerData"])
def test_stateful_machine_says_what_it_called(talon_coverage, operation):
    talon_coverage.record(operation)
    assert operation in talon_coverage.exercised
"""


def test_talon_coverage_refuses_an_unknown_operation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_typo="def test_typo(talon_coverage):\n    talon_coverage.record('createAudience')\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown operation 'createAudience'; valid: *createAudienceV2*"])


@pytest.mark.parametrize("args", [[], ["-n", "2", "-p", "xdist"]], ids=["one-process", "xdist"])
def test_talon_coverage_records_and_xdist_workers_report_to_the_controller(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    pytester.makepyfile(test_recording=RECORDING_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["3 of 28 operations exercised", "not exercised: *"])
    missing = next(line for line in result.stdout.lines if line.startswith("not exercised: "))
    assert "getCustomerSession" in missing
    assert not {"createAudienceV2", "syncCatalog", "deleteCustomerData"} & set(missing[15:].split(", "))
