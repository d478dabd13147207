"""Every malformed input of the corpus, through every command that reads it.

What a user must always get (issue 16): no traceback and no "internal error"; exit 2 (or 1 for
findings, or what the case allows) with a message that names the input; no output line longer
than 2,000 characters (a 60 MB line is not echoed); each run within 10 s and 500 MB of peak
resident memory (the run's own high-water mark over what the process held before it: the
contract, loaded once, and the allocator's free lists).

The runs happen in one subprocess per kind of input (``tests/hostile/driver.py``), whose address
space is capped at 4 GB so that a regression fails a run instead of the CI machine.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.corpus import CASES, COMMANDS, ROOT, Case

SECONDS = 10.0  # CPU seconds a run may take (the driver's alarm stops one blocked for HUNG wall seconds)
HUNG = 60.0
PEAK_MB = 500.0
LONGEST_LINE = 2000


def _runs(case: Case) -> list[tuple[str, list[str]]]:
    return [(f"{case.name} | {command[0]} {command[1] if command[0] == 'replay' else ''}".strip(), command)
            for command in COMMANDS[case.kind]]  # fmt: skip


@functools.cache
def _results(kind: str) -> dict[str, dict[str, Any]]:
    """Build every case of ``kind``, run all of its commands in one driver process, read the results."""
    directory = Path(tempfile.mkdtemp(prefix=f"hostile-{kind}-"))
    runs = []
    for number, case in enumerate(c for c in CASES if c.kind == kind):
        case_dir = directory / str(number)
        case_dir.mkdir()
        path = case.make(case_dir)
        for run_id, command in _runs(case):
            args = [a.replace("{input}", str(path)).replace("{out}", str(case_dir / "out")) for a in command]
            runs.append({"id": run_id, "args": args, "input": str(path)})
    plan, results = directory / "runs.json", directory / "results.jsonl"
    plan.write_text(json.dumps(runs))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TALON_API_KEY": ""}
    subprocess.run([sys.executable, "-m", "tests.hostile.driver", str(plan), str(HUNG), str(results)],
                   cwd=directory, env=env, timeout=60 + 25 * len(runs), check=False)  # fmt: skip
    found = {}
    for line in results.read_text().splitlines():
        result = json.loads(line)
        found[result["id"]] = result
    for run in runs:
        found.setdefault(run["id"], {"code": "the driver died before this run"})["input"] = run["input"]
    return found


PARAMS = [pytest.param(case, run_id, id=run_id) for case in CASES for run_id, _ in _runs(case)]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 80
    assert {case.kind for case in CASES} == set(COMMANDS)


@pytest.mark.parametrize(("case", "run_id"), PARAMS)
def test_hostile_input(case: Case, run_id: str) -> None:
    result = _results(case.kind)[run_id]
    output = result.get("stdout", "") + result.get("stderr", "")
    assert result["code"] in case.codes, f"exit {result['code']!r}; output:\n{output[-3000:]}"
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    if result["code"] == 2:
        named = Path(result["input"]).name
        assert named in output or "error:" in result["stderr"].lower(), (
            f"the message does not name the input:\n{output[-2000:]}"
        )
    longest = max((len(line) for line in output.splitlines()), default=0)
    assert longest <= LONGEST_LINE, f"a {longest:,}-character line was printed"
    assert result["cpu_seconds"] < SECONDS, f"{result['cpu_seconds']} CPU s ({result['seconds']} s)"
    assert result["grown_mb"] < PEAK_MB, f"{result['grown_mb']} MB more than before the run"
