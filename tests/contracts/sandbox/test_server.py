"""The sandbox as a server: persistence, transactions, concurrency, HTTP details, WSGI, the CLI."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from contracts import Contract
from contracts.client import IntegrationClient, RetryPolicy
from contracts.sandbox import Sandbox, make_app
from contracts.sandbox.registry import HANDLERS
from tests.contracts.sandbox.conftest import BEANS, fails, send, session

AUTH = {"Authorization": "ApiKey-v1 sandbox-api-key"}


def _client(sb: Sandbox, contract: Contract) -> IntegrationClient:
    return IntegrationClient(sb.base_url, sb.api_key, contract=contract, validate="strict", retries=0)


def test_state_survives_a_restart_on_a_file_database(tmp_path: Path, contract: Contract) -> None:
    db = tmp_path / "state" / "sandbox.sqlite3"
    with Sandbox(db=db, contract=contract) as first:
        api = _client(first, contract)
        session(api, "s1", items=[BEANS], couponCodes=["WELCOME10"], state="closed")
        audience = api.create_audience_v2({"name": "kept"}).data["id"]
        api.update_customer_profile_audiences(
            {"data": [{"action": "add", "profileIntegrationId": "cust-1", "audienceId": audience}]}
        )
    with Sandbox(db=db, contract=contract) as second:
        api = _client(second, contract)
        stored = api.get_customer_session("s1").data["customerSession"]
        assert stored["state"] == "closed" and stored["couponCodes"] == ["WELCOME10"]
        profile = api.get_customer_inventory("cust-1", profile=True, loyalty=True).data
        assert profile["profile"]["closedSessions"] == 1
        assert profile["profile"]["audienceMemberships"] == [{"id": audience, "name": "kept"}]
        assert profile["loyalty"]["programs"]["1"]["ledger"]["currentBalance"] == 49
        # the seed is applied once, not on every start
        imported = api.get_loyalty_program_profile_transactions(1, "seed-alice").data["data"]
        assert len(imported) == 1
        assert api.get_reserved_customers("WELCOME10").data["totalResultSize"] == 0
        second.reset()
        fails(lambda: api.get_customer_session("s1"), 404)


def test_a_failing_request_applies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    original = HANDLERS["createAudienceV2"]

    def half_done(ctx: Any) -> tuple[int, Any]:
        original(ctx)  # writes the audience ...
        raise RuntimeError("... then breaks")

    monkeypatch.setitem(HANDLERS, "createAudienceV2", half_done)
    headers = {
        "authorization": AUTH["Authorization"],
        "content-type": "application/json",
    }  # lower-case, as servers pass them
    status, _, body = app.handle("POST", "/v2/audiences", headers, b'{"name": "x"}')
    assert status == 500 and b"Traceback" not in body and b"breaks" not in body
    assert app.store.conn.execute("SELECT COUNT(*) FROM audiences").fetchone()[0] == 0


def test_concurrent_writers_lose_nothing(sandbox: Sandbox, contract: Contract) -> None:
    errors: list[BaseException] = []

    def shopper(n: int) -> None:
        try:
            api = _client(sandbox, contract)
            for i in range(8):
                session(api, f"t{n}-{i}", profile="busy", items=[BEANS], state="closed")
                api.track_event_v2({"type": "pageViewed", "profileId": "busy"})
                # everybody also writes to one shared session
                api.update_customer_session_v2("shared", {"customerSession": {"profileId": "busy",
                                                                              "attributes": {"Channel": f"t{n}"}}})  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=shopper, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    api = _client(sandbox, contract)
    profile = api.get_customer_inventory("busy", profile=True).data["profile"]
    assert profile["closedSessions"] == 64
    assert profile["totalSales"] == pytest.approx(64 * 49.8)
    balance = api.get_loyalty_balances(1, "busy").data
    assert balance["balance"]["activePoints"] == 64 * 49 + 64  # every order and every page view
    transactions = api.get_loyalty_program_profile_transactions(1, "busy", page_size=50, skip=150).data[
        "data"
    ]
    assert len(transactions) == 64 * 3 - 150  # 64 x (points, bean points, page view)
    assert api.get_customer_session("shared").data["customerSession"]["attributes"]["Channel"].startswith("t")


def _raw(sb: Sandbox, payload: bytes) -> bytes:
    host, port = sb.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_http_details(sandbox: Sandbox) -> None:
    host, port = sandbox.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    for _ in range(3):  # keep-alive: one connection, several requests
        connection.request("GET", "/v1/customer_profiles/seed-alice/inventory?profile=true", headers=AUTH)
        response = connection.getresponse()
        assert (
            response.status == 200 and json.loads(response.read())["profile"]["integrationId"] == "seed-alice"
        )
    connection.close()
    chunked = (b"POST /v2/audiences HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey-v1 sandbox-api-key\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"7\r\n{\"name\"\r\na\r\n: \"chunk\"}\r\n0\r\n\r\n")  # fmt: skip
    assert _raw(sandbox, chunked).startswith(b"HTTP/1.1 201 Created")
    old = b"GET /v2/customer_sessions/none HTTP/1.0\r\nAuthorization: ApiKey-v1 sandbox-api-key\r\n\r\n"
    answer = _raw(sandbox, old)  # HTTP/1.0: the server closes the connection (else _raw would hang)
    assert answer.startswith(b"HTTP/1.1 404") and b"Connection: close" in answer
    assert _raw(sandbox, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    expect = (b"POST /v2/audiences HTTP/1.1\r\nAuthorization: ApiKey-v1 sandbox-api-key\r\nExpect: 100-continue\r\n"
              b"Content-Length: 14\r\nConnection: close\r\n\r\n{\"name\": \"ex\"}")  # fmt: skip
    answer = _raw(sandbox, expect)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201")


def test_the_wsgi_app_runs_in_process() -> None:
    app = make_app()
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/v2/customer_profiles/wsgi-1",
        "QUERY_STRING": "runRuleEngine=true",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2",
        "HTTP_AUTHORIZATION": "ApiKey-v1 sandbox-api-key",
        "wsgi.input": io.BytesIO(b"{}"),
    }
    body = b"".join(app(environ, start_response))
    assert seen["status"] == "200 OK" and seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(body)["customerProfile"]["integrationId"] == "wsgi-1"


def test_custom_api_key_and_seed(tmp_path: Path, contract: Contract) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("application: {id: 7, accountId: 3, apiKey: seeded-key}\ncampaigns: []\n")
    with Sandbox(seed=seed, api_key="override", contract=contract) as sb:
        assert sb.api_key == "override"
        api = _client(sb, contract)
        profile = api.update_customer_profile_v2("p", {}).data["customerProfile"]
        assert profile["accountId"] == 3


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")
def test_cli_serves_logs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "sandbox", "--port", "0", "--db", str(tmp_path / "s.db")],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        url = re.search(r"http://[\d.]+:\d+", banner)
        assert url is not None, banner
        api = IntegrationClient(url.group(0), "sandbox-api-key", retries=0)
        assert api.get_customer_inventory("seed-alice", profile=True).status == 200
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0
    assert re.search(
        r"GET /v1/customer_profiles/seed-alice/inventory\?profile=true 200 [\d.]+ms getCustomerInventory",
        rest,
    )
    assert "sandbox stopped" in rest


def test_conflicting_writes_can_be_answered_409(contract: Contract) -> None:
    with Sandbox(contract=contract, conflicts="reject") as sb:
        app = sb.app
        auth = {"authorization": "ApiKey-v1 sandbox-api-key"}
        claim, refusal = app.admit(
            "PUT", "/v2/customer_sessions/s1", auth, b"{}"
        )  # as if a request were in flight
        assert claim == "session:s1" and refusal is None
        response = send(sb, "PUT", "/v2/customer_sessions/s1", {"customerSession": {"profileId": "p"}})
        assert response.status_code == 409 and "in progress" in response.json()["message"]
        event = {"type": "pageViewed", "profileId": "p"}
        assert send(sb, "POST", "/v2/events", event).status_code == 204  # another entity: fine
        other, _ = app.admit("POST", "/v2/events", auth, b'{"type": "pageViewed", "profileId": "p"}')
        assert send(sb, "PUT", "/v2/customer_profiles/p", {}).status_code == 409  # same profile
        app.release(other)
        # only operations that document a 409 answer one, and only to authenticated requests
        assert send(sb, "PUT", "/v2/customer_sessions/s1/reopen").status_code == 404
        assert (
            send(sb, "PUT", "/v2/customer_sessions/s1", {"customerSession": {}}, auth=False).status_code
            == 401
        )
        # the client retries a 409 on an idempotent PUT: it succeeds once the other request is done
        threading.Timer(0.3, app.release, args=(claim,)).start()
        api = IntegrationClient(sb.base_url, sb.api_key, contract=contract, validate="strict",
                                retries=RetryPolicy(retries=5, backoff=0.2))  # fmt: skip
        result = api.update_customer_session_v2("s1", {"customerSession": {"profileId": "p"}})
        assert result.status == 200 and result.attempts > 1
    with pytest.raises(ValueError, match="conflicts must be one of"):
        make_app(conflicts="sometimes")


def test_restart_with_a_changed_seed(tmp_path: Path, contract: Contract) -> None:
    from contracts.sandbox.seed import DEFAULT_SEED
    from contracts.sandbox.store import StoreError

    db = tmp_path / "s.sqlite3"
    with Sandbox(db=db, contract=contract) as first:
        api = _client(first, contract)
        session(api, "s1", items=[BEANS], couponCodes=["FIVE-ONCE"], state="closed")
    changed = tmp_path / "seed.yaml"
    text = DEFAULT_SEED.read_text().replace(
        "{value: FIVE-ONCE, perProfileLimit: 1}", "{value: TEN-ONCE, perProfileLimit: 1}"
    )
    changed.write_text(text)
    with Sandbox(seed=changed, db=db, contract=contract) as second:
        api = _client(second, contract)
        coupons = api.get_customer_inventory("cust-1", coupons=True).data["coupons"]
        assert [c["value"] for c in coupons] == [
            "FIVE-ONCE"
        ]  # redeemed before, no longer in the seed: still listed
        state = session(api, "s2", items=[BEANS], couponCodes=["TEN-ONCE"])  # the seed's new coupon exists
        assert "acceptCoupon" in [e["effectType"] for e in state["effects"]]
    import sqlite3

    with sqlite3.connect(db) as raw_db:
        raw_db.execute("UPDATE meta SET value = '999' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="format 999"):
        Sandbox(db=db, contract=contract)


def test_store_isolation_without_the_worker_thread(contract: Contract) -> None:
    """Drive the WSGI/direct entry from many threads at once: the store's own lock must keep writes whole."""
    app = make_app(contract=contract)
    headers = {"authorization": "ApiKey-v1 sandbox-api-key", "content-type": "application/json"}
    event = json.dumps({"type": "pageViewed", "profileId": "iso"}).encode()

    def writer() -> None:
        for _ in range(40):
            assert app.handle("POST", "/v2/events", headers, event)[0] == 204

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    status, _, body = app.handle("GET", "/v1/loyalty_programs/1/profile/iso/balances", headers, b"")
    assert status == 200 and json.loads(body)["balance"]["activePoints"] == 320


def test_stopping_closes_keep_alive_connections(contract: Contract) -> None:
    sb = Sandbox(contract=contract).start()
    host, port = sb.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/v2/customer_sessions/x", headers=AUTH)
    assert connection.getresponse().read()
    sb.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        connection.request("GET", "/v2/customer_sessions/x", headers=AUTH)
        connection.getresponse()
