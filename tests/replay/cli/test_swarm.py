"""``talon-contracts replay swarm``: usage errors before anything starts (CliRunner), then real runs
of the command, Locust's master and its forked workers (processes, over real sockets)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from replay.cli import cli

from ..helpers import CORPUS, corpus_copies, free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--processes", "2"], "the workers are the processes here: use --workers"),
        (["--contract", "x.yaml"], "workers validate against the shipped contract"),
        (["--mode", "load"], "a load run lasts --duration"),
        (["--duration", "5m"], "--duration is for --mode load"),
        (["--mode", "load", "--duration", "five"], "expected a duration like 90s, 5m or 1h30m"),
        (["--workers", "0"], "say how many workers will connect: --expect-workers N"),
        (["--bind", "5557"], "expected HOST:PORT"),
        (["--operation", "getCustomerSesion"], "unknown operation(s) getCustomerSesion"),
        (["--rate", "fast"], "expected requests per second"),
        (["--target", "https://api.example.com"], "it is not a loopback address and not allowed"),
    ],
)
def test_usage_errors_exit_2_before_locust_starts(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["replay", "swarm", str(CORPUS), *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def _command(*arguments: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "replay.cli", *arguments], cwd=cwd,
                            stdout=(cwd / "out.log").open("ab"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def _swarm(tmp_path: Path, *arguments: str) -> tuple[int, dict]:
    report = tmp_path / "swarm.json"
    done = _command("replay", "swarm", *arguments, "--bind", f"127.0.0.1:{free_port()}", "--quiet",
                    "--report", f"json:{report}", cwd=tmp_path)  # fmt: skip
    code = done.wait(120)
    assert report.is_file(), (tmp_path / "out.log").read_text()[-3000:]
    return code, json.loads(report.read_text())


def _kinds(report: dict) -> list[tuple[str, int, str]]:
    return sorted((Path(o["file"]).name, o["index"], o["outcome"]) for o in report["outcomes"])


def test_a_verification_run_finds_what_a_local_replay_finds(tmp_path: Path) -> None:
    """Without the built-in noise rules the timestamps differ: the findings must be the same ones,
    interaction for interaction, and so must the exit code."""
    code, swarm = _swarm(tmp_path, str(CORPUS), "--workers", "2", "--no-builtin-noise")
    local = subprocess.run([sys.executable, "-m", "replay.cli", "replay", "run", str(CORPUS), "--quiet",
                            "--no-builtin-noise", "--report", f"json:{tmp_path / 'local.json'}"], cwd=tmp_path,
                           capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)  # fmt: skip
    expected = json.loads((tmp_path / "local.json").read_text())
    assert _kinds(swarm) == _kinds(expected) and len(swarm["outcomes"]) == 149
    assert {o["outcome"] for o in swarm["outcomes"]} >= {"changed", "same"}
    assert code == local.returncode == 1
    assert swarm["summary"]["by_operation"] == expected["summary"]["by_operation"]


def test_options_reach_the_workers(tmp_path: Path) -> None:
    code, swarm = _swarm(tmp_path, str(CORPUS), "--workers", "1", "--operation", "getLoyaltyBalances")
    sent = {o["operation"] for o in swarm["outcomes"] if o["outcome"] != "skipped"}
    assert sent == {"getLoyaltyBalances"}
    assert code == 1  # the balances differ: the points the skipped operations earned are not there


def test_a_load_run_keeps_to_its_rate_over_the_workers(tmp_path: Path) -> None:
    code, swarm = _swarm(tmp_path, str(CORPUS), "--workers", "2", "--mode", "load", "--duration", "4s",
                         "--rate", "100/s")  # fmt: skip
    summary = swarm["summary"]
    sent = summary["interactions"] - summary["outcomes"]["skipped"]
    # 100/s shared by the 2 workers (50/s each) for 4 s, and some start-up; unlimited, the sandboxes
    # answer thousands in that time
    assert 50 <= sent <= 100 * (4 + 2), summary
    assert code == 0 and summary["outcomes"]["same"] > 0


def test_ctrl_c_writes_the_reports_of_what_was_done(tmp_path: Path) -> None:
    inputs = corpus_copies(tmp_path, 40)
    report = tmp_path / "swarm.json"
    started = _command("replay", "swarm", str(inputs), "--workers", "1", "--bind", f"127.0.0.1:{free_port()}",
                       "--report", f"json:{report}", "--locust-option=--loglevel=DEBUG", "--rate", "50/s", cwd=tmp_path)  # fmt: skip
    deadline = time.monotonic() + 60
    # at 50/s the run takes 2 minutes; 8 stories handed out: 4 ended (the 4 slots ask when one ends)
    while _progress(tmp_path).count(b"handed to this worker") < 8:
        assert time.monotonic() < deadline and started.poll() is None, _progress(tmp_path)[-2000:]
        time.sleep(0.05)
    started.send_signal(signal.SIGINT)
    assert started.wait(60) == 130
    summary = json.loads(report.read_text())["summary"]
    assert summary["interrupted"] is True and 0 < summary["interactions"] < 149 * 40


def _progress(tmp_path: Path) -> bytes:
    return (tmp_path / "out.log").read_bytes() if (tmp_path / "out.log").exists() else b""


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["replay", "swarm", str(CORPUS), "--bind", f"127.0.0.1:{port}"])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output


def test_locust_failing_before_the_replay_is_an_infrastructure_error(tmp_path: Path) -> None:
    """Locust's own exit code 1 (here: an option it refuses) is not taken for findings."""
    done = subprocess.run([sys.executable, "-m", "replay.cli", "replay", "swarm", str(CORPUS), "--workers", "1",
                           "--bind", f"127.0.0.1:{free_port()}", "--quiet", "--locust-option=--no-such-option"],
                          cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "before the replay concluded" in done.stderr


def test_no_worker_coming_ends_the_wait_with_exit_2_and_no_report_left_half_written(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "replay.cli", "replay", "swarm", str(CORPUS), "--workers", "0",
                           "--expect-workers", "1", "--wait-for-workers", "2", "--bind", f"127.0.0.1:{free_port()}",
                           "--quiet", "--report", f"json:{tmp_path / 'r.json'}"], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)  # fmt: skip
    assert done.returncode == 2 and time.monotonic() - started < 60, done.stderr[-2000:]
    assert "before the replay concluded" in done.stderr
    assert list(tmp_path.iterdir()) == []  # the report's temporary file was removed, no report written


