"""Benchmark: the sandbox's own HTTP server against a WSGI server from PyPI, hosting the same app.

``python bench/bench_sandbox_servers.py [--seconds S] [--clients N ...] [--servers builtin waitress]``

Each server runs the sandbox (a file database) in a process of its own; the load generator is
bench_sandbox's (keep-alive connections, UpdateCustomerSessionV2 with 5 cart items and a coupon,
every 5th update closes the session). waitress is not a dependency: install it where this script
can import it (``pip install --target DIR waitress``, then ``--path DIR``).

Prints updates/s and p50/p99 latency per server and number of clients.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_sandbox import figures, run, session_update, stopped_after

_CHILD = r"""
import logging, sys
from contracts.sandbox import Sandbox, make_app
kind, db = sys.argv[1], sys.argv[2]
logging.disable(logging.WARNING)  # waitress warns of its task queue's depth under load
if kind == "builtin":
    sb = Sandbox(db=db).start()
    print(sb.base_url.removeprefix("http://"), flush=True)
    sys.stdin.read()
    sb.stop()
else:
    import socket
    import waitress
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    host, port = sock.getsockname()
    print(f"{host}:{port}", flush=True)
    threads = int(kind.partition(":")[2] or 4)
    waitress.serve(make_app(db=db), sockets=[sock], threads=threads, _quiet=True)
"""


def start(kind: str, db: Path, path: str | None) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    if not address:
        process.kill()
        raise SystemExit(f"{kind} did not start")
    return process, address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--servers", nargs="+", default=["builtin", "waitress:4"])
    parser.add_argument("--path", help="where waitress is installed, if not importable")
    args = parser.parse_args(argv)
    for kind in args.servers:
        for clients in args.clients:
            with tempfile.TemporaryDirectory() as tmp:
                process, address = start(kind, Path(tmp) / "bench.sqlite3", args.path)
                with stopped_after(process):
                    time.sleep(0.3)
                    run(address, 1, 0.5, lambda c, n: session_update(c, n, "warm"))  # warm up
                    result = run(address, clients, args.seconds, session_update)
                    print(f"{kind:<12} {clients:>2} clients {figures(result)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
