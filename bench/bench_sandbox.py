"""Benchmark: the sandbox under load from concurrent clients.

Run with ``make bench-sandbox`` (or ``python bench/bench_sandbox.py [--seconds S] [--clients N]``).
The sandbox runs in a process of its own (``talon-contracts sandbox``, a file database), the load
generator in this one: N threads, each with a keep-alive connection, for a fixed time.

* ``updates``: UpdateCustomerSessionV2 with 5 cart items and the WELCOME10 coupon, rules
  evaluated and persisted; every 5th update of a session closes it (points booked, coupon
  redeemed), then the client moves on to a new session;
* ``reads``: a read-heavy mix (for every write, four reads: GetCustomerSession, loyalty
  balances, customer inventory, card transactions).

Prints requests/s and the p50/p99 latency of each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

AUTH = {"Authorization": "ApiKey-v1 sandbox-api-key", "Content-Type": "application/json"}
CART = [
    {"sku": "SKU-BEANS-1KG", "quantity": 2},
    {"sku": "SKU-BEANS-250G", "quantity": 1},
    {"sku": "SKU-FROTHER", "quantity": 1},
    {"sku": "SKU-CUP-WHITE", "quantity": 4},
    {"sku": "SKU-CUP-BLACK", "quantity": 2},
]


def start_sandbox(db: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "replay.cli", "sandbox", "--port", "0", "--db", str(db), "--quiet"]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stderr is not None
    banner = process.stderr.readline()
    found = re.search(r"http://([\d.]+):(\d+)", banner)
    if found is None:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {banner}")
    return process, f"{found.group(1)}:{found.group(2)}"


# The body is built from a template: the load generator shares the machine with the sandbox, and
# every microsecond it spends is one the sandbox does not get.
_BODY = json.dumps(
    {
        "customerSession": {
            "profileId": "@PROFILE@",
            "couponCodes": ["WELCOME10"],
            "cartItems": CART,
            "state": "@STATE@",
        }
    }
).encode()


def session_update(client: int, n: int, prefix: str = "bench") -> tuple[str, str, bytes]:
    session, step = divmod(n, 5)
    body = _BODY.replace(b"@PROFILE@", f"{prefix}-{client}-{session % 20}".encode()).replace(
        b"@STATE@", b"closed" if step == 4 else b"open"
    )
    return "PUT", f"/v2/customer_sessions/{prefix}-{client}-{session}", body


def read_mix(client: int, n: int) -> tuple[str, str, bytes]:
    if n % 5 == 0:
        return session_update(client, n // 5, "mix")
    session = n // 25  # written by this client's first request of the group: it exists
    return [
        ("GET", f"/v2/customer_sessions/mix-{client}-{session}", b""),
        ("GET", f"/v1/loyalty_programs/1/profile/mix-{client}-{session % 20}/balances", b""),
        (
            "GET",
            f"/v1/customer_profiles/mix-{client}-{session % 20}/inventory?profile=true&loyalty=true",
            b"",
        ),
        ("GET", "/v1/loyalty_programs/2/cards/CARD-0001/transactions?pageSize=50", b""),
    ][n % 5 - 1]


def run(
    address: str, clients: int, seconds: float, make: Callable[[int, int], tuple[str, str, bytes]]
) -> dict[str, float]:
    host, port = address.split(":")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        n = 0
        while time.perf_counter() < deadline:
            method, path, body = make(index, n)
            started = time.perf_counter()
            connection.request(method, path, body=body or None, headers=AUTH)
            response = connection.getresponse()
            response.read()
            latencies[index].append(time.perf_counter() - started)
            if response.status >= 300 and len(failures) < 5:
                failures.append(f"{method} {path} -> {response.status}")
            n += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for per in latencies for x in per)
    if failures:
        raise SystemExit("unexpected answers: " + "; ".join(failures))
    return {
        "requests": len(every),
        "rate": len(every) / elapsed,
        "p50": statistics.median(every) * 1000,
        "p99": every[int(len(every) * 0.99)] * 1000,
    }


def figures(result: dict[str, float]) -> str:
    """One result as the benchmarks print it."""
    return (f"{result['rate']:>8,.0f} req/s   p50 {result['p50']:6.2f} ms   p99 {result['p99']:6.2f} ms   "
            f"({result['requests']:,.0f} requests)")  # fmt: skip


@contextlib.contextmanager
def stopped_after(process: subprocess.Popen[str]) -> Iterator[None]:
    """The server process, terminated when the block ends (however it ends)."""
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        process, address = start_sandbox(Path(tmp) / "bench.sqlite3")
        with stopped_after(process):
            print(
                f"sandbox at {address}, file database, {args.clients} clients, {args.seconds:g} s per phase"
            )
            for name, make in (("updates", session_update), ("reads", read_mix)):
                print(f"  {name:<8} {figures(run(address, args.clients, args.seconds, make))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