def test_the_locust_command_line_carries_every_option() -> None:
    from replay.cli.swarm import WEB_AFTER, locust_arguments

    shared = {"concurrency": 8, "speed": "2x", "timeout": 5.0, "quiet": False, "paths": (Path("a"), Path("b")),
              "rate": "40/s", "writes": "dry", "namespace": "ns-", "no_namespace": False, "no_builtin_noise": True,
              "fresh_target": True, "noise_files": (Path("n.yaml"),), "ignored": ("$..etag",),
              "operations": ("getLoyaltyBalances",), "keep_ids": ("ana",), "allow_host": ("staging.example",)}  # fmt: skip
    arguments = locust_arguments(shared, target="https://staging.example", reports=("json:r.json",),
                                 fail_on="changed", findings=3, mode="load", duration="5m", sample=7, workers=2,
                                 expect_workers=2, wait=30, bind=("0.0.0.0", 6000), web=True, web_port=9000)  # fmt: skip
    pairs = set(itertools.pairwise(arguments))
    for pair in [("-u", "8"), ("--host", "https://staging.example"), ("--processes", "2"),
                 ("--master-host", "127.0.0.1"), ("--master-port", "6000"), ("--master-bind-host", "0.0.0.0"),
                 ("--run-time", "5m"), ("--autoquit", str(WEB_AFTER)), ("--web-port", "9000"),
                 ("--talon-mode", "load"), ("--talon-sample", "7"), ("--talon-rate", "40/s"),
                 ("--talon-speed", "2x"), ("--talon-writes", "dry"), ("--talon-namespace", "ns-"),
                 ("--talon-noise", "n.yaml"), ("--talon-ignore", "$..etag"), ("--talon-operation", "getLoyaltyBalances"),
                 ("--talon-keep-id", "ana"), ("--talon-allow-host", "staging.example"), ("--talon-inputs", "b"),
                 ("--talon-report", "json:r.json"), ("--talon-fail-on", "changed"), ("--talon-findings", "3")]:  # fmt: skip
        assert pair in pairs, pair
    assert {"--autostart", "--talon-no-builtin-noise", "--talon-fresh-target"} <= set(arguments)
    assert "--headless" not in arguments and "--talon-no-namespace" not in arguments
