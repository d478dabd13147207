"""``talon-contracts capture`` as a user runs it: usage errors in one line, and the command in a real
process with real signals and a real full disk (a file-size limit), in front of the sandbox."""

from __future__ import annotations

import contextlib
import gzip
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests
from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.cli import cli
from tests.replay.engine.misbehaving import Misbehaving, answering

ROOT = Path(__file__).resolve().parents[3]
AUTH = {"Authorization": "ApiKey-v1 sandbox-api-key"}
UPDATE = {
    "customerSession": {"profileId": "p-cli", "cartItems": [{"sku": "SKU-1", "quantity": 1, "price": 20}]}
}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rotate", "100 parsecs"], "a size (100MB, 512KiB) or an age"),
        (["--sample", "150%"], "at most 100%"),
        (["--sample", "some"], "write 10% or 0.1"),
        (["--operation", "updateCustomerSesionV2"], "updateCustomerSessionV2"),
        (["--listen", "localhost"], "HOST:PORT"),
        (["--target", "https://"], "not an http(s) URL with a host"),
        (["--target", "http://[::1"], "not an http(s) URL with a host"),
    ],
)
def test_usage_errors_say_what_is_wrong(tmp_path: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(
        cli, ["capture", "--target", "https://x.example", "--out", str(tmp_path), *args]
    )
    assert result.exit_code == 2 and says in result.output, result.output
    assert "Traceback" not in result.output


def test_a_capture_that_cannot_write_does_not_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(
        cli, ["capture", "--target", "https://x.example", "--out", str(blocker / "sub")]
    )
    assert (
        result.exit_code == 2
        and "cannot write the capture" in result.output
        and "nothing started" in result.output
    )


@contextlib.contextmanager
def _running(
    target: str, out: Path, *extra: str, limit: int | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    def limited() -> None:  # in the child, before exec: a file-size limit is a disk that fills up
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails (EFBIG) instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    process = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "capture", "--target", target, "--listen", "127.0.0.1:0",
         "--out", str(out), "--quiet", *extra],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, preexec_fn=limited,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert found, banner
        yield process, found[0]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


_slow = answering(b'{"effects": [], "createdCoupons": [], "createdReferrals": []}', delay=1.0)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_lets_the_exchange_in_flight_finish_and_be_written(
    tmp_path: Path, sig: int, code: int
) -> None:
    upstream = Misbehaving(_slow)
    try:
        with _running(upstream.url, tmp_path) as (process, url):
            answers: list[requests.Response] = []
            client = threading.Thread(
                target=lambda: answers.append(
                    requests.put(
                        f"{url}/v2/customer_sessions/in-flight", json=UPDATE, headers=AUTH, timeout=10
                    )
                )
            )
            client.start()
            time.sleep(0.4)  # the request is upstream, its answer a second away
            process.send_signal(sig)
            client.join(10)
            _, err = process.communicate(timeout=20)
    finally:
        upstream.stop()
    assert process.returncode == code, err
    assert answers and answers[0].status_code == 200  # the client got its answer
    (path,) = tmp_path.rglob("*.jsonl")
    (line,) = path.read_bytes().splitlines()
    assert orjson.loads(line)["response"]["status"] == 200
    assert ("interrupted" if code else "stopped (SIGTERM)") in err and "1 recorded" in err


def test_a_full_disk_stops_recording_not_proxying(tmp_path: Path) -> None:
    with Sandbox() as sandbox, _running(sandbox.base_url, tmp_path, limit=6000) as (process, url):
        session = requests.Session()
        statuses = [
            session.put(
                f"{url}/v2/customer_sessions/full-{n}?dry=true", json=UPDATE, headers=AUTH, timeout=10
            ).status_code
            for n in range(12)
        ]
        time.sleep(1.2)  # a status tick: the failure is said while it runs
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert statuses == [200] * 12  # every request answered
    assert process.returncode == 2, err
    assert "ERROR: recording stopped" in err and "still forwarding" in err
    lines = [
        line for path in tmp_path.rglob("*.jsonl") for line in path.read_bytes().splitlines(keepends=True)
    ]
    assert 0 < len(lines) < 12
    assert all(
        line.endswith(b"\n") and orjson.loads(line)["response"]["status"] == 200 for line in lines
    )  # none torn


def test_redact_path_and_the_key_never_reach_the_disk(tmp_path: Path) -> None:
    with Sandbox() as sandbox, _running(sandbox.base_url, tmp_path, "--redact-path", "$.customerSession.attributes.Channel",
                                         "--redaction-salt", "team-key") as (process, url):  # fmt: skip
        update = {"customerSession": {**UPDATE["customerSession"], "attributes": {"Channel": "in-store-42"}}}
        assert requests.put(
            f"{url}/v2/customer_sessions/redact-1?dry=true", json=update, headers=AUTH, timeout=10
        ).ok
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"in-store-42" not in everything and b"sandbox-api-key" not in everything
    assert b"Channel-" in everything  # a pseudonym in its place


def test_a_proxy_killed_outright_still_leaves_whole_closed_files(tmp_path: Path) -> None:
    """kill -9 of the proxy: its recording process sees the pipe end, writes what it was handed and
    closes (and gzips) the files instead of waiting for ever."""
    with Sandbox() as sandbox, _running(sandbox.base_url, tmp_path, "--gzip") as (process, url):
        (child,) = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert requests.put(
            f"{url}/v2/customer_sessions/killed-1?dry=true", json=UPDATE, headers=AUTH, timeout=10
        ).ok
        time.sleep(0.3)  # handed over
        process.kill()
        process.wait(10)
        for _ in range(100):
            if not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text():
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the recording process outlived the proxy")
    (packed,) = tmp_path.rglob("*.jsonl.gz")
    (line,) = gzip.decompress(packed.read_bytes()).splitlines()
    assert orjson.loads(line)["response"]["status"] == 200
