"""The ``talon-contracts`` command line.

Each command is options + orchestration: the work is done by library code that returns an
outcome, and a renderer (``replay.reporting.text``) prints it. Exit codes: 0 clean, 1 findings,
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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from contracts import Contract, ContractWarning, TalonContractsError, load_contract, load_spec
from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT

if TYPE_CHECKING:
    from replay.cassettes.model import Interaction

from replay.reporting.text import ContractCheck, render_contract_check, render_coverage, render_verify

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class ToolFailure(click.ClickException):
    """An infrastructure problem reported by a command (exit code 2, like usage errors)."""

    exit_code = EXIT_ERROR


def _emit(out: str, err: str) -> None:
    if out:
        click.echo(out, nl=False)
    if err:
        click.echo(err, nl=False, err=True)


class _LazyGroup(click.Group):
    """Commands whose modules are imported only when they run (or when help lists them): ``replay``
    costs ~160 ms of imports and ``diff``/``upgrade-check`` ~65 ms (``python -X importtime``), which
    every other command would pay at start otherwise."""

    lazy = {
        "replay": ("replay.cli.replay", "replay"),
        "diff": ("replay.upgrade.command", "diff"),
        "upgrade-check": ("replay.upgrade.command", "upgrade_check"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def _load(contract_path: Path | None) -> Contract:
    """The shipped contract, or a vendor document with our overlay; tool errors exit 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        try:
            return load_spec(contract_path, overlay=DEFAULT_OVERLAY) if contract_path else load_contract()
        except TalonContractsError as exc:
            raise ToolFailure(str(exc)) from None


_CONTRACT_OPTION = click.option(
    "--contract",
    "contract_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="OpenAPI document to check against (with our overlay). Default: the shipped contract.",
)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


@cli.command()
@_CONTRACT_OPTION
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

    contract = _load(contract_path)
    report = run_verify(paths, contract, strict_requests=strict_requests)
    _write(render_verify(report, fmt), output)
    if output is not None:
        click.echo(
            f"{report.interactions} interaction(s), {report.violation_count} violation(s); report: {output}",
            err=True,
        )
    sys.exit(report.exit_code)


@cli.command()
@_CONTRACT_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--fail-on-missing", is_flag=True, help="Exit 1 when a documented operation/status is not covered."
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def coverage(contract_path: Path | None, fmt: str, fail_on_missing: bool, paths: tuple[Path, ...]) -> None:
    """Print which operations and statuses the recordings cover, and which they miss."""
    from replay.verify import coverage as run_coverage

    report = run_coverage(paths, _load(contract_path))
    click.echo(render_coverage(report, fmt), nl=False)
    if report.unreadable or report.problems:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if fail_on_missing and report.missing() else EXIT_OK)


@cli.command()
@click.argument("scenarios", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Record every scenario.")
@click.option("--list", "listing", is_flag=True, help="List the scenarios and exit.")
@click.option("--target", default=None, help="Base URL to record against. Default: an embedded sandbox.")
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for --target (or TALON_API_KEY)."
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cassettes"),
              show_default=True)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["vcr", "jsonl"]), default="vcr", show_default=True)
@click.option("--namespace", default=None,
              help="Prefix for the ids the stories choose. Default: none on the sandbox, a fresh one elsewhere.")  # fmt: skip
@click.option("--redact-path", "paths", multiple=True, help="Another JSON path to pseudonymise (RFC 9535).")
@click.option("--redaction-salt", "salt", envvar="TALON_REDACTION_SALT", default=None,
              help="Secret key for pseudonyms, for stable re-recordings (or TALON_REDACTION_SALT). "
                   "Default: random per run (fixed on the embedded sandbox, whose data is fictional).")  # fmt: skip
