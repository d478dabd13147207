"""Ctrl-C and SIGTERM (issue 16, items 10 and 16): every command takes one exit path, 130, with the
partial report of what was done written whole and no temporary file left behind. Real processes,
real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HOST = "https://yourbaseurl.talon.one"


def _capture(path: Path, count: int) -> Path:
    line = json.dumps({
        "request": {"method": "GET", "uri": f"{HOST}/v2/customer_sessions/s1",
                    "headers": {"Authorization": ["ApiKey-v1 REDACTED"]}},
        "response": {"status": 404, "headers": {"Content-Type": ["application/json"]},
                     "body": '{"message": "not found", "StatusCode": 404}'},
    })  # fmt: skip
    path.write_text((line + "\n") * count)
    return path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _interrupted(
    args: list[str], cwd: Path, sig: int, busy: float = 1.5, started: Callable[[], bool] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI, send ``sig`` once it has worked ``busy`` CPU seconds (past its imports), or, with
    ``started``, as soon as that says its work has begun (a command too quick for a CPU bound)."""
    process = subprocess.Popen([sys.executable, "-m", "replay.cli", *args], cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    deadline = time.monotonic() + 30

    def waiting() -> bool:
        return not started() if started is not None else _cpu_seconds(process.pid) < busy

    while process.poll() is None and waiting() and time.monotonic() < deadline:
        time.sleep(0.005 if started is not None else 0.05)
    assert process.poll() is None, "the command ended before it could be interrupted: make its input larger"
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_verify_writes_the_report_of_what_it_checked_and_exits_130(tmp_path: Path, sig: int) -> None:
    _capture(tmp_path / "big.jsonl", 400_000)
    done = _interrupted(["verify", "big.jsonl", "--format", "json", "--output", "report.json"], tmp_path, sig)
    assert done.returncode == 130, done.stderr
    assert "Aborted!" not in done.stderr and "Traceback" not in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True and report["exit_code"] == 130
    assert 0 < report["files"][0]["interactions"] < 400_000
    assert not list(tmp_path.glob(".*.tmp"))


def test_record_exits_130_on_ctrl_c_and_keeps_no_half_cassette(tmp_path: Path) -> None:
    # recording every story takes ~1 CPU second now: interrupted once its first cassette is written
    done = _interrupted(["record", "--all", "--out", "out"], tmp_path, signal.SIGINT,
                        started=lambda: any((tmp_path / "out").glob("*.yaml")))  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert "Aborted!" not in done.stderr and "Traceback" not in done.stderr
    assert not list((tmp_path / "out").glob(".*.tmp")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_replay_writes_its_reports_and_no_temporary_file_on_a_signal(tmp_path: Path, sig: int) -> None:
    reports = tmp_path / "reports"
    _capture(tmp_path / "big.jsonl", 50_000)
    done = _interrupted(["replay", "run", "big.jsonl", "--quiet", "--report", f"json:{reports / 'r.json'}",
                         "--report", f"junit:{reports / 'r.xml'}"], tmp_path, sig, busy=2.0)  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads((reports / "r.json").read_text())
    assert summary["summary"]["interrupted"] is True
    assert (reports / "r.xml").read_text().rstrip().endswith("</testsuites>")
    assert sorted(p.name for p in reports.iterdir()) == ["r.json", "r.xml"]  # no .tmp left
