"""The team's *own* calls checked in CI (issue 18), through pytester: whichever client the shop's code
uses (plain requests, urllib3 as the official SDK does, httpx), its exchanges with the API are
judged against the contract, and a cassette that breaks it fails in playback."""

from __future__ import annotations

import pytest

SHOP = """
import json
import pytest

BAD = {"customerSession": {"profileId": "p-1", "cartItems": [{"sku": "a", "quantity": "2", "price": 1}]}}
GOOD = {"customerSession": {"profileId": "p-1", "cartItems": [{"sku": "a", "quantity": 2, "price": 1}]}}


def checkout_requests(base_url, key, body):
    import requests
    return requests.put(f"{base_url}/v2/customer_sessions/s-1?dry=true", json=body,
                        headers={"Authorization": f"ApiKey-v1 {key}"}, timeout=10).status_code


def checkout_urllib3(base_url, key, body):
    import urllib3
    answer = urllib3.PoolManager().request("PUT", f"{base_url}/v2/customer_sessions/s-1?dry=true",
                                           body=json.dumps(body), headers={"Authorization": f"ApiKey-v1 {key}",
                                                                           "Content-Type": "application/json"})
    return answer.status


def checkout_httpx(base_url, key, body):
    import httpx
    return httpx.put(f"{base_url}/v2/customer_sessions/s-1?dry=true", json=body,
                     headers={"Authorization": f"ApiKey-v1 {key}"}).status_code
"""


