"""Benchmark: the capture proxy's added latency and its most requests per second, recording on.

``python bench/bench_capture.py [--seconds S] [--rate 500] [--concurrency 32] [--no-uvloop]``

Three processes on the same machine: a fast upstream (aiohttp's low-level server answering every
request with a fixed 1.4 KB UpdateCustomerSessionV2 answer), the proxy (``talon-contracts
capture``, recording and redacting into a temporary directory) and the load generator (aiohttp's
client). Phase 1 paces requests at ``--rate`` per second, first straight to the upstream, then
through the proxy: the difference of the latencies is what the proxy adds (p50, p99). Phase 2
sends as fast as ``--concurrency`` connections allow, through the proxy: the most requests/s
this machine gets with all three processes sharing its cores (the load generator's own cost
included: a real shop's would be on other machines).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_UPSTREAM = r"""
import asyncio, json, sys
from aiohttp import web
body = json.dumps({"effects": [{"campaignId": 4, "rulesetId": 1004, "ruleIndex": 0, "ruleName": "1 point per euro",
    "effectType": "addLoyaltyPoints", "props": {"name": "1 point per euro", "programId": 1, "subLedgerId": "",
    "value": 20, "recipientIntegrationId": "bench"}}] * 4, "createdCoupons": [], "createdReferrals": [],
    "customerSession": {"integrationId": "s", "profileId": "bench", "state": "open", "cartItems": []}}).encode()
async def handle(request):
    await request.read()
    return web.Response(body=body, content_type="application/json")
async def main():
    server = web.Server(handle, access_log=None)
    transport = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
    print(transport.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
try:
    import uvloop; uvloop.install()
except ImportError:
    pass
asyncio.run(main())
"""

_REQUEST = json.dumps({"customerSession": {"profileId": "bench-@N@", "state": "open", "couponCodes": ["WELCOME10"],
    "cartItems": [{"sku": f"SKU-{n}", "quantity": 1, "price": 20.0, "attributes": {"colour": "red"}} for n in range(5)],
    "attributes": {"Channel": "web"}}})  # fmt: skip


def _start_upstream() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", _UPSTREAM], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{process.stdout.readline().strip()}"


def _start_proxy(upstream: str, out: str, uvloop: bool) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not uvloop:
        env["TALON_CONTRACTS_NO_UVLOOP"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", "capture", "--target", upstream, "--listen", "127.0.0.1:0",
         "--out", out, "--quiet"], stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    banner = process.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", banner)
    if found is None:
        process.kill()
        raise SystemExit(f"the proxy did not start: {banner}")
    return process, found[0]


async def _paced(url: str, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of requests sent at ``rate`` per second on a pool of connections."""
    import aiohttp

    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one(n: int) -> None:
            started = time.perf_counter()
            body = _REQUEST.replace("@N@", str(n % 500)).encode()
            async with session.put(f"{url}/v2/customer_sessions/bench-{n % 500}", data=body,
                                   headers={"Authorization": "ApiKey-v1 bench-key",
                                            "Content-Type": "application/json"}) as answer:  # fmt: skip
                await answer.read()
            latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies


async def _flat_out(url: str, concurrency: int, seconds: float) -> tuple[int, float]:
    import aiohttp

    count = 0
    ends = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(w: int) -> None:
            nonlocal count
            n = w
            while time.perf_counter() < ends:
                body = _REQUEST.replace("@N@", str(n % 500)).encode()
                async with session.put(f"{url}/v2/customer_sessions/bench-{n % 500}", data=body,
                                       headers={"Authorization": "ApiKey-v1 bench-key",
                                                "Content-Type": "application/json"}) as answer:  # fmt: skip
                    await answer.read()
                count += 1
                n += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return count, time.perf_counter() - started


def _quantiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-uvloop", action="store_true", help="the proxy on asyncio's own loop")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    upstream, upstream_url = _start_upstream()
    with tempfile.TemporaryDirectory() as out:
        proxy, proxy_url = _start_proxy(upstream_url, out, not args.no_uvloop)
        try:
            asyncio.run(_paced(upstream_url, 100, 1))  # warm up both
            asyncio.run(_paced(proxy_url, 100, 1))
            direct = _quantiles(asyncio.run(_paced(upstream_url, args.rate, args.seconds)))
            proxied = _quantiles(asyncio.run(_paced(proxy_url, args.rate, args.seconds)))
            print(f"at {args.rate:g} req/s: direct p50 {direct[0]:.2f} ms p99 {direct[1]:.2f} ms; through the proxy "
                  f"p50 {proxied[0]:.2f} ms p99 {proxied[1]:.2f} ms; added p50 {proxied[0] - direct[0]:.2f} ms "
                  f"p99 {proxied[1] - direct[1]:.2f} ms")  # fmt: skip
            count, took = asyncio.run(_flat_out(proxy_url, args.concurrency, args.seconds))
            written = sum(p.stat().st_size for p in Path(out).rglob("*.jsonl"))
            print(f"flat out, {args.concurrency} connections: {count / took:,.0f} req/s through the proxy, "
                  f"recording and redacting ({written / 1e6:.1f} MB written)")  # fmt: skip
        finally:
            proxy.terminate()
            proxy.wait(30)
            upstream.terminate()
            upstream.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