def record(
    scenarios: tuple[str, ...], everything: bool, listing: bool, target: str | None, api_key: str | None,
    out_dir: Path, fmt: str, namespace: str | None, paths: tuple[str, ...], salt: str | None,
) -> None:  # fmt: skip
    """Run named customer stories against a target and write one redacted cassette per story.

    Exit 0 when every story was recorded, 1 when the target did not answer as a story expects,
    2 on usage or infrastructure errors (unreachable target, a credential left in a cassette ...).
    """
    from replay.recording.record import RecordResult
    from replay.recording.record import record as run_record
    from replay.recording.stories import SCENARIOS
    from replay.recording.redaction import DEFAULT_PATHS, RedactionRules

    if listing:
        width = max(len(n) for n in SCENARIOS)
        for name, (_, description) in sorted(SCENARIOS.items()):
            click.echo(f"{name:<{width}}  {description}")
        return
    names = sorted(SCENARIOS) if everything else list(scenarios)
    if not names:
        raise click.UsageError("name scenarios to record, or --all (see --list)")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise click.UsageError(
            f"unknown scenario(s) {', '.join(unknown)}; valid: {', '.join(sorted(SCENARIOS))}"
        )
    if target is not None and not api_key:
        raise click.UsageError("--target needs --api-key (or TALON_API_KEY)")
    try:
        rules = RedactionRules(json_paths=DEFAULT_PATHS + paths)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    def show(result: RecordResult) -> None:
        if result.ok:
            click.echo(f"ok   {result.name}: {result.interactions} interaction(s) -> {result.path}", err=True)
        else:
            click.echo(f"FAIL {result.name}: {result.error}", err=True)

    click.echo(f"recording {len(names)} scenario(s) against {target or 'an embedded sandbox'}", err=True)
    results = run_record(names, out_dir, target=target, api_key=api_key, namespace=namespace, fmt=fmt, rules=rules,
                         progress=show, salt=salt.encode() if salt else None)  # fmt: skip
    failed = [r for r in results if not r.ok]
    if not failed:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_FINDINGS if all(r.finding for r in failed) else EXIT_ERROR)


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["vcr", "jsonl"]), default=None,
              help="Output format. Default: jsonl for a .jsonl/.ndjson target, else vcr.")  # fmt: skip
@click.option("--api-key", envvar="TALON_API_KEY", default=None,
              help="The key used while capturing: refused wherever it still appears (or TALON_API_KEY).")  # fmt: skip
@click.option("--redact-path", "paths", multiple=True, help="Another JSON path to pseudonymise (RFC 9535).")
@click.option("--redaction-salt", "salt", envvar="TALON_REDACTION_SALT", default=None,
              help="Secret key for pseudonyms (or TALON_REDACTION_SALT). Default: random.")  # fmt: skip
def convert(
    source: Path, target: Path, fmt: str | None, api_key: str | None, paths: tuple[str, ...], salt: str | None
) -> None:
    """Convert a capture (vcrpy, schemathesis, HAR or JSON Lines) to a redacted cassette.

    A HAR export from a browser holds the real Authorization header: it is redacted on the way,
    and nothing is written if a credential would survive. Exit 0 when everything was converted,
    2 when parts of SOURCE could not be read (the rest is written) or nothing could be written.
    """
    from replay.cassettes.reading import read_interactions
    from replay.cassettes.model import ReadProblem
    from replay.recording.redaction import DEFAULT_PATHS, RedactionRules, Redactor, save

    fmt = fmt or ("jsonl" if target.suffix.lower() in (".jsonl", ".ndjson") else "vcr")
    try:
        rules = RedactionRules(json_paths=DEFAULT_PATHS + paths)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if source.resolve() == target.resolve():
        raise click.UsageError("SOURCE and TARGET are the same file")
    problems: list[ReadProblem] = []

    def interactions() -> Iterator[Interaction]:
        for item in read_interactions(source):
            if isinstance(item, ReadProblem):
                problems.append(item)
                click.echo(f"unreadable: {item}", err=True)
            else:
                yield item

    redactor = Redactor(rules, salt.encode()) if salt else Redactor(rules)
    try:
        count = save(target, interactions(), api_key=api_key, redactor=redactor, fmt=fmt)
    except (TalonContractsError, OSError) as exc:  # a credential would be written; an unwritable target
        raise ToolFailure(f"nothing written: {exc}") from None
    click.echo(f"{count} interaction(s) -> {target} [{fmt}]", err=True)
    if problems:
        click.echo(f"{len(problems)} part(s) of {source} could not be read", err=True)
    sys.exit(EXIT_ERROR if problems else EXIT_OK)


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
