"""Runs talon-contracts commands one after the other in this process and measures each.

``python -m tests.hostile.driver RUNS.json`` reads a list of ``{"id": ..., "args": [...]}`` and
writes one JSON line per run: exit code, seconds, peak resident memory of the run and how much it
grew over what the process held before the run (MB), and the run's standard output and error.
The peak is the run's own: Linux lets a process reset its high-water mark
(``/proc/self/clear_refs``, value 5) before each run. A run that takes more
than ``--limit`` seconds (wall) is stopped by an alarm and reported with code ``"hung"``; CPU seconds are
reported beside wall seconds.

One process per batch, not per run: ~90 cases times 4 commands would pay ~1 s of start-up each.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class Hung(BaseException):  # not an Exception: the CLI's own catch-all must not swallow it
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hung


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _release() -> None:
    """Give back what earlier runs freed, so that the next run's growth is its own."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _run(args: list[str], limit: float) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code, seconds, cpu, grown, peak = _measured(args, limit, out.fileno(), err.fileno())
        texts = []
        for stream in (out, err):
            stream.seek(0)
            texts.append(stream.read(200_000).decode("utf-8", "replace"))
    return {"code": code, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "peak_mb": round(peak, 1),
            "grown_mb": round(grown, 1),
            "stdout": texts[0], "stderr": texts[1]}  # fmt: skip


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measured(args: list[str], limit: float, out: int, err: int) -> tuple[Any, float, float, float, float]:
    """Run the command with its output in ``out``/``err``: exit code, seconds (wall, then CPU), MB
    grown, peak MB. The bound is on CPU seconds: what the run costs, however loaded the machine
    (a CI box running other jobs made wall times 3-15x longer); the alarm, on wall time, catches
    what blocks without working (a FIFO with no writer)."""
    from replay.cli import main

    saved = os.dup(1), os.dup(2)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out, 1)
    os.dup2(err, 2)
    _release()
    before = _status_mb("VmRSS:")
    _reset_peak()
    code: Any = 0
    started, cpu = time.monotonic(), _cpu()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except Hung:
        code = "hung"
    except BaseException as exc:  # what escapes main() is what the test reports
        code = f"escaped {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        seconds, cpu = time.monotonic() - started, _cpu() - cpu
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    peak = _status_mb("VmHWM:")
    return code, seconds, cpu, peak - before, peak


def main() -> None:
    runs = json.loads(Path(sys.argv[1]).read_text())
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    signal.signal(signal.SIGALRM, _alarm)
    # Past this, a run is stopped by the kernel, not by the machine's swap: a blow-up is a failure
    # of one run, not of the CI host.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    results = open(sys.argv[3], "w", encoding="utf-8") if len(sys.argv) > 3 else sys.stdout  # noqa: SIM115
    for run in runs:
        try:
            result = _run(run["args"], limit)
        except MemoryError:
            peak = _status_mb("VmHWM:")
            result = {
                "code": "MemoryError",
                "seconds": 0,
                "cpu_seconds": 0,
                "peak_mb": peak,
                "grown_mb": peak,
                "stdout": "",
                "stderr": "",
            }
        results.write(json.dumps({"id": run["id"], **result}) + "\n")
        results.flush()


if __name__ == "__main__":
    main()
