"""The mitmproxy recipe with a real ``mitmdump``: a forward proxy between ``requests`` and the
sandbox, the addon script writing the capture, which must be what ``talon-contracts capture``
writes (layout, redaction, verify passing) and hold only the Talon.One flows."""

from __future__ import annotations

import http.server
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.capture import mitm
from replay.cli import cli
from replay.recording.redaction import is_pseudonym

MITMDUMP = Path(sys.executable).parent / "mitmdump"
needs_mitmdump = pytest.mark.skipif(
    not MITMDUMP.exists(), reason="mitmproxy is not installed (the tests extra)"
)

EMAIL = "zoe@shop.example"
SEGMENT = re.compile(r"\d{8}T\d{6}Z-\d{4}")
STORY = re.compile(r"(shared|[a-z]+-[0-9a-f]{20})\.jsonl")
OTHER_BODY = b'{"not": "talon"}'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mitmdump exited {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"mitmdump did not listen within {limit:g} s:\n{log.read_text()}")


def _mitmdump(port: int, tmp: Path, log: Path, *settings: str) -> subprocess.Popen[bytes]:
    command = [
        str(MITMDUMP),
        "--listen-host",
        "127.0.0.1",
        "-p",
        str(port),
        "-s",
        mitm.__file__,
        "--set",
        f"confdir={tmp / 'mitmproxy'}",
    ]  # fmt: skip  (its CA is made here, not in ~)
    for setting in settings:
        command += ["--set", setting]
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGINT (Ctrl-C: mitmdump closes the capture), then SIGKILL if it does not end."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(10)


