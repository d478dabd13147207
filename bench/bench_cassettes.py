"""Benchmark: reading recorded traffic, time and peak memory per cassette format.

Run with ``make bench-cassettes`` (or ``python bench/bench_cassettes.py [--count N] [--large N]
[--repeat R] [--quick]``). The recorded interactions of every file in ``cassettes/`` are cycled
through to build N interactions (10,000 by default; each copy gets its own session ids, timestamps
and durations), written in a temporary directory in each format ``replay.cassettes.reading`` reads:

* ``vcr``: a vcrpy cassette (``write_cassette(fmt="vcr")``);
* ``schemathesis``: a schemathesis VCR report (``http_interactions``), written item by item;
* ``har``: a HAR 1.2 file (``log.entries``), written with orjson;
* ``jsonl``: JSON Lines (``write_cassette(fmt="jsonl")``).

Each file is read in a fresh process, ``for item in read_interactions(path)``, counting
interactions and read problems (there must be none). Prints the file size, the time,
interactions/s and the peak memory above the process's footprint once the project is imported
(``ru_maxrss``; MB = 2**20 bytes). A reference row loads the vcrpy cassette as one document with
``yaml.load`` (CSafeLoader), as a whole-file reader would. Every row is measured R times (3 by
default): the fastest run is shown, with the highest peak.

Then the bounded-memory check: ``verify([path], load_contract())`` on JSON Lines captures of N and
of --large interactions (100,000 by default), each in a fresh process, memory measured above the
footprint with the contract loaded. Reading one interaction at a time, the peak must not grow with
the capture: the ratio of the two peaks is about 1x, not 10x. The generated data is valid, so
verify must find no violation. Exits 1 when a count is wrong, a problem is read or a violation
found.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml
from _children import run_child  # bench/ is on the path when run as a script

from contracts.http import HeadersLike, normalize_headers
from contracts.spec import load_contract
from replay.cassettes import cassette_files, header_lists, read_interactions, write_cassette
from replay.cassettes.model import Interaction, ReadProblem
from replay.verify import verify

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "cassettes"
FORMATS = ("vcr", "schemathesis", "har", "jsonl")
SUFFIXES = {"vcr": ".yaml", "schemathesis": ".yaml", "har": ".har", "jsonl": ".jsonl"}
STARTED = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)
SESSION = re.compile(r"(/customer_sessions/)([^/?#]+)")
MB = 1024 * 1024

# A child started straight from this process would inherit its peak memory: on Linux, exec keeps
# the high-water mark of the memory it replaces in ru_maxrss, and subprocess execs from the parent's
# memory (vfork). Children are therefore started by a bare interpreter, whose peak (~11 MB) is
# below the footprint of a child that has imported the project.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


# --------------------------------------------------------------------------- the data


def corpus() -> list[Interaction]:
    """The committed recordings, in file order."""
    found: list[Interaction] = []
    for path in cassette_files([CORPUS]):
        for item in read_interactions(path):
            if isinstance(item, ReadProblem):
                raise SystemExit(f"the committed corpus does not read cleanly: {item}")
            found.append(item)
    if not found:
        raise SystemExit(f"no recorded interactions in {CORPUS}")
    return found


def generate(pool: list[Interaction], count: int) -> Iterator[Interaction]:
    """``count`` interactions cycling through ``pool``; copy k has its own session ids (``<id>-k``).

    Only the session id in the path changes (the contract accepts any id), plus when each request
    was sent and how long it took, so the data stays valid for verify.
    """
    for i in range(count):
        copy, position = divmod(i, len(pool))
        base = pool[position]
        url = SESSION.sub(rf"\g<1>\g<2>-{copy}", base.request.url)
        yield dataclasses.replace(
            base,
            source="bench",
            index=i,
            request=dataclasses.replace(base.request, url=url),
            recorded_at=(STARTED + datetime.timedelta(milliseconds=25 * i)).isoformat(
                timespec="microseconds"
            ),
            elapsed=0.004 + (i % 37) / 1000,
            line=None,
        )


def text(body: bytes | str | None) -> str | None:
    """A body as text (the corpus holds UTF-8 text only); None when there is none."""
    if not body:
        return None
    return body if isinstance(body, str) else body.decode("utf-8")


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --------------------------------------------------------------------------- the formats


def schemathesis_item(interaction: Interaction, number: int) -> dict[str, Any]:
    request = interaction.request
    record: dict[str, Any] = {
        "uri": request.url,
        "method": request.method,
        "headers": header_lists(request.headers),
    }
    body = text(request.body)
    if body is not None:
        record["body"] = {"encoding": "utf-8", "string": body}
    item: dict[str, Any] = {
        "id": str(number),
        "status": "SUCCESS",
        "seed": 1,
        "elapsed": interaction.elapsed,
        "recorded_at": interaction.recorded_at,
        "checks": [],
        "request": record,
    }
    response = interaction.response
    if response is not None:
        item["response"] = {
            "status": {"code": response.status, "message": phrase(response.status)},
            "headers": header_lists(response.headers),
            "body": {"encoding": "utf-8", "string": text(response.body) or ""},
            "http_version": "1.1",
            "elapsed": interaction.elapsed,
        }
    return item


def write_schemathesis(path: Path, interactions: Iterable[Interaction]) -> int:
    """A schemathesis VCR report, dumped one list item at a time (never one huge document)."""
    count = 0
    with path.open("wb") as stream:
        head = {
            "command": "st run --report vcr openapi.yaml",
            "recorded_with": "Schemathesis 3.39.16",
            "seed": 1,
        }
        stream.write(yaml.dump(head, Dumper=yaml.CSafeDumper, sort_keys=False).encode("utf-8"))
        stream.write(b"http_interactions:\n")
        for interaction in interactions:
            count += 1
            item = schemathesis_item(interaction, count)
            stream.write(yaml.dump([item], Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False,
                                   default_flow_style=False, width=120).encode("utf-8"))  # fmt: skip
    return count


def har_headers(headers: HeadersLike) -> list[dict[str, str]]:
    return [
        {"name": name, "value": value} for name, values in header_lists(headers).items() for value in values
    ]


def har_entry(interaction: Interaction) -> dict[str, Any]:
    request = interaction.request
    elapsed_ms = round((interaction.elapsed or 0) * 1000, 3)
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": "HTTP/1.1",
        "headers": har_headers(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(request.url).query)],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(request.body or b""),
    }
    body = text(request.body)
    if body is not None:
        mime = normalize_headers(request.headers).get("content-type", "application/json")
        har_request["postData"] = {"mimeType": mime, "text": body}
    response = interaction.response
    if response is None:  # what a browser records when no answer came
        har_response: dict[str, Any] = {"status": 0, "statusText": "", "httpVersion": "", "headers": [],
                                        "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                                        "redirectURL": "", "headersSize": -1, "bodySize": -1}  # fmt: skip
    else:
        size = len(response.body or b"")
        har_response = {
            "status": response.status,
            "statusText": phrase(response.status),
            "httpVersion": "HTTP/1.1",
            "headers": har_headers(response.headers),
            "cookies": [],
            "content": {
                "size": size,
                "mimeType": normalize_headers(response.headers).get("content-type", "x-unknown"),
                "text": text(response.body) or "",
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": size,
        }
    return {
        "startedDateTime": interaction.recorded_at,
        "time": elapsed_ms,
        "request": har_request,
        "response": har_response,
        "cache": {},
        "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
    }


def write_har(path: Path, interactions: Iterable[Interaction]) -> int:
    """A HAR 1.2 file; the entries are serialised one by one into the ``entries`` array."""
    count = 0
    with path.open("wb") as stream:
        creator = {"name": "bench_cassettes", "version": "1.0"}
        stream.write(b'{"log":{"version":"1.2","creator":' + orjson.dumps(creator) + b',"entries":[')
        for interaction in interactions:
            if count:
                stream.write(b",")
            stream.write(orjson.dumps(har_entry(interaction)))
            count += 1
        stream.write(b"]}}")
    return count


def write(fmt: str, path: Path, interactions: Iterable[Interaction]) -> int:
    if fmt == "schemathesis":
        return write_schemathesis(path, interactions)
    if fmt == "har":
        return write_har(path, interactions)
    return write_cassette(path, interactions, fmt=fmt)


# --------------------------------------------------------------------------- measuring (child side)


def peak_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def child(mode: str, path: Path) -> int:
    """Runs in a fresh process: one measurement, printed as a JSON object."""
    result: dict[str, Any] = {"problems": 0, "violations": 0}
    if mode == "verify":
        started = time.perf_counter()
        contract = load_contract()
        result["contract_seconds"] = time.perf_counter() - started
        baseline = peak_kib()
        started = time.perf_counter()
        report = verify([path], contract)
        result["seconds"] = time.perf_counter() - started
        result["interactions"] = report.interactions
        result["problems"] = len(report.problems) + len(report.unreadable)
        result["violations"] = report.violation_count
    elif mode == "yaml-load":
        baseline = peak_kib()
        started = time.perf_counter()
        with open(path, encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=yaml.CSafeLoader)
        result["seconds"] = time.perf_counter() - started
        result["interactions"] = len(document["interactions"])
    else:
        baseline = peak_kib()
        interactions = problems = 0
        started = time.perf_counter()
        for item in read_interactions(path):
            if isinstance(item, Interaction):
                interactions += 1
            else:
                problems += 1
                if problems <= 3:
                    print(f"read problem: {item}", file=sys.stderr)
        result["seconds"] = time.perf_counter() - started
        result["interactions"], result["problems"] = interactions, problems
    result["baseline_mb"] = baseline / 1024
    result["extra_mb"] = (peak_kib() - baseline) / 1024
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- measuring (parent side)


def measure_once(mode: str, path: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-c",
        LAUNCHER,
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        str(path),
    ]
    return run_child(command, f"{mode} measurement of {path.name}", ROOT)


def measure(mode: str, path: Path, repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh processes, with the highest peak and the worst counts seen."""
    runs = [measure_once(mode, path) for _ in range(repeat)]
    best = min(runs, key=lambda run: float(run["seconds"]))
    for key in ("extra_mb", "problems", "violations"):
        best[key] = max(run[key] for run in runs)
    if len({run["interactions"] for run in runs}) > 1:
        best["interactions"] = -1  # a reader that is not deterministic: reported as a failure
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--count", type=int, help="interactions per format (default 10000; 2000 with --quick)"
    )
    parser.add_argument(
        "--large", type=int, help="the large verify capture (default 100000; 20000 with --quick)"
    )
    parser.add_argument(
        "--repeat", type=int, help="fresh processes per row, the fastest counts (default 3; 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    count: int = args.count or (2_000 if args.quick else 10_000)
    large: int = args.large or (20_000 if args.quick else 100_000)
    repeat: int = args.repeat or (1 if args.quick else 3)
    if count < 1 or large < 1 or repeat < 1:
        parser.error("--count, --large and --repeat must be positive")

    pool = corpus()
    print(f"python {platform.python_version()} on {platform.machine()}, pyyaml {yaml.__version__} "
          f"(libyaml {yaml.__with_libyaml__}), orjson {orjson.__version__}")  # fmt: skip
    print(f"{count:,} interactions per format, cycling through the {len(pool)} recorded in cassettes/; "
          f"each row: the fastest of {repeat} fresh process{'es' if repeat > 1 else ''}")  # fmt: skip
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-cassettes-") as tmp:
        files: dict[str, Path] = {}
        for fmt in FORMATS:
            files[fmt] = Path(tmp) / f"capture-{fmt}{SUFFIXES[fmt]}"
            written = write(fmt, files[fmt], generate(pool, count))
            assert written == count, f"{fmt}: wrote {written} of {count}"

        print("\nreading, in fresh processes: for item in read_interactions(path)")
        print(f"  {'format':<26} {'file MB':>8} {'read':>8} {'problems':>8} {'seconds':>8} "
              f"{'interactions/s':>14} {'peak extra MB':>13}")  # fmt: skip
        rows = [(fmt, "read", files[fmt]) for fmt in FORMATS] + [
            ("vcr, yaml.load (reference)", "yaml-load", files["vcr"])
        ]
        for label, mode, path in rows:
            result = measure(mode, path, repeat)
            problems = "-" if mode == "yaml-load" else f"{result['problems']:,}"
            print(f"  {label:<26} {path.stat().st_size / MB:>8.1f} {result['interactions']:>8,} {problems:>8} "
                  f"{result['seconds']:>8.2f} {result['interactions'] / result['seconds']:>14,.0f} "
                  f"{result['extra_mb']:>13.1f}")  # fmt: skip
            if result["interactions"] != count or result["problems"]:
                failures.append(f"{label}: {result['interactions']} interactions read of {count}, "
                                f"{result['problems']} problems")  # fmt: skip

        big = Path(tmp) / "capture-large.jsonl"
        write("jsonl", big, generate(pool, large))
        print("\nverify([path], load_contract()) on JSON Lines, in fresh processes "
              "(memory above the loaded contract)")  # fmt: skip
        print(f"  {'capture':<26} {'file MB':>8} {'checked':>8} {'violations':>10} {'seconds':>8} "
              f"{'interactions/s':>14} {'peak extra MB':>13}")  # fmt: skip
        peaks: list[float] = []
        for path, expected in ((files["jsonl"], count), (big, large)):
            result = measure("verify", path, repeat)
            peaks.append(result["extra_mb"])
            print(f"  {f'{expected:,} interactions':<26} {path.stat().st_size / MB:>8.1f} "
                  f"{result['interactions']:>8,} {result['violations']:>10,} {result['seconds']:>8.2f} "
                  f"{result['interactions'] / result['seconds']:>14,.0f} {result['extra_mb']:>13.1f}")  # fmt: skip
            if result["interactions"] != expected or result["problems"] or result["violations"]:
                failures.append(f"verify of {expected:,}: {result['interactions']} checked, "
                                f"{result['problems']} problems, {result['violations']} violations")  # fmt: skip
    ratio = peaks[1] / peaks[0] if peaks[0] > 0 else float("inf")
    print(f"  peak extra memory, {large:,} vs {count:,} interactions: {ratio:.2f}x "
          f"for {large / count:g}x the interactions (bounded: ~1x; proportional: {large / count:g}x)")  # fmt: skip
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("  no read problems and 0 violations: every generated interaction conforms to the contract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
