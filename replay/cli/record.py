"""``talon-contracts record``: run named customer stories against a target, one redacted cassette each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from replay.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from replay.recording.record import RecordResult

__all__ = ["record"]


@click.command()
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
    from replay.recording.record import record as run_record
    from replay.recording.redaction import DEFAULT_PATHS, RedactionRules
    from replay.recording.stories import SCENARIOS

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
    click.echo(f"recording {len(names)} scenario(s) against {target or 'an embedded sandbox'}", err=True)
    results = run_record(names, out_dir, target=target, api_key=api_key, namespace=namespace, fmt=fmt, rules=rules,
                         progress=_show, salt=salt.encode() if salt else None)  # fmt: skip
    failed = [r for r in results if not r.ok]
    if not failed:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_FINDINGS if all(r.finding for r in failed) else EXIT_ERROR)


def _show(result: RecordResult) -> None:
    if result.ok:
        click.echo(f"ok   {result.name}: {result.interactions} interaction(s) -> {result.path}", err=True)
    else:
        click.echo(f"FAIL {result.name}: {result.error}", err=True)
