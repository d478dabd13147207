"""Recording is pytest-recording's (its layout, options and fixtures), with the plugin's redaction
under every cassette it saves and its judging of a Talon test's cassette. Through pytester."""

from __future__ import annotations

import pytest

SESSION = """
def update(base_url, key, name="Ana Lima"):
    import requests
    return requests.put(f"{base_url}/v2/customer_profiles/p-1", headers={"Authorization": f"ApiKey-v1 {key}"},
                        json={"attributes": {"Name": name}})
"""


def test_same_named_tests_of_two_modules_keep_their_own_cassettes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(talon_calls=SESSION)
    body = "from talon_calls import update\n\ndef test_create(talon_cassette, talon_base_url, talon_api_key):\n" \
           "    assert update(talon_base_url, talon_api_key, {name!r}).status_code == 200\n"  # fmt: skip
    pytester.makepyfile(test_users=body.format(name="Ana Lima"), test_profiles=body.format(name="Bo Berg"))
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "once").assert_outcomes(passed=2)
    users, profiles = (
        pytester.path / "cassettes" / m / "test_create.yaml" for m in ("test_users", "test_profiles")
    )
    assert users.is_file() and profiles.is_file() and users.read_text() != profiles.read_text()
    # played back, each module its own (before: one cassettes/test_create.yaml for both, and
    # CannotOverwriteExistingCassetteException in the second)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_cassette_kept_where_it_was_before_is_named_with_its_new_place(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "test_old.yaml").write_text("interactions: []\nversion: 1\n")
    pytester.makepyfile(test_moved="def test_old(talon_cassette):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes are kept per module now*git mv *cassettes/test_old.yaml *cassettes/test_moved/test_old.yaml*"
        ]
    )


def test_a_vcr_marked_test_is_redacted_whatever_its_vcr_config_hooks_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(talon_calls=SESSION)
    pytester.makeconftest(
        """
import pytest

from vcr.persisters.filesystem import FilesystemPersister

@pytest.fixture
def vcr_config():  # a team's own hooks and persister, replacing vcrpy's: the plugin's redaction happens anyway
    return {"before_record_request": lambda request: request, "persister": FilesystemPersister}
"""
    )
    pytester.makepyfile(
        test_shop="""
import pytest
import requests
from talon_calls import update

@pytest.mark.vcr
def test_profile(talon_base_url, talon_api_key):
    assert update(talon_base_url, talon_api_key).status_code == 200
    requests.get(f"{talon_base_url}/v1/applications", headers={"Authorization": "ManagementKey-v1 keep"})
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "once")
    result.assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_shop" / "test_profile.yaml").read_text()
    assert "Ana Lima" not in text and "ApiKey-v1 REDACTED" in text
    assert "ManagementKey-v1 keep" in text  # another API's exchange: the team's vcr_config decides


def test_a_vcr_marked_cassette_is_judged_under_talon_traffic(pytester: pytest.Pytester) -> None:
    from .test_traffic import CASSETTE

    (pytester.path / "cassettes" / "test_marked").mkdir(parents=True)
    (pytester.path / "cassettes" / "test_marked" / "test_checkout.yaml").write_text(CASSETTE)
    pytester.makepyfile(
        test_marked="""
import pytest
import requests

pytestmark = [pytest.mark.vcr(match_on=["method", "path"]), pytest.mark.talon_traffic]

def test_checkout(talon_base_url):
    answer = requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true", json={"customerSession": {}})
    assert answer.status_code == 200  # the cassette answered
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the cassette*test_checkout.yaml*", "*createdCoupons*"])


def test_record_mode_rewrite_records_the_cassette_anew(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(talon_calls=SESSION)
    pytester.makepyfile(test_rw="from talon_calls import update\n\n"
                        "def test_one(talon_cassette, talon_base_url, talon_api_key):\n"
                        "    update(talon_base_url, talon_api_key)\n")  # fmt: skip
    cassette = pytester.path / "cassettes" / "test_rw" / "test_one.yaml"
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "once").assert_outcomes(passed=1)
    cassette.write_text(cassette.read_text().replace("customer_profiles/p-1", "customer_profiles/stale"))
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "rewrite").assert_outcomes(passed=1)
    text = cassette.read_text()
    assert "stale" not in text and text.count("uri:") == 1


BLOCKED = """
import socket
import pytest
import requests

def test_sandbox_is_reachable(talon_client):
    assert talon_client.update_customer_profile_v2("p-1", {"attributes": {}}).status == 200

def test_elsewhere_is_not():
    with pytest.raises(Exception, match="Network is disabled"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never a real host
"""


@pytest.mark.parametrize("extra", [[], ["--allowed-hosts", r"10\\.1\\.2\\.3"]])
def test_block_network_allows_the_loopback_sandbox_only(pytester: pytest.Pytester, extra: list[str]) -> None:
    pytester.makepyfile(test_blocked=BLOCKED)
    result = pytester.runpytest("-p", "no:cacheprovider", "--block-network", *extra)
    result.assert_outcomes(passed=2)


def test_talon_cassette_without_pytest_recording_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(talon_cassette):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:recording")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*talon_cassette records through pytest-recording*-p no:recording*"])
    assert "Traceback" not in result.stdout.str()


def test_the_api_key_in_use_is_scrubbed_from_exchanges_on_paths_the_contract_does_not_serve(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALON_API_KEY", "s3cr3t-integration-key-0001")
    pytester.makepyfile(
        test_newer="""
import os
import requests

def test_newer_endpoint(talon_cassette, talon_base_url):  # one a newer SDK calls: v7.0.0 has no such path
    requests.get(f"{talon_base_url}/v2/experiments/1", headers={"Authorization": f"ApiKey-v1 {os.environ['TALON_API_KEY']}"})
"""
    )
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "once").assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_newer" / "test_newer_endpoint.yaml").read_text()
    assert "/v2/experiments/1" in text and "s3cr3t-integration-key-0001" not in text


def test_a_vcr_marker_on_the_function_wins_over_talon_record_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_modes="""
import pytest

@pytest.mark.talon_record_mode("once")
@pytest.mark.vcr(record_mode="none")
def test_nearest(talon_cassette, talon_record_mode):
    print("MODES", talon_cassette.record_mode.value, talon_record_mode)

@pytest.mark.talon_record_mode("all")
def test_alone(talon_cassette, talon_record_mode):
    print("MODES", talon_cassette.record_mode.value, talon_record_mode)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*MODES none none*", "*MODES all all*"])


@pytest.mark.parametrize("marker", ["block_network", r"block_network(allowed_hosts=['10\\.9\\.9\\.9'])"])
def test_a_block_network_marker_lets_the_sandbox_through_too(pytester: pytest.Pytester, marker: str) -> None:
    pytester.makepyfile(
        test_marked=f"""
import socket
import pytest

@pytest.mark.{marker}
def test_sandbox(talon_client):
    assert talon_client.update_customer_profile_v2("p-1", {{"attributes": {{}}}}).status == 200
    with pytest.raises(Exception, match="Network is disabled"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
