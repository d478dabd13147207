"""``talon-contracts validate``: does a contract load, and which operations does it define?"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from contracts import ContractWarning, TalonContractsError, load_spec
from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT
from replay.cli.common import emit
from replay.reporting.text import ContractCheck, render_contract_check

__all__ = ["validate"]


@click.command()
@click.option(
    "--contract",
    "contract_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="OpenAPI document (YAML or JSON). Default: the shipped vendor v7.0.0 facts.",
)
@click.option(
    "--overlay",
    "overlay_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Overlay to apply. Default: talon-contracts' own corrections.",
)
@click.option("--no-overlay", is_flag=True, help="Load the document exactly as written.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(contract_path: Path | None, overlay_path: Path | None, no_overlay: bool, fmt: str) -> None:
    """Check that a contract loads, and list the operations it defines.

    Every schema is compiled, as validation would. Quirks that loading tolerated are printed as
    warnings (file, line, JSON pointer); they do not change the exit code. Exit 0 when the document loads, 2 when it cannot be used.
    """
    if no_overlay and overlay_path is not None:
        raise click.UsageError("--overlay and --no-overlay contradict each other")
    source = contract_path or DEFAULT_VENDOR_CONTRACT
    overlay = None if no_overlay else (overlay_path or DEFAULT_OVERLAY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)  # reported through the outcome instead
        try:
            contract = load_spec(source, overlay=overlay)
            contract.validator().compile_all()  # schemas the validator cannot use are issues too
            check = ContractCheck.of(contract)
        except TalonContractsError as exc:
            check = ContractCheck(
                source=str(source), overlay=str(overlay) if overlay else None, error=str(exc)
            )
    emit(*render_contract_check(check, fmt))
    sys.exit(check.exit_code)
