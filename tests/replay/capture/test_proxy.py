"""The capture proxy over real sockets: between a client and the sandbox (or a scripted upstream
for faults), what goes through is unchanged, and what is written is redacted, whole and in order."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import requests

from contracts.errors import Violation
from contracts.sandbox import Sandbox
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction
from replay.verify import check
from tests.replay.capture.running import capturing
from tests.replay.engine.misbehaving import Misbehaving, answering

KEY = "sandbox-api-key"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def _lines(out: Path) -> list[dict]:
    return [
        orjson.loads(line) for path in sorted(out.rglob("*.jsonl")) for line in path.read_bytes().splitlines()
    ]


def _interactions(out: Path) -> list[Interaction]:
    found = []
    for path in sorted(out.rglob("*.jsonl*")):
        for item in read_interactions(path):
            assert isinstance(item, Interaction), item
            found.append(item)
    return found


def _session(url: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"ApiKey-v1 {KEY}"
    return session


def _update(profile: str, session_id: str) -> dict:
    return {"customerSession": {"profileId": profile, "cartItems": [{"sku": "SKU-1", "quantity": 1, "price": 20}],
                                "attributes": {"Channel": "web"}}}  # fmt: skip


def _raw(url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple:
    """(status, headers as a list, body bytes as sent): http.client decompresses nothing."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            method, path, body=body, headers={"Authorization": f"ApiKey-v1 {KEY}", **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


_VARIABLE = {"date", "server", "content-length", "connection", "keep-alive"}


def test_answers_come_back_unchanged(sandbox: Sandbox, tmp_path: Path) -> None:
    body = json.dumps(_update("p-unchanged", "s")).encode()
    with capturing(sandbox.base_url, tmp_path) as proxy:
        for method, path, payload in [
            ("PUT", "/v2/customer_sessions/unchanged-1?dry=true", body),
            ("GET", "/v1/customer_profiles/seed-alice/inventory?profile=true", None),
            ("GET", "/v2/customer_sessions/does-not-exist", None),
            ("PUT", "/v2/customer_sessions/unchanged-2?dry=true", b'{"customerSession": {"cartItems": 3}}'),
        ]:
            headers = {"Content-Type": "application/json"}
            direct = _raw(sandbox.base_url, method, path, payload, headers)
            proxied = _raw(proxy.url, method, path, payload, headers)
            assert proxied[0] == direct[0]
            assert proxied[2] == direct[2]  # the same bytes
            same = [(n.lower(), v) for n, v in direct[1] if n.lower() not in _VARIABLE]
            assert [(n.lower(), v) for n, v in proxied[1] if n.lower() not in _VARIABLE] == same
    assert len(_lines(tmp_path)) == 4


ANSWER = b'{"effects": [], "createdCoupons": [], "createdReferrals": []}'
_gzip_upstream = answering(gzip.compress(ANSWER), b"Content-Encoding: gzip", b"X-Upstream: 1")
_brotli_upstream = answering(
    b"\x8b\x03\x80 not really brotli, personal data for all we know", b"Content-Encoding: br"
)
_slow_answer = answering(ANSWER, delay=0.6)


def test_a_gzip_answer_goes_back_as_gzip_and_is_recorded_plain(tmp_path: Path) -> None:
    with Misbehaving(_gzip_upstream) as upstream, capturing(upstream.url, tmp_path) as proxy:
        status, headers, body = _raw(
            proxy.url, "GET", "/v2/customer_sessions/g-1", None, {"Accept-Encoding": "gzip"}
        )
    assert (
        status == 200 and dict(headers)["Content-Encoding"] == "gzip" and dict(headers)["X-Upstream"] == "1"
    )
    assert gzip.decompress(body).startswith(b'{"effects"')  # not decompressed on the way
    (recorded,) = _interactions(tmp_path)
    assert recorded.response is not None and b"createdCoupons" in (recorded.response.body or b"")
    assert b"accept-encoding: gzip" in upstream.requests[0].lower()  # the client's own header went on


