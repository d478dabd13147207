"""Benchmark: a replay spread over Locust workers, against the canned-answer server of
``bench_replay.py``, next to the local engine in the same run.

Run with ``python bench/bench_swarm.py [--count N] [--files K] [--workers 1,2,4] [--users U]``.
N interactions (20,000 by default) in K stories (64) are written as ``bench_replay`` writes them;
its server answers each request with its recording. Then, in turn: the local engine
(``Replayer``, concurrency U, one process), and for each worker count W a Locust master and W
worker processes on this machine (``replay/swarm/locustfile.py``, U users per worker). A row gives
the interactions per second from the first story handed out to the last outcome in (the master's
own summary), and from the master process' start to its end (wall: Locust's start-up too), and the
overhead per interaction against the local engine. Every outcome must be ``same``; exits 1 if not.

Where the time goes, apart: the master's CPU seconds per interaction (its process' rusage: what
bounds a swarm of any size, since one master takes every outcome in) and its peak memory; and the
messaging itself, timed in this process over the outcomes of a real run: a worker packing a
story's outcomes (``wire.dumps_outcomes``), the master unpacking them, and the bytes per
interaction on the wire. ``--count 1000000 --files 10000 --workers 2 --no-local`` is the master's
memory for a million interactions.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_replay

from contracts.spec import load_contract

ROOT = bench_replay.ROOT
LOCUSTFILE = ROOT / "replay" / "swarm" / "locustfile.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def swarm(
    target: str, inputs: Path, workers: int, users: int, out: Path
) -> tuple[float, dict, os.struct_rusage]:
    port = _free_port()
    report = out / f"swarm-{workers}.json"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TALON_API_KEY": bench_replay.API_KEY}
    locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    started = time.perf_counter()
    master = subprocess.Popen([*locust, "--master", "--headless", "--expect-workers", str(workers),
                               "-u", str(users * workers), "-r", "1000", "--host", target,
                               "--talon-inputs", str(inputs), "--talon-report", f"json:{report}", "--talon-fresh-target", "--talon-no-namespace",
                               "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)  # fmt: skip
    children = [subprocess.Popen([*locust, "--worker", "--master-port", str(port)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=environment) for _ in range(workers)]  # fmt: skip
    try:
        _, status, usage = os.wait4(master.pid, 0)  # the master's own CPU time and peak memory
        master.returncode = os.waitstatus_to_exitcode(status)
    finally:
        for child in [master, *children]:
            if child.poll() is None:
                child.kill()
            child.wait(10)
    return time.perf_counter() - started, json.loads(report.read_text()), usage


def messaging(contract: object, target: str, files: list[Path]) -> str:
    """Packing and unpacking the outcomes of a real run (its ``same`` outcomes keep their requests,
    as the engine makes them), per interaction."""
    from replay.engine import Replayer, ReplayOptions
    from replay.swarm.wire import dumps_outcomes, loads_outcomes

    outcomes: list = []
    options = ReplayOptions(target=target, api_key=bench_replay.API_KEY, fresh_target=True)
    Replayer(contract, options, outcomes.append).run(files)  # type: ignore[arg-type]
    by_story: dict[int, list] = {}
    for outcome in outcomes:
        by_story.setdefault(outcome.story, []).append(outcome)
    started = time.perf_counter()
    packed = [dumps_outcomes(batch) for batch in by_story.values()]
    packing = time.perf_counter() - started
    started = time.perf_counter()
    for data in packed:
        loads_outcomes(data)
    unpacking = time.perf_counter() - started
    n = len(outcomes)
    size = sum(len(d) for d in packed)
    return (f"messaging, {n:,} outcomes in {len(packed)} stories: packing {1e6 * packing / n:.1f} us, unpacking "
            f"{1e6 * unpacking / n:.1f} us per interaction, {size / n:.0f} bytes per interaction on the wire")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--users", type=int, default=4, help="stories in flight per worker (and locally)")
    parser.add_argument("--no-local", action="store_true", help="only the swarm (a million interactions ...)")
    args = parser.parse_args()
    contract = load_contract()
    pool = bench_replay.replayable(contract)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bench-swarm-") as tmp:
        directory = Path(tmp)
        inputs = directory / "stories"
        inputs.mkdir()
        for j in range(args.files):
            bench_replay.write_story(inputs, f"part-{j}", pool, j * args.count // args.files,
                                     (j + 1) * args.count // args.files)  # fmt: skip
        server, target, flavour = bench_replay.start_server(inputs)
        try:
            files = sorted(inputs.iterdir())
            bench_replay.replay(contract, target, files[:2], 1)  # schemas compiled
            print(
                f"{args.count:,} interactions in {args.files} stories, {os.cpu_count()} cores, server {flavour}"
            )
            local_rate = None
            widest = args.users * max(int(w) for w in args.workers.split(","))
            # the same stories in flight as one worker's users, and as many as the most workers' together
            for concurrency in [] if args.no_local else sorted({args.users, widest}):
                local = bench_replay.replay(contract, target, files, concurrency)
                rate = args.count / local.seconds
                local_rate = local_rate or rate  # the overheads below are against one worker's width
                print(f"local engine, concurrency {concurrency}: {rate:,.0f} interactions/s "
                      f"({dict(local.counts)})")  # fmt: skip
            if not args.no_local:
                print(messaging(contract, target, files[: max(1, len(files) // 8)]))
            for workers in (int(w) for w in args.workers.split(",")):
                wall, report, usage = swarm(target, inputs, workers, args.users, directory)
                summary = report["summary"]
                counts = {kind: n for kind, n in summary["outcomes"].items() if n}
                rate = args.count / summary["seconds"] if summary.get("seconds") else 0.0
                overhead = (
                    f"{1e6 * (1 / rate - 1 / local_rate):+,.0f} us per interaction against the local engine"
                    if rate and local_rate else "no local run"
                )  # fmt: skip
                cpu = usage.ru_utime + usage.ru_stime
                print(f"locust, {workers} worker(s) x {args.users} users: {rate:,.0f} interactions/s by the "
                      f"master's clock, {args.count / wall:,.0f}/s by the wall ({wall:.1f} s); {overhead}; "
                      f"master: {cpu:.1f} CPU s ({1e6 * cpu / args.count:.0f} us per interaction, a ceiling of "
                      f"{args.count / cpu:,.0f}/s), peak {usage.ru_maxrss / 1024:,.0f} MB ({counts})")  # fmt: skip
                if set(counts) - {"same"} or sum(counts.values()) != args.count:
                    failures += 1
        finally:
            server.kill()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
