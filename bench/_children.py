"""Shared by the benchmark scripts: measurements that run in a fresh process and report one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_child(command: list[str], what: str, cwd: Path) -> dict[str, Any]:
    """Run ``command``; its last stdout line is the JSON result. Its stderr is passed on; a failure ends the run."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {what} failed:\n{done.stderr}")
    if done.stderr:
        print(done.stderr, end="", file=sys.stderr)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result
