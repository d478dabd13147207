"""`make fuzz`: the long property run, for nightly jobs (not part of `make test`).

1. The property and stateful tests under the ``thorough`` Hypothesis profile.
2. schemathesis' own runner (``st run``) against a running sandbox (or --url), with our contract,
   its default checks, every phase (examples, coverage, fuzzing, stateful), positive and negative
   data. It gets the tests' generation hints and business-rule relaxations, but not the stateful
   tests' harness: its scenarios do not start from the seed, and it sends a path value a link
   took from a body unencoded (a profile id holding "/" then misses its route), and it judges
   negative data as generated, not as sent (see property_setup.negative_data_rejection_as_sent).

The contract (vendor document + overlay) and the schemathesis configuration (the generation hints
and relaxed checks the tests use, the key from $TALON_API_KEY) are written to build/fuzz/ first,
since ``st`` reads files: the same two files as ``talon-contracts contract``, by the same code.
Exit status: 0 when both parts pass, 1 when either found a failure, 2 when something could not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "fuzz"
sys.path.insert(0, str(ROOT))


def write_inputs() -> tuple[Path, Path]:
    """The two files of ``talon-contracts contract --output ... --schemathesis-config ...``, by the
    package's code (contracts.fuzzing): what the nightly run uses is what the package ships."""
    from contracts import load_contract
    from contracts.fuzzing import contract_text, schemathesis_toml
    from replay.cassettes import atomic_write

    document = load_contract().document.data
    contract, config = OUT / "contract.json", OUT / "schemathesis.toml"
    for path, text in ((contract, contract_text(document, "json")), (config, schemathesis_toml(document))):
        with atomic_write(path) as stream:  # its directory created
            stream.write(text.encode("utf-8"))
    return contract, config


def run(command: list[str], env: dict[str, str] | None = None) -> int:
    print("$", " ".join(command), flush=True)  # keys go through the environment: never in CI logs
    started = time.monotonic()
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(f"-> exit {status} after {time.monotonic() - started:.0f} s", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="target base URL (default: an embedded sandbox)")
    parser.add_argument("--api-key", default=os.environ.get("TALON_API_KEY"), help="key for --url")
    parser.add_argument("--max-examples", type=int, default=100, help="st run: examples per operation")
    parser.add_argument("--skip-pytest", action="store_true", help="only run st run")
    args = parser.parse_args(argv)
    if args.url and not args.api_key:
        parser.error("--url needs --api-key (or TALON_API_KEY)")

    contract, config = write_inputs()
    bin_dir = Path(sys.executable).parent
    failures = 0
    if not args.skip_pytest:
        env = dict(os.environ, TALON_HYPOTHESIS_PROFILE="thorough")
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                   "tests/contracts/sandbox/test_properties.py", "tests/contracts/sandbox/test_stateful.py"]  # fmt: skip
        if args.url:  # the key through the environment, not the command line
            command += ["--talon-base-url", args.url]
            env["TALON_API_KEY"] = args.api_key
        status = run(command, env)
        if status not in (0, 1):
            return 2
        failures += status

    from contracts.fuzzing import API_KEY_VARIABLE
    from contracts.sandbox import Sandbox

    sandbox = None if args.url else Sandbox(port=0).start()
    try:
        url = args.url or str(sandbox.base_url)  # type: ignore[union-attr]
        key = args.api_key if args.url else sandbox.api_key  # type: ignore[union-attr]
        env = dict(os.environ, **{API_KEY_VARIABLE: key})  # the configuration reads the key from there
        status = run([
            str(bin_dir / "st"), "--config-file", str(config), "run", str(contract), "--url", url,
            "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(args.max_examples), "--continue-on-failure",
            "--report", "junit", "--report-dir", str(OUT / "report"),
        ], env)  # fmt: skip
    finally:
        if sandbox is not None:
            sandbox.stop()
    if status not in (0, 1):
        return 2
    return 1 if failures or status else 0


if __name__ == "__main__":
    sys.exit(main())
