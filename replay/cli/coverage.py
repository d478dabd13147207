"""``talon-contracts coverage``: which documented operations and statuses the recordings cover."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from replay.cli.common import CONTRACT_OPTION, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, open_contract
from replay.reporting.text import render_coverage

__all__ = ["coverage"]


@click.command()
@CONTRACT_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--fail-on-missing", is_flag=True, help="Exit 1 when a documented operation/status is not covered."
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def coverage(contract_path: Path | None, fmt: str, fail_on_missing: bool, paths: tuple[Path, ...]) -> None:
    """Print which operations and statuses the recordings cover, and which they miss."""
    from replay.verify import coverage as run_coverage

    report = run_coverage(paths, open_contract(contract_path))
    click.echo(render_coverage(report, fmt), nl=False)
    if report.unreadable or report.problems:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if fail_on_missing and report.missing() else EXIT_OK)
