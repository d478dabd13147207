"""``python -m contracts.stubgen [--check]``: write ``contracts/client.pyi``, or say whether it is current."""

from __future__ import annotations

import argparse
import sys

from . import COMMAND, STUB, render_client_stub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the stub is not what would be written"
    )
    args = parser.parse_args(argv)
    text = render_client_stub()
    current = STUB.read_text(encoding="utf-8") if STUB.exists() else None
    if args.check:
        if current != text:
            print(f"{STUB} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if current != text:  # an unchanged stub keeps its mtime (and mypy's cache)
        STUB.write_text(text, encoding="utf-8")
        print(f"wrote {STUB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
