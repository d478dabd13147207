"""The ``talon-contracts`` command line: the root group; each command lives in a module of its own.

Each command is options + orchestration: the work is done by library code that returns an
outcome, and a renderer (``replay.reporting``) prints it. Exit codes (``replay.cli.common``): 0
clean, 1 findings, 2 usage or infrastructure errors (click's own usage errors also exit 2), 130
interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from contracts.errors import TalonContractsError
from replay.cli.common import EXIT_ERROR, EXIT_INTERRUPTED

__all__ = ["COMMANDS", "cli", "main"]

#: name -> (module, attribute, what ``--help`` lists for it: the first paragraph of its help, so that
#: listing the commands imports none of them; tests/replay/cli/test_main.py holds the two alike).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "capture": ("replay.cli.capture", "capture",
                "Capture real traffic: a reverse proxy in front of Talon.One that records every exchange."),
    "contract": ("replay.cli.contract", "contract",
                 "Write the merged contract (vendor facts + our overlay) and the matching schemathesis.toml."),
    "convert": ("replay.cli.convert", "convert",
                "Convert a capture (vcrpy, schemathesis, HAR or JSON Lines) to a redacted cassette."),
    "coverage": ("replay.cli.coverage", "coverage",
                 "Print which operations and statuses the recordings cover, and which they miss."),
    "diff": ("replay.cli.diff", "diff", "Compare two OpenAPI documents (paths, or REV:path read from git) from "
             "a client's side of the wire."),
    "record": ("replay.cli.record", "record",
               "Run named customer stories against a target and write one redacted cassette per story."),
    "replay": ("replay.cli.replay", "replay",
               "Re-send recorded traffic to a target and report what changed (default command: run)."),
    "sandbox": ("replay.cli.sandbox", "sandbox",
                "Serve the sandbox: a stateful local Talon.One Integration API (Ctrl-C stops it)."),
    "upgrade-check": ("replay.cli.upgrade_check", "upgrade_check", "What moving to a new API release breaks for "
                      "you: the spec diff, its impact on your recorded TRAFFIC (cassettes, HAR, JSON Lines), our "
                      "overlay on the new document and, with --candidate, a replay of the traffic against both "
                      "targets. One report, one exit code (0, 1 findings, 2 bad input)."),
    "validate": ("replay.cli.validate", "validate", "Check that a contract loads, and list the operations it defines."),
    "verify": ("replay.cli.verify", "verify", "Check recorded requests and responses against the contract."),
}  # fmt: skip


class _LazyGroup(click.Group):
    """Commands whose modules are imported only when they run: ``replay`` costs ~175 ms of imports
    and ``diff``/``upgrade-check`` ~85 ms (``python -X importtime``), which every other command (and
    ``--help``, which lists them from :data:`COMMANDS`) would pay at start otherwise."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS and name not in self.commands:
            import importlib

            module, attribute, _ = COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:  # not imported: its first paragraph, shortened as click shortens it
                rows.append((name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="talon-contracts")
def cli() -> None:
    """Contract testing and traffic replay for the Talon.One Integration API."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is: it takes the path of Ctrl-C (the work stops where it
    is, partial reports are written and temporary files removed), and exits 130 too."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point, and the one exit path: tool errors become a message and exit
    code 2, never a traceback; Ctrl-C and SIGTERM that no command handled exit 130 (click alone
    would print "Aborted!" and exit 1)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="talon-contracts", standalone_mode=False
        )
    except click.exceptions.Abort:  # click's name for a KeyboardInterrupt (or EOF at a prompt)
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:  # usage errors: click's own message and exit code (2)
        exc.show()
        sys.exit(exc.exit_code)
    except TalonContractsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("TALON_CONTRACTS_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set TALON_CONTRACTS_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(result if isinstance(result, int) else 0)  # --help, --version: click's Exit(0) is returned


if __name__ == "__main__":  # pragma: no cover
    main()
