"""A replay spread over Locust workers (separate processes, over Locust's own messaging): the same
outcomes as a local replay, a worker killed mid-run, the master's exit code. Servers and workers are
real processes on real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import corpus_copies, free_port

ROOT = Path(__file__).parents[3]
LOCUSTFILE = ROOT / "replay" / "swarm" / "locustfile.py"
CORPUS = ROOT / "cassettes"


def _locust(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args], cwd=log.parent,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def _swarm(
    tmp_path: Path,
    inputs: Path,
    workers: int = 2,
    kill_one_after: int | None = None,
    interrupt_after: int | None = None,
    host: str = "embedded",
    api_key: str = "",
    extra: tuple[str, ...] = (),
) -> tuple[int, dict]:
    """Master and workers as processes; ``kill_one_after``: SIGKILL worker 0 once it was handed that
    many stories; ``interrupt_after``: Ctrl-C on the master then."""
    port = free_port()
    report = tmp_path / "swarm.json"
    master = _locust("--master", "--headless", "--expect-workers", str(workers), "-u", "4", "-r", "100",
                     "--host", host, "--talon-api-key", api_key, "--talon-inputs", str(inputs), "--talon-report", f"json:{report}",
                     "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), *extra, log=tmp_path / "master.log")  # fmt: skip
    started = [_locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "DEBUG",
                       log=tmp_path / f"worker-{n}.log") for n in range(workers)]  # fmt: skip

    def handed(count: int) -> None:
        deadline = time.monotonic() + 60
        while (tmp_path / "worker-0.log").read_text().count("handed to this worker") < count:
            assert time.monotonic() < deadline and master.poll() is None, "worker 0 was not given the stories"
            time.sleep(0.05)

    try:
        if kill_one_after is not None:
            handed(kill_one_after)
            started[0].send_signal(
                signal.SIGKILL
            )  # no goodbye: the master finds out by the missing heartbeat
        if interrupt_after is not None:
            handed(interrupt_after)
            master.send_signal(signal.SIGINT)
        code = master.wait(120)
    finally:
        for process in [master, *started]:
            if process.poll() is None:
                process.kill()
            process.wait(10)
    assert report.is_file(), (tmp_path / "master.log").read_text()[-3000:]
    return code, json.loads(report.read_text())


def _local(tmp_path: Path, inputs: Path) -> tuple[int, dict]:
    report = tmp_path / "local.json"
    done = subprocess.run([sys.executable, "-m", "replay.cli", "replay", "run", str(inputs), "--quiet",
                           "--report", f"json:{report}"], cwd=tmp_path, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)  # fmt: skip
    return done.returncode, json.loads(report.read_text())


def _outcomes(report: dict) -> list[tuple[str, int, str | None, str]]:
    return sorted(
        (Path(o["file"]).name, o["index"], o["operation"], o["outcome"]) for o in report["outcomes"]
    )


def test_two_workers_make_the_outcomes_of_a_local_replay(tmp_path: Path) -> None:
    code, swarm = _swarm(tmp_path, CORPUS)
    local_code, local = _local(tmp_path, CORPUS)
    assert _outcomes(swarm) == _outcomes(local) and len(swarm["outcomes"]) == 149
    assert code == local_code == 0
    log = (tmp_path / "master.log").read_text()
    assert "updateCustomerSessionV2" in log and "/v2/customer_sessions/" not in log.split("Aggregated")[0].split(
        "Name")[-1]  # Locust's table names requests by operation id, not by URL  # fmt: skip


def test_on_a_shared_target_the_outcomes_are_a_local_replays_shared_state_explained(tmp_path: Path) -> None:
    """One sandbox served for all the workers, as staging is: the master hands the stories out in
    the local replay's phases and explains the differences shared state makes, which no worker can
    (each sees only its stories). Each run gets a sandbox of its own, fresh."""
    from contracts.sandbox import Sandbox

    with Sandbox() as target:
        code, swarm = _swarm(tmp_path, CORPUS, host=target.base_url, api_key=target.api_key)
    with Sandbox() as target:
        report = tmp_path / "local.json"
        local = subprocess.run([sys.executable, "-m", "replay.cli", "replay", "run", str(CORPUS), "--quiet",
                                "--target", target.base_url, "--report", f"json:{report}"], cwd=tmp_path,
                               capture_output=True, timeout=120,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "TALON_API_KEY": target.api_key})  # fmt: skip
        expected = json.loads(report.read_text())
    assert _outcomes(swarm) == _outcomes(expected), (tmp_path / "master.log").read_text()[-3000:]
    assert "shared-state" in {o["outcome"] for o in swarm["outcomes"]}
    assert {o["reason"] for o in swarm["outcomes"] if o["outcome"] == "shared-state"} == {
        o["reason"] for o in expected["outcomes"] if o["outcome"] == "shared-state"
    }
    assert code == local.returncode


def test_a_worker_killed_mid_run_gives_its_stories_to_the_other(tmp_path: Path) -> None:
    inputs = corpus_copies(tmp_path, 40)  # 520 stories: a worker killed after its 20th still has work to do
    code, swarm = _swarm(tmp_path, inputs, kill_one_after=20)
    log = (tmp_path / "master.log").read_text()
    lost = re.search(r"went away holding (\d+) story\(ies\): (\d+) handed out again, 0 given up", log)
    assert lost is not None and lost[1] == lost[2] != "0", log[-3000:]
    # every story replayed once, the lost ones again on the worker that is left: a local replay's outcomes
    assert len(swarm["outcomes"]) == 149 * 40
    assert {o["outcome"] for o in swarm["outcomes"]} == {"same", "noise", "skipped"}
    assert code == 0


def test_a_target_that_stops_answering_ends_the_run_as_locally(tmp_path: Path) -> None:
    """Nothing listens at the target: the workers give up on it after 3 silences, as a local replay
    does, and the master ends the run with exit 2 and why, not waiting for the stories left."""
    code, swarm = _swarm(
        tmp_path, corpus_copies(tmp_path, 4), host=f"http://127.0.0.1:{free_port()}", api_key="k"
    )
    assert code == 2
    assert any(
        "giving up" in u and "nothing accepts connections there" in u for u in swarm["summary"]["unreadable"]
    )


def test_every_worker_gone_before_the_end_is_an_infrastructure_error(tmp_path: Path) -> None:
    code, swarm = _swarm(tmp_path, corpus_copies(tmp_path, 40), workers=1, kill_one_after=5)
    assert code == 2
    [why] = swarm["summary"]["unreadable"]
    assert why.startswith("every worker went away: ") and "story(ies) not replayed" in why


def test_a_master_that_goes_away_stops_its_workers(tmp_path: Path) -> None:
    port = free_port()
    inputs = corpus_copies(tmp_path, 40)
    master = _locust("--master", "--headless", "--expect-workers", "1", "-u", "2", "-r", "100", "--host",
                     "embedded", "--talon-inputs", str(inputs), "--master-bind-host", "127.0.0.1",
                     "--master-bind-port", str(port), log=tmp_path / "master.log")  # fmt: skip
    os.environ["TALON_SWARM_MASTER_SILENCE"] = "2"
    try:
        worker = _locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel",
                         "DEBUG", log=tmp_path / "worker.log")  # fmt: skip
    finally:
        del os.environ["TALON_SWARM_MASTER_SILENCE"]
    try:
        deadline = time.monotonic() + 60
        while (tmp_path / "worker.log").read_text().count("handed to this worker") < 5:
            assert time.monotonic() < deadline, "the worker was not given stories"
            time.sleep(0.05)
        master.send_signal(signal.SIGKILL)
        gone = time.monotonic()
        worker.wait(20)
        assert time.monotonic() - gone < 20
        assert "the master did not answer in 2 s: this worker stops" in (tmp_path / "worker.log").read_text()
    finally:
        for process in (master, worker):
            if process.poll() is None:
                process.kill()
            process.wait(10)


def test_ctrl_c_on_the_master_writes_the_reports_of_what_was_done(tmp_path: Path) -> None:
    # at 50 requests/s the 5,960 interactions take 2 minutes: the Ctrl-C comes long before the end,
    # once 8 stories were handed out (4 ended: the worker's 4 slots ask for a 5th when one ends)
    code, swarm = _swarm(tmp_path, corpus_copies(tmp_path, 40), workers=1, interrupt_after=8,
                         extra=("--talon-rate", "50/s"))  # fmt: skip
    assert code == 130
    assert swarm["summary"]["interrupted"] is True and 0 < len(swarm["outcomes"]) < 149 * 40


def test_ctrl_c_on_a_load_run_before_its_time_is_an_interruption(tmp_path: Path) -> None:
    # at 50/s, 8 stories handed out take ~2 s: the workers' counts of the first second are in
    # (those of the last second before a Ctrl-C are not: the master ends at once)
    code, swarm = _swarm(tmp_path, CORPUS, workers=1, interrupt_after=8,
                         extra=("--talon-mode", "load", "--run-time", "60s", "--talon-rate", "50/s"))  # fmt: skip
    assert code == 130
    assert swarm["summary"]["interrupted"] is True and swarm["summary"]["interactions"] > 0


@pytest.mark.parametrize("bad", ["--talon-report=yaml:x"])
def test_a_bad_report_is_a_usage_error_of_the_master(tmp_path: Path, bad: str) -> None:
    done = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master", "--headless",
                           "--host", "embedded", "--talon-inputs", str(CORPUS), bad,
                           "--master-bind-port", str(free_port())], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "expected FORMAT:PATH with FORMAT one of json, junit, html" in done.stdout + done.stderr


def test_a_load_run_loops_the_stories_for_its_time_with_statistics_per_operation_and_the_web_ui(
    tmp_path: Path,
) -> None:
    """Load mode for a few seconds, master and 2 workers forked by Locust's --processes, the web UI
    up: its statistics name every operation the corpus sends while the run goes on; the CSV stats
    have rate and percentiles for each; findings (built-in noise off: timestamps differ) are
    counted in full and sampled in the report."""
    import urllib.request

    port, web = free_port(), free_port()
    report, csv = tmp_path / "load.json", tmp_path / "stats"
    master = _locust("--processes", "2", "--autostart", "--run-time", "6s", "--autoquit", "3", "-u", "4",
                     "-r", "100", "--web-host", "127.0.0.1", "--web-port", str(web), "--csv", str(csv),
                     "--host", "embedded", "--talon-mode", "load", "--talon-inputs", str(CORPUS),
                     "--talon-report", f"json:{report}", "--talon-no-builtin-noise", "--talon-sample", "2",
                     "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--master-port",
                     str(port), log=tmp_path / "master.log")  # fmt: skip
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while master.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/stats/requests", timeout=2) as answer:
                    live = json.load(answer)
                if live["state"] == "running":
                    seen |= {row["name"] for row in live["stats"] if row["num_requests"]}
            except OSError:
                pass  # not up yet, or already gone
            time.sleep(0.5)
        code = master.wait(60)
    finally:
        if master.poll() is None:
            master.kill()
            master.wait(10)
    log = (tmp_path / "master.log").read_text()
    result = json.loads(report.read_text())
    rows = {row["Name"]: row for row in _csv(csv.with_name("stats_stats.csv"))}
    counted = {op for op, kinds in result["summary"]["by_operation"].items() if set(kinds) - {"skipped"}}
    assert counted and counted <= set(rows), log[-3000:]
    assert seen - {"Aggregated"} >= counted - {"(no operation)"}  # the web UI had them all during the run
    for operation in counted - {"(no operation)"}:
        row = rows[operation]
        assert int(row["Request Count"]) > 0 and float(row["Requests/s"]) > 0
        assert float(row["50%"]) <= float(row["95%"]) <= float(row["99%"])
    totals = result["summary"]["outcomes"]
    assert sum(totals.values()) > 149  # more than one round in the time
    # every request Locust counted is an outcome in the summary: the workers' last counts are in
    assert int(rows["Aggregated"]["Request Count"]) == sum(totals.values()) - totals["skipped"]
    assert totals["changed"] > 0 and code == 1  # timestamps, without the built-in noise rules
    per_bucket: dict[tuple[str, str], int] = {}
    for outcome in result["outcomes"]:
        key = (outcome["operation"], outcome["outcome"])
        per_bucket[key] = per_bucket.get(key, 0) + 1
    assert per_bucket and max(per_bucket.values()) <= 2 < totals["changed"]  # sampled


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as rows:
        return list(csv.DictReader(rows))
