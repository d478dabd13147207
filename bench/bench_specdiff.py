"""Benchmark: the spec diff and its traffic impact, on whole vendor releases.

Run with ``make bench-specdiff`` (or ``python bench/bench_specdiff.py [--rounds N]``). Inputs: the
whole v6.0.0 and v7.0.0 releases (tests/fixtures/vendor/releases, ~0.6 MB each with prose removed)
and the same two documents as published today would be: prose put back (a description on every
operation, parameter, response, schema and property, as long as the vendor's) and the quirks of
newer releases (a bare ``=`` scalar, ``maximum: 1E+15``), which brings each to 1.2-1.7 MB.

Measured, best of N rounds:

* end to end: ``talon-contracts diff OLD NEW --all-operations`` in a fresh process (interpreter start,
  imports, reading, loading, diffing, rendering). Goal: <= 2 s;
* loading one document (read, overlay-free load, $ref check);
* the diff once both are loaded: the 28 Integration API operations (goal <= 0.5 s) and every operation;
* traffic impact over the committed corpus (cassettes/, 149 interactions) for a breaking release (the
  tests' next-release overlay on v7.0.0): touches and re-verification against both contracts, schemas
  compiled on first use included. Goal: <= 1 s.
"""

from __future__ import annotations

import argparse
import gzip
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from contracts.spec import load_contract
from contracts.specdiff.operations import Scope, diff_contracts
from contracts.specdiff.sources import load_side

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "tests" / "fixtures" / "vendor" / "releases"
CASSETTES = ROOT / "cassettes"
# about the length of the vendor's own descriptions, which brings the releases to their published size
PROSE = (
    "The value is validated against the Application's settings; see the developer docs for the limits that "
    "apply to your deployment and for the effects it may produce. "
)


def _with_prose(node: Any, depth: int = 0) -> Any:
    """Put a description back wherever the vendor writes one (operations, parameters, schemas, properties)."""
    if isinstance(node, dict):
        out = {k: _with_prose(v, depth + 1) for k, v in node.items()}
        if (
            "type" in out or "properties" in out or "operationId" in out or "in" in out
        ) and "$ref" not in out:
            out.setdefault("description", PROSE * (1 + depth % 2))
        return out
    if isinstance(node, list):
        return [_with_prose(v, depth + 1) for v in node]
    return node


def documents(workdir: Path) -> dict[str, tuple[Path, Path]]:
    pairs: dict[str, tuple[Path, Path]] = {}
    plain, published = [], []
    for version in ("6.0.0", "7.0.0"):
        raw = gzip.decompress((RELEASES / f"talon-v{version}.yaml.gz").read_bytes())
        path = workdir / f"talon-v{version}.yaml"
        path.write_bytes(raw)
        plain.append(path)
        data = _with_prose(yaml.load(raw, Loader=yaml.CSafeLoader))
        text = yaml.safe_dump(data, sort_keys=False, width=120)
        # the quirks of the releases published since v8.0.0, which the tolerant loader repairs
        text = text.replace("\n      type: object\n", "\n      type: object\n      x-quirk: =\n", 1)
        text = text.replace("maximum: 1000\n", "maximum: 1E+15\n", 3)
        full = workdir / f"talon-v{version}-published.yaml"
        full.write_text(text)
        published.append(full)
    pairs["whole release, prose removed"] = (plain[0], plain[1])
    pairs["whole release, as published"] = (published[0], published[1])
    return pairs


SCOPE = Scope.of(load_contract())  # the 28 operations


def best(fn: Callable[[], Any], rounds: int) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    cli = str(Path(sys.executable).with_name("talon-contracts"))
    print(
        f"Python {platform.python_version()} on {platform.machine()}, best (median) of {args.rounds} rounds\n"
    )
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (old_path, new_path) in documents(Path(tmp)).items():
            size = f"{old_path.stat().st_size / 1e6:.2f} + {new_path.stat().st_size / 1e6:.2f} MB"

            def end_to_end(old: Path = old_path, new: Path = new_path) -> int:
                done = subprocess.run([cli, "diff", str(old), str(new), "--all-operations", "--quiet", "--format",
                                       "json"], capture_output=True, check=False)  # fmt: skip
                if done.returncode not in (0, 1):
                    raise SystemExit(f"talon-contracts diff failed: {done.stderr.decode()}")
                return done.returncode

            low, mid, _ = best(end_to_end, args.rounds)
            rows.append(
                (f"{label} ({size})", "diff --all-operations, end to end", f"{low:.2f} s ({mid:.2f})")
            )
            low, mid, old = best(lambda p=old_path: load_side(str(p)), args.rounds)
            _, _, new = best(lambda p=new_path: load_side(str(p)), 1)
            rows.append(
                ("", f"loading one document ({len(old.operations)} operations)", f"{low:.2f} s ({mid:.2f})")
            )
            low, mid, found = best(lambda o=old, n=new: diff_contracts(o, n, scope=SCOPE), args.rounds)
            rows.append(("", f"diff of the 28 operations, loaded ({len(found.changes)} changes)",
                         f"{low * 1000:.0f} ms ({mid * 1000:.0f})"))  # fmt: skip
            low, mid, found = best(lambda o=old, n=new: diff_contracts(o, n), args.rounds)
            rows.append(("", f"diff of all {found.operations} operations, loaded ({len(found.changes)} changes)",
                         f"{low * 1000:.0f} ms ({mid * 1000:.0f})"))  # fmt: skip
        rows.append(("", "", ""))
        # the breaking release the tests use: every recorded session update is rejected by it
        from contracts.documents import read_document
        from contracts.overlay import load_overlay, run_overlay
        from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT
        from replay.upgrade.traffic import traffic_impact

        breaking = read_document(DEFAULT_VENDOR_CONTRACT)
        run_overlay(
            breaking, load_overlay(ROOT / "tests" / "fixtures" / "specdiff" / "next-release.overlay.yaml")
        )
        next_path = Path(tmp) / "talon-next.yaml"
        next_path.write_text(yaml.safe_dump(breaking.data, sort_keys=False))

        def impact() -> Any:
            # fresh contracts each round: compiling the schemas validation needs is part of the cost
            old = load_side(str(DEFAULT_VENDOR_CONTRACT), DEFAULT_OVERLAY)
            new = load_side(str(next_path), DEFAULT_OVERLAY)
            diff = diff_contracts(old, new)
            started = time.perf_counter()
            found = traffic_impact([CASSETTES], diff, old, new)
            return time.perf_counter() - started, found

        times = [impact() for _ in range(args.rounds)]
        seconds = sorted(t for t, _ in times)
        found = times[0][1]
        rows.append((f"traffic impact ({found.interactions} interactions, {found.files} files)",
                     f"touches + re-verification ({found.rejected_count} rejected), schemas compiled", f"{seconds[0] * 1000:.0f} ms "
                     f"({statistics.median(seconds) * 1000:.0f})"))  # fmt: skip
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