def test_keep_alive_and_chunked_bodies(sandbox: Sandbox, tmp_path: Path) -> None:
    with capturing(sandbox.base_url, tmp_path) as proxy:
        parts = urlsplit(proxy.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        for n in range(5):
            body = iter([json.dumps(_update(f"p-chunk-{n}", "s")).encode()])
            connection.request("PUT", f"/v2/customer_sessions/chunk-{n}", body=body, encode_chunked=True,
                               headers={"Authorization": f"ApiKey-v1 {KEY}", "Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
        sockets = connection.sock
        connection.close()
        assert sockets is not None  # one connection served the five (http.client reopens otherwise)
    recorded = _interactions(tmp_path)
    assert len(recorded) == 5
    assert all(
        json.loads(r.request.body or b"")["customerSession"]["profileId"].startswith("p-chunk")
        for r in recorded
    )


def test_what_is_written_is_redacted_and_conforms(sandbox: Sandbox, tmp_path: Path) -> None:
    with capturing(sandbox.base_url, tmp_path) as proxy:
        session = _session(proxy.url)
        assert session.put(f"{proxy.url}/v2/customer_sessions/red-1", json=_update("p-red", "red-1")).ok
        assert session.put(f"{proxy.url}/v2/customer_profiles/p-red",
                           json={"attributes": {"Email": "zoe@shop.example", "Name": "Zoe Z"}}).ok  # fmt: skip
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert KEY.encode() not in everything
    assert b"zoe@shop.example" not in everything and b"Zoe Z" not in everything
    contract_violations = [v for i in _interactions(tmp_path) for v in check(_contract(), i)[0]]
    assert contract_violations == []


def _contract():  # type: ignore[no-untyped-def]
    from contracts import load_contract

    return load_contract()


def test_a_customer_is_one_story_and_sampling_keeps_stories_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    customers = 120
    with capturing(sandbox.base_url, tmp_path, share=0.25) as proxy:
        session = _session(proxy.url)
        for n in range(customers):
            assert session.put(
                f"{proxy.url}/v2/customer_sessions/samp-{n}?dry=true", json=_update(f"p-samp-{n}", "")
            ).ok
            assert session.get(f"{proxy.url}/v2/customer_sessions/samp-{n}").status_code in (200, 404)
        stats = proxy.recorder.stats
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert 15 <= len(files) <= 50, len(files)  # a quarter of 120, give or take chance
    for path in files:
        lines = path.read_bytes().splitlines()
        assert len(lines) == 2  # both calls of a kept customer: the session's GET went to its story
        uris = [orjson.loads(line)["request"]["uri"] for line in lines]
        assert uris[0].split("?")[0] == uris[1]
    assert stats.recorded == 2 * len(files) and stats.sampled_out == 2 * customers - stats.recorded
    assert all("samp" not in p.name and "p-samp" not in p.name for p in files)  # ids never name files


def test_concurrent_clients(sandbox: Sandbox, tmp_path: Path) -> None:
    errors: list[str] = []

    def client(n: int, url: str) -> None:
        session = _session(url)
        for k in range(20):
            answer = session.put(
                f"{url}/v2/customer_sessions/conc-{n}-{k}?dry=true", json=_update(f"p-conc-{n}", "")
            )
            if not answer.ok:
                errors.append(answer.text)

    with capturing(sandbox.base_url, tmp_path) as proxy:
        threads = [threading.Thread(target=client, args=(n, proxy.url)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert len(files) == 8  # one story a customer
    for path in files:
        uris = [orjson.loads(line)["request"]["uri"] for line in path.read_bytes().splitlines()]
        numbers = [int(u.split("-")[-1].split("?")[0]) for u in uris]
        assert numbers == list(range(20))  # each customer's calls in the order they were made


def test_non_integration_api_paths_are_forwarded_not_recorded(sandbox: Sandbox, tmp_path: Path) -> None:
    with capturing(sandbox.base_url, tmp_path, operations=frozenset({"trackEventV2"})) as proxy:
        session = _session(proxy.url)
        assert session.get(f"{proxy.url}/healthz").status_code == 404
        assert session.put(f"{proxy.url}/v2/customer_sessions/f-1?dry=true", json=_update("p-f", "")).ok
        assert session.post(
            f"{proxy.url}/v2/events?dry=true", json={"type": "pageViewed", "profileId": "p-f"}
        ).ok
        stats = proxy.recorder.stats
    assert (stats.proxied, stats.passed_through, stats.filtered_out, stats.recorded) == (3, 1, 1, 1)
    (only,) = _interactions(tmp_path)
    assert "/v2/events" in only.request.url


def test_an_unreachable_upstream_is_a_502_saying_so_and_recorded_as_such(tmp_path: Path) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # closed when the proxy starts: nothing listens there
    with capturing(f"http://127.0.0.1:{port}", tmp_path) as proxy:
        answer = _session(proxy.url).get(f"{proxy.url}/v2/customer_sessions/down-1")
        stats = proxy.recorder.stats
    assert answer.status_code == 502 and "could not reach" in answer.json()["message"]
    assert stats.upstream_errors == 1
    (line,) = _lines(tmp_path)
    assert "response" not in line and "could not reach" in line["error"]


def _silent(conn: socket.socket, server: Misbehaving) -> None:
    server.read_request(conn)
    server.stopped.wait(10)


def test_an_upstream_that_does_not_answer_in_time_is_a_504(tmp_path: Path) -> None:
    with Misbehaving(_silent) as upstream, capturing(upstream.url, tmp_path, timeout=0.5) as proxy:
        started = time.monotonic()
        answer = _session(proxy.url).get(f"{proxy.url}/v2/customer_sessions/slow-1")
        took = time.monotonic() - started
    assert answer.status_code == 504 and "did not answer within 0.5 s" in answer.json()["message"]
    assert took < 3
    (line,) = _lines(tmp_path)
    assert "did not answer" in line["error"]


def test_a_client_hanging_up_mid_request_costs_nothing_else(sandbox: Sandbox, tmp_path: Path) -> None:
    with capturing(sandbox.base_url, tmp_path) as proxy:
        parts = urlsplit(proxy.url)
        for _ in range(3):
            with socket.create_connection((parts.hostname, parts.port)) as sock:
                sock.sendall(b"PUT /v2/customer_sessions/gone-1 HTTP/1.1\r\nHost: x\r\n"
                             b"Authorization: ApiKey-v1 sandbox-api-key\r\nContent-Length: 500\r\n\r\n{\"custom")  # fmt: skip
        time.sleep(0.3)
        assert (
            _session(proxy.url)
            .put(f"{proxy.url}/v2/customer_sessions/after-1?dry=true", json=_update("p-a", ""))
            .ok
        )
        stats = proxy.recorder.stats
    assert stats.aborted == 3 and stats.recorded == 1
    (only,) = _interactions(tmp_path)
    assert "after-1" in only.request.url


def _big_answer(conn: socket.socket, server: Misbehaving) -> None:
    while server.read_request(conn) is not None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"x" * (1024 * 1024)
        for _ in range(20):
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")


def test_large_bodies_are_streamed_through_and_not_recorded(tmp_path: Path) -> None:
    with Misbehaving(_big_answer) as upstream, capturing(upstream.url, tmp_path) as proxy:
        status, _, body = _raw(proxy.url, "GET", "/v2/customer_sessions/big-1")
        big = b'{"customerSession": {"attributes": {"a": "' + b"y" * (9 * 1024 * 1024) + b'"}}}'
        status2, _, body2 = _raw(proxy.url, "PUT", "/v2/customer_sessions/big-2", big)
        stats = proxy.recorder.stats
    assert status == 200 and len(body) == 20 * 1024 * 1024
    assert status2 == 200 and len(body2) == 20 * 1024 * 1024
    assert len(upstream.requests[1]) > 9 * 1024 * 1024  # the whole request body went upstream
    assert stats.too_large == 2 and stats.recorded == 0 and not list(tmp_path.rglob("*.jsonl"))


def test_validation_logs_violations_and_leaves_the_traffic_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    seen: list[tuple[str, Violation]] = []
    bad = {"customerSession": {"profileId": "p-v", "cartItems": [{"sku": "a", "quantity": "2", "price": 1}]}}
    with capturing(
        sandbox.base_url, tmp_path, validate=True, on_violation=lambda o, v: seen.append((o, v))
    ) as proxy:
        answer = _session(proxy.url).put(f"{proxy.url}/v2/customer_sessions/v-1?dry=true", json=bad)
    assert answer.status_code == 400  # what the sandbox said, untouched
    assert [(o, v.phase, v.pointer) for o, v in seen][:1] == [
        ("updateCustomerSessionV2", "request", "/customerSession/cartItems/0/quantity")
    ]
    assert len(_lines(tmp_path)) == 1


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (a private CA, as --ca-bundle is for)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "talon-test")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert, private = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
    return cert, private


def test_tls_upstreams_are_verified_and_a_private_ca_can_be_given(tmp_path: Path) -> None:
    import ssl

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def tls(conn: socket.socket, server: Misbehaving) -> None:
        with contextlib.suppress(ssl.SSLError):  # (the proxy that does not trust it hangs up)
            _gzip_upstream(context.wrap_socket(conn, server_side=True), server)

    with Misbehaving(tls) as upstream:
        target = upstream.url.replace("http://", "https://")
        with capturing(target, tmp_path / "untrusted") as proxy:  # the system's CAs do not know it
            refused = _session(proxy.url).get(f"{proxy.url}/v2/customer_sessions/tls-1")
        with capturing(target, tmp_path / "trusted", ca_bundle=str(cert)) as proxy:
            trusted = _session(proxy.url).get(f"{proxy.url}/v2/customer_sessions/tls-1")
    assert refused.status_code == 502 and "certificate" in refused.json()["message"].lower()
    assert trusted.status_code == 200 and b"createdCoupons" in trusted.content
    assert len(_interactions(tmp_path / "trusted")) == 1


def test_a_body_that_cannot_be_decoded_is_not_written(tmp_path: Path) -> None:
    with Misbehaving(_brotli_upstream) as upstream, capturing(upstream.url, tmp_path) as proxy:
        status, headers, _ = _raw(
            proxy.url, "GET", "/v2/customer_sessions/br-1", None, {"Accept-Encoding": "br"}
        )
        stats = proxy.recorder.stats
    assert status == 200 and dict(headers)["Content-Encoding"] == "br"  # the shop got its answer
    assert stats.refused == 1 and stats.recorded == 0 and not list(tmp_path.rglob("*.jsonl"))


def test_an_exchange_whose_client_hung_up_before_the_answer_is_still_recorded(tmp_path: Path) -> None:
    body = json.dumps(_update("p-gone", "")).encode()
    with Misbehaving(_slow_answer) as upstream, capturing(upstream.url, tmp_path) as proxy:
        parts = urlsplit(proxy.url)
        with socket.create_connection((parts.hostname, parts.port)) as sock:  # a client with a short timeout
            sock.sendall(b"PUT /v2/customer_sessions/gone-2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
            time.sleep(0.2)
        time.sleep(1.0)  # the upstream acts and answers; the answer finds the client gone
    (recorded,) = _interactions(tmp_path)  # the upstream changed state: the story must say so
    assert "gone-2" in recorded.request.url and recorded.response is not None
