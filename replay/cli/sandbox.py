"""``talon-contracts sandbox``: serve the stateful local Integration API until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import click

from contracts import TalonContractsError
from replay.cli.common import ToolFailure

__all__ = ["sandbox"]


@click.command()
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
