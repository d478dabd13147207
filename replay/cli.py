"""The ``talon-contracts`` command line.

Each command is options + orchestration: the work is done by library code that returns an
outcome, and a renderer (``replay.render``) prints it. Exit codes: 0 clean, 1 findings,
2 usage or infrastructure errors (click's own usage errors also exit 2).
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from contracts import ContractWarning, TalonContractsError, load_spec
from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT

from .render import ContractCheck, render_contract_check

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class ToolFailure(click.ClickException):
    """An infrastructure problem reported by a command (exit code 2, like usage errors)."""

    exit_code = EXIT_ERROR


def _emit(out: str, err: str) -> None:
    if out:
        click.echo(out, nl=False)
    if err:
        click.echo(err, nl=False, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="talon-contracts")
def cli() -> None:
    """Contract testing and traffic replay for the Talon.One Integration API."""


@cli.command()
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
    _emit(*render_contract_check(check, fmt))
    sys.exit(check.exit_code)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=9000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option(
    "--db", default=":memory:", show_default=True, help="SQLite file that keeps the state across restarts."
)
@click.option("--seed", "seed_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The Application's configuration (YAML). Default: the shipped seed.")  # fmt: skip
@click.option("--api-key", default=None, help="API key to accept. Default: the seed's (sandbox-api-key).")
@click.option("--conflicts", type=click.Choice(["serialize", "reject"]), default="serialize", show_default=True,
              help="Concurrent writes to one session/profile: run them in turn, or answer 409 as the real API may.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="Do not log one line per request.")
def sandbox(
    host: str, port: int, db: str, seed_path: Path | None, api_key: str | None, conflicts: str, quiet: bool
) -> None:
    """Serve the sandbox: a stateful local Talon.One Integration API (Ctrl-C stops it)."""
    from contracts.sandbox import Sandbox

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    try:
        server = Sandbox(seed_path, db, api_key=api_key, host=host, port=port, conflicts=conflicts)
    except TalonContractsError as exc:
        raise ToolFailure(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise ToolFailure(f"cannot use the database {db}: {exc}") from None
    try:
        server.start()
    except OSError as exc:
        raise ToolFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"sandbox listening on {server.base_url} (state: {db}); API key: {server.api_key}", err=True)
    click.echo(
        f"  try: curl -H 'Authorization: ApiKey-v1 {server.api_key}' {server.base_url}/v1/customer_profiles/seed-alice/inventory?profile=true",
        err=True,
    )
    try:
        signal.pause() if hasattr(signal, "pause") else threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("sandbox stopped", err=True)


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point: tool errors become a message and exit code 2, never a traceback."""
    try:
        return cli.main(args=list(argv) if argv is not None else None, prog_name="talon-contracts")
    except TalonContractsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("TALON_CONTRACTS_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set TALON_CONTRACTS_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
