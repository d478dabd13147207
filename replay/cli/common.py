"""What the commands share: the exit codes, the failure that exits 2, loading the contract to check
against, and writing a report to a file or standard output."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from contracts import Contract, ContractWarning, TalonContractsError, load_contract, load_spec
from contracts.spec import DEFAULT_OVERLAY

__all__ = [
    "CONTRACT_OPTION",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "ToolFailure",
    "emit",
    "open_contract",
    "write_output",
]

#: 0 clean, 1 findings, 2 usage or infrastructure errors (click's own usage errors also exit 2),
#: 130 interrupted (what a shell reports after Ctrl-C).
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class ToolFailure(click.ClickException):
    """An infrastructure problem reported by a command (exit code 2, like usage errors)."""

    exit_code = EXIT_ERROR


def emit(out: str, err: str) -> None:
    """A renderer's (stdout, stderr)."""
    if out:
        click.echo(out, nl=False)
    if err:
        click.echo(err, nl=False, err=True)


def open_contract(contract_path: Path | None) -> Contract:
    """The shipped contract, or a vendor document with our overlay; tool errors exit 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        try:
            return load_spec(contract_path, overlay=DEFAULT_OVERLAY) if contract_path else load_contract()
        except TalonContractsError as exc:
            raise ToolFailure(str(exc)) from None


CONTRACT_OPTION = click.option(
    "--contract",
    "contract_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="OpenAPI document to check against (with our overlay). Default: the shipped contract.",
)


def write_output(text: str, output: Path | None) -> None:
    """``text`` to ``output`` (its directory created), or to standard output."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