class _NotTalon(http.server.BaseHTTPRequestHandler):
    """Another upstream of the shop, answering Integration API paths too: its host is what says
    it is not Talon.One."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(OTHER_BODY)))
        self.end_headers()
        self.wfile.write(OTHER_BODY)

    def log_message(self, *args: object) -> None:
        pass


@dataclass(slots=True)
class Captured:
    out: Path
    log: str
    exit_code: int
    answers: dict[str, requests.Response]
    api_key: str
    seconds: float


def _traffic(proxy: str, sandbox: Sandbox, other: str, down: str) -> dict[str, requests.Response]:
    session = requests.Session()
    session.trust_env = False  # only the proxy given here, whatever the environment says
    session.proxies = {"http": proxy}
    session.headers["Authorization"] = f"ApiKey-v1 {sandbox.api_key}"
    update = {"customerSession": {"profileId": "p-mitm", "cartItems": [{"sku": "SKU-1", "quantity": 1,
              "price": 20}], "attributes": {"Channel": "web"}}}  # fmt: skip
    base, profile = sandbox.base_url, {"attributes": {"Email": EMAIL}}
    return {
        "session": session.put(f"{base}/v2/customer_sessions/mitm-1", json=update, timeout=10),
        "profile": session.put(f"{base}/v2/customer_profiles/p-mitm", json=profile, timeout=10),
        "other": session.put(f"{other}/v2/customer_sessions/elsewhere", json=update, timeout=10),
        "down": session.put(f"{down}/v2/customer_sessions/down-1", json=update, timeout=10),
    }


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    """One mitmdump run: two Talon.One calls, one to another host, one to a Talon.One host that
    is down (a second talon_target on a closed port)."""
    tmp = tmp_path_factory.mktemp("mitm")
    out, log = tmp / "capture", tmp / "mitmdump.log"
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTalon)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    started = time.monotonic()
    with Sandbox() as sandbox:
        port, closed = _free_port(), _free_port()
        talon = sandbox.base_url.split("//", 1)[1]
        process = _mitmdump(port, tmp, log, f"talon_out={out}", f"talon_target={talon}",
                            f"talon_target=127.0.0.1:{closed}")  # fmt: skip
        try:
            _wait_listening(process, port, log)
            answers = _traffic(f"http://127.0.0.1:{port}", sandbox, f"http://127.0.0.1:{other.server_port}",
                               f"http://127.0.0.1:{closed}")  # fmt: skip
        finally:
            code = _stop(process)
            other.shutdown()
            other.server_close()
        yield Captured(out, log.read_text(), code, answers, sandbox.api_key, time.monotonic() - started)


def _lines(out: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line) for path in sorted(out.rglob("*.jsonl")) for line in path.read_bytes().splitlines()
    ]


@needs_mitmdump
def test_the_traffic_went_through_unchanged(captured: Captured) -> None:
    answers = captured.answers
    assert answers["session"].status_code == 200, answers["session"].text
    assert answers["profile"].status_code == 200, answers["profile"].text
    assert answers["other"].content == OTHER_BODY
    assert answers["down"].status_code == 502  # mitmproxy's own answer for an upstream it cannot reach
    assert captured.exit_code == 0, captured.log
    assert captured.seconds < 30, captured.seconds


@needs_mitmdump
def test_the_files_are_the_capture_proxys(captured: Captured) -> None:
    files = sorted(p for p in captured.out.rglob("*") if p.is_file())
    assert files, captured.log
    for path in files:  # DIR/<segment>/<story>.jsonl
        relative = path.relative_to(captured.out)
        assert len(relative.parts) == 2 and SEGMENT.fullmatch(relative.parts[0]), relative
        assert STORY.fullmatch(relative.parts[1]), relative
    (story,) = files  # p-mitm's story: every call names that customer, and they stay in order
    uris = [orjson.loads(line)["request"]["uri"] for line in story.read_bytes().splitlines()]
    assert [uri.rsplit("/", 1)[1] for uri in uris] == ["mitm-1", "p-mitm", "down-1"], uris
    assert "3 proxied, 3 recorded" in captured.log and "upstream errors" in captured.log, captured.log


@needs_mitmdump
def test_one_line_per_talon_exchange_and_nothing_else(captured: Captured) -> None:
    uris = [line["request"]["uri"] for line in _lines(captured.out)]
    paths = sorted(uri.split("/", 3)[3] for uri in uris)
    assert paths == [
        "v2/customer_profiles/p-mitm",
        "v2/customer_sessions/down-1",
        "v2/customer_sessions/mitm-1",
    ]
    assert not any("elsewhere" in uri for uri in uris)  # the other host's flow passed through unrecorded
    (down,) = [line for line in _lines(captured.out) if "down-1" in line["request"]["uri"]]
    assert "response" not in down or down["response"] is None
    assert "no answer from upstream" in down["error"]


@needs_mitmdump
def test_redacted_on_disk(captured: Captured) -> None:
    everything = b"".join(p.read_bytes() for p in captured.out.rglob("*") if p.is_file())
    assert captured.api_key.encode() not in everything
    assert EMAIL.encode() not in everything
    (profile,) = [line for line in _lines(captured.out) if "customer_profiles" in line["request"]["uri"]]
    written = orjson.loads(profile["request"]["body"])["attributes"]["Email"]
    assert written != EMAIL and is_pseudonym("Email", written), written
    headers = {name.lower(): values for name, values in profile["request"]["headers"].items()}
    assert "proxy-connection" not in headers and "host" not in headers  # the connection's, not recorded


@needs_mitmdump
def test_verify_passes_on_the_capture(captured: Captured) -> None:
    result = CliRunner().invoke(cli, ["verify", str(captured.out)])
    assert result.exit_code == 0, result.output
    assert "3 interaction(s)" in result.output, result.output


@needs_mitmdump
def test_mitmdump_refuses_to_start_when_the_directory_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    port, log = _free_port(), tmp_path / "mitmdump.log"
    process = _mitmdump(port, tmp_path, log, f"talon_out={blocker / 'capture'}")
    try:
        code = process.wait(20)
    finally:
        _stop(process)
    assert code == 1
    assert "cannot write the capture to" in log.read_text(), log.read_text()


def test_targets() -> None:
    targets = mitm.parse_targets(
        ["yourbaseurl.talon.one", "https://EU.Talon.One/", "*.example", "[::1]:8080"]
    )
    assert [tuple(t) for t in targets] == [
        ("yourbaseurl.talon.one", None), ("eu.talon.one", None), ("*.example", None), ("::1", 8080),
    ]  # fmt: skip
    assert targets[0].matches("YourBaseUrl.talon.one.", 443) and targets[3].matches("::1", 8080)
    assert not targets[3].matches("::1", 8081) and not targets[0].matches("evil-yourbaseurl.talon.one", 443)
    assert mitm.parse_targets(mitm.DEFAULT_TARGET.split())[0].matches("acme.talon.one", 443)
    for bad in ["", "https://x.talon.one/v2", "host:port"]:
        with pytest.raises(ValueError, match="talon_target"):
            mitm.parse_targets([bad])


def test_the_script_path_is_printed() -> None:
    done = subprocess.run([sys.executable, "-m", "replay.capture.mitm", "--path"], capture_output=True,
                          text=True, timeout=30, check=True)  # fmt: skip
    assert Path(done.stdout.strip()) == Path(mitm.__file__).resolve()


def test_the_module_imports_without_mitmproxy() -> None:
    """talon-contracts does not depend on mitmproxy: only the hooks mitmproxy calls import it."""
    code = ("import sys; sys.modules['mitmproxy'] = None; import replay.capture.mitm as m; "
            "assert m.parse_targets(['x.talon.one']); m.main(['--path'])")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == Path(mitm.__file__).resolve()
