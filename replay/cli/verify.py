"""``talon-contracts verify``: check recorded requests and responses against the contract."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from replay.cli.common import CONTRACT_OPTION, open_contract, write_output
from replay.reporting.text import render_verify

if TYPE_CHECKING:
    from contracts import Contract
    from replay.verify import VerifyReport

__all__ = ["verify"]


@click.command()
@CONTRACT_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the report here."
)
@click.option("--strict-requests", is_flag=True,
              help="Also report the request violations of negative exchanges (a bad request answered 4xx).")  # fmt: skip
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def verify(
    contract_path: Path | None, fmt: str, output: Path | None, strict_requests: bool, paths: tuple[Path, ...]
) -> None:
    """Check recorded requests and responses against the contract.

    Reads vcrpy cassettes, schemathesis VCR reports, HAR files and JSON Lines captures (files or
    directories). Exit 0 when everything conforms, 1 on violations, 2 on unreadable input.
    """
    from replay.verify import verify as run_verify

    contract = open_contract(contract_path)
    if fmt == "junit":
        report = _verify_to_junit(paths, contract, strict_requests, output)
    else:
        report = run_verify(paths, contract, strict_requests=strict_requests)
        write_output(render_verify(report, fmt), output)
    if output is not None:
        click.echo(
            f"{report.interactions} interaction(s), {report.violation_count} violation(s); report: {output}",
            err=True,
        )
    sys.exit(report.exit_code)


class _Echo:
    """Standard output, for bytes."""

    def write(self, data: bytes) -> int:
        click.echo(data, nl=False)
        return len(data)


def _verify_to_junit(
    paths: tuple[Path, ...], contract: Contract, strict_requests: bool, output: Path | None
) -> VerifyReport:
    """Verify, writing the JUnit report as the interactions are checked (one test case each: none is
    kept in memory, whatever the size of the capture)."""
    from replay.cassettes import atomic_write
    from replay.reporting.junit import VerifyJUnitReport
    from replay.verify import verify as run_verify

    if output is None:
        junit = VerifyJUnitReport()
        report = run_verify(paths, contract, strict_requests=strict_requests, progress=junit.end_file,
                            sink=junit.add)  # fmt: skip
        junit.write(report, _Echo())
        return report
    with atomic_write(output) as out:  # its directory created
        junit = VerifyJUnitReport(spool_dir=output.parent)
        report = run_verify(paths, contract, strict_requests=strict_requests, progress=junit.end_file,
                            sink=junit.add)  # fmt: skip
        junit.write(report, out)
    return report
