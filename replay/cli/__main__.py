"""``python -m replay.cli``: the ``talon-contracts`` command (the sandbox tests and benchmarks start it so)."""

from replay.cli import main

main()