@pytest.mark.parametrize("client", ["requests", "urllib3", "httpx"])
def test_a_wrong_type_sent_by_the_shops_own_code_is_named(pytester: pytest.Pytester, client: str) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makepyfile(
        test_checkout=f"""
import pytest
from shop import BAD, GOOD, checkout_{client} as checkout

@pytest.mark.talon_traffic
def test_bad(talon_base_url, talon_api_key):
    checkout(talon_base_url, talon_api_key, BAD)  # the shop's code: it only sees a 400

def test_good(talon_traffic, talon_base_url, talon_api_key):
    assert checkout(talon_base_url, talon_api_key, GOOD) == 200
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*1 of 1 exchange(s) with the API broke the contract*",
        "*PUT */v2/customer_sessions/s-1 -> 400 (updateCustomerSessionV2)*",
        "*/customerSession/cartItems/0/quantity*integer*",
    ])  # fmt: skip
    result.stdout.fnmatch_lines(["*talon-contracts coverage*", "1 of 28 operations exercised"])


def test_a_test_may_say_it_breaks_the_contract_on_purpose(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makepyfile(
        test_negative="""
import pytest
from shop import BAD, checkout_requests

@pytest.mark.talon_traffic(expect_violations=True)
def test_the_api_refuses_it(talon_base_url, talon_api_key):
    assert checkout_requests(talon_base_url, talon_api_key, BAD) == 400
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


CASSETTE = """interactions:
- request:
    method: PUT
    uri: http://localhost:9000/v2/customer_sessions/s-1?dry=true
    headers: {Authorization: [ApiKey-v1 REDACTED], Content-Type: [application/json]}
    body: '{"customerSession": {"profileId": "p-1"}}'
  response:
    status: {code: 200, message: OK}
    headers: {Content-Type: [application/json]}
    body: {string: '{"effects": [], "createdReferrals": []}'}
version: 1
"""


def test_a_cassette_that_breaks_the_contract_fails_in_playback(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes" / "test_playback").mkdir(parents=True)  # cassettes/<module>/<test>.yaml
    for name in ("test_played", "test_played_on_purpose"):
        (pytester.path / "cassettes" / "test_playback" / f"{name}.yaml").write_text(CASSETTE)
    pytester.makepyfile(
        test_playback="""
import pytest
import requests

def test_played(talon_cassette, talon_base_url):
    answer = requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true",
                          json={"customerSession": {"profileId": "p-1"}})
    assert answer.status_code == 200  # green before: the cassette answered

@pytest.mark.talon_traffic(expect_violations=True)
def test_played_on_purpose(talon_cassette, talon_base_url):
    requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true", json={"customerSession": {"profileId": "p-1"}})
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the cassette*test_played.yaml*", "*createdCoupons*"])


def test_markers_count_for_nothing_and_a_typo_is_that_tests_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
import pytest

@pytest.mark.talon_contract("getCustomerSession", "updateCustomerSessionV2")
def test_declared_only():
    pass

@pytest.mark.talon_contract("getCustomerSesion")
def test_typo():
    pass

def test_other():
    pass
"""
    )
    collected = pytester.runpytest("-p", "no:cacheprovider", "--co")
    collected.stdout.fnmatch_lines(["0 of 28 operations exercised"])  # collected is not run
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*getCustomerSesion*did you mean getCustomerSession?*", "0 of 28 operations exercised"]
    )
    selected = pytester.runpytest("-p", "no:cacheprovider", "-k", "other")
    selected.assert_outcomes(passed=1)  # -k: the typo elsewhere stops nothing


BROKEN_API = """
import socket, threading

def serve(listener):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            length = int(next((l.split(b":")[1] for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length")), b"0"))
            while len(body) < length:
                body += conn.recv(65536)
            answer = b'{"effects": [], "createdReferrals": []}'  # no createdCoupons: not what the contract says
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nConnection: close\\r\\n"
                         b"Content-Length: %d\\r\\n\\r\\n%s" % (len(answer), answer))

listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=serve, args=(listener,), daemon=True).start()
print(listener.getsockname()[1], flush=True)
import time; time.sleep(120)
"""


def test_recording_an_answer_that_breaks_the_contract_warns(pytester: pytest.Pytester) -> None:
    import subprocess
    import sys

    api = pytester.makepyfile(broken_api=BROKEN_API)
    server = subprocess.Popen([sys.executable, str(api)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        pytester.makepyfile(
            test_record="""
import requests

def test_records(talon_cassette, talon_base_url):
    answer = requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true",
                          json={"customerSession": {"profileId": "p-1"}}, headers={"Authorization": "ApiKey-v1 k"})
    assert answer.status_code == 200
"""
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "--talon-base-url", base_url, "--talon-api-key", "k",
                                    "--record-mode", "once")  # fmt: skip
    finally:
        server.kill()
        server.wait(10)
    result.assert_outcomes(passed=1, warnings=1)  # the answer is the API's: the recording says so
    result.stdout.fnmatch_lines(["*TrafficWarning*recorded*broke the contract*", "*createdCoupons*"])
    assert (pytester.path / "cassettes" / "test_record" / "test_records.yaml").is_file()


GOOD_CASSETTE = CASSETTE.replace(
    '{"effects": [], "createdReferrals": []}', '{"effects": [], "createdCoupons": [], "createdReferrals": []}'
)


def test_playback_judges_the_request_the_code_sends_today(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes" / "test_replayed").mkdir(parents=True)
    (pytester.path / "cassettes" / "test_replayed" / "test_changed_code.yaml").write_text(GOOD_CASSETTE)
    pytester.makepyfile(
        test_replayed="""
import requests

def test_changed_code(talon_cassette, talon_base_url):
    # recorded with a good body; the code now sends a broken one, and vcrpy matches on the path only
    requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true", json={"customerSession": {"cartItems": "x"}})
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*/customerSession/cartItems*array*"])


def test_calls_to_another_api_on_the_same_host_are_not_judged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_management="""
import pytest
import requests

@pytest.mark.talon_traffic
def test_setup_through_the_management_api(talon_base_url, talon_api_key):
    requests.get(f"{talon_base_url}/v1/applications/1/campaigns", headers={"Authorization": "ManagementKey-v1 x"})
    requests.get(f"{talon_base_url}/v2/customer_sessions/s-9", headers={"Authorization": f"ApiKey-v1 {talon_api_key}"})
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_recording_a_request_that_breaks_the_contract_fails_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_record_bad="""
import requests

def test_bad(talon_cassette, talon_base_url, talon_api_key):
    requests.put(f"{talon_base_url}/v2/customer_sessions/s-1?dry=true", headers={"Authorization": f"ApiKey-v1 {talon_api_key}"},
                 json={"customerSession": {"cartItems": "x"}})
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--record-mode", "once")
    result.assert_outcomes(failed=1)  # not a warning now and a failure on the next run
    result.stdout.fnmatch_lines(["*/customerSession/cartItems*array*"])


SDK_SHOP = """
import talon_one
from talon_one.api.integration_api import IntegrationApi
from talon_one.models import CartItem, IntegrationRequest, NewCustomerSessionV2


def checkout(base_url, key, session_id, **item):
    configuration = talon_one.Configuration(host=base_url, api_key={"api_key_v1": key},
                                            api_key_prefix={"api_key_v1": "ApiKey-v1"})
    with talon_one.ApiClient(configuration) as client:
        session = NewCustomerSessionV2(profile_id="p-1", cart_items=[CartItem(sku="tee", quantity=2, price=19.9, **item)])
        return IntegrationApi(client).update_customer_session_v2(session_id, IntegrationRequest(customer_session=session))
"""


def test_the_official_sdk_newer_than_the_contract_is_told_what_it_sends_in_vain(
    pytester: pytest.Pytester,
) -> None:
    """talon-one-sdk 26.x knows fields v7.0.0 does not: sent, they are valid and do nothing; named."""
    pytester.makepyfile(shop=SDK_SHOP)
    pytester.makepyfile(
        test_sdk="""
import pytest
from shop import checkout

pytestmark = pytest.mark.talon_traffic

def test_checkout(talon_base_url, talon_api_key):
    assert checkout(talon_base_url, talon_api_key, "s-1").effects is not None

def test_member_price(talon_base_url, talon_api_key):
    checkout(talon_base_url, talon_api_key, "s-2", selected_price_type="member")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines([
        "*test_member_price: 1 request(s) sent fields the contract does not describe (the API ignores them):*",
        "*PUT */v2/customer_sessions/s-2 (updateCustomerSessionV2): body/customerSession/cartItems/0/selectedPriceType*",
        "*1 of 28 operations exercised*",
    ])  # fmt: skip


def test_traffic_is_judged_when_the_test_fails_on_its_own_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makepyfile(
        test_failing="""
import pytest
from shop import BAD, checkout_requests

@pytest.mark.talon_traffic
def test_fails_itself(talon_base_url, talon_api_key):
    if checkout_requests(talon_base_url, talon_api_key, BAD) != 200:
        pytest.fail("checkout failed")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*Failed: checkout failed*", "*/customerSession/cartItems/0/quantity*integer*"]
    )
