"""``talon-contracts diff`` and ``talon-contracts upgrade-check``: options and orchestration around
``replay.upgrade.check`` (the work) and ``replay.upgrade.render`` (the output)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from contracts.errors import TalonContractsError
from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT
from contracts.specdiff.policy import parse_severity, read_ignore_file
from contracts.specdiff.rules import Level

from replay.upgrade.check import CompareTargets, DiffRequest, run
from replay.upgrade.render import FORMATS, render, render_rules

__all__ = ["diff", "upgrade_check"]

_LEVELS = click.Choice(["ERR", "WARN", "INFO"], case_sensitive=False)


class _Failure(click.ClickException):
    exit_code = 2


def _show_rules(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(render_rules(value), nl=False)
        ctx.exit(0)


def _policy_options(function: Callable[..., None]) -> Callable[..., None]:
    decorators = [
        click.option("--all-operations", is_flag=True,
                     help="Compare every operation of the documents. Default: the 28 Integration API operations "
                          "of the contract (renamed ones included)."),
        click.option("--overlay-file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OVERLAY,
                     show_default=False, help="The overlay --overlay applies. Default: talon-contracts' corrections."),
        click.option("--fail-on", type=_LEVELS, default="ERR", show_default=True,
                     help="Exit 1 when a finding is at this level or above."),
        click.option("--ignore-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="YAML: changes to ignore (rule, operation, location, reason, until)."),
        click.option("--severity", "severity", multiple=True, metavar="RULE=LEVEL",
                     help="Another level for a rule, e.g. response-enum-value-added=WARN (repeatable)."),
        click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH",
                     help=f"Also write the report to PATH ({', '.join(FORMATS)}; repeatable)."),
        click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write the --format report here instead of to standard output."),
        click.option("--quiet", is_flag=True, help="No progress on standard error."),
        click.option("--rules", type=click.Choice(["text", "json", "markdown"]), is_flag=False, flag_value="text",
                     default=None, expose_value=False, is_eager=True, callback=_show_rules,
                     help="List the rules (id, level, what it means, why) and exit; --rules json|markdown."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _reports(specs: tuple[str, ...]) -> list[tuple[str, Path]]:
    result = []
    for spec in specs:
        fmt, sep, path = spec.partition(":")
        if not sep or fmt not in FORMATS or not path:
            raise click.BadParameter(f"{spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}",
                                     param_hint="--report")  # fmt: skip
        result.append((fmt, Path(path)))
    return result


def _policies(p: dict[str, Any]) -> dict[str, Any]:
    try:
        severity = parse_severity(p["severity"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--severity") from None
    except TalonContractsError as exc:
        raise _Failure(str(exc)) from None
    try:
        ignore = tuple(read_ignore_file(p["ignore_file"])) if p["ignore_file"] else ()
    except TalonContractsError as exc:
        raise _Failure(str(exc)) from None
    return {"fail_on": Level.parse(p["fail_on"]), "severity": severity, "ignore": ignore,
            "all_operations": p["all_operations"], "overlay_file": p["overlay_file"]}  # fmt: skip


def _write(text: str, path: Path) -> None:
    from replay.cassettes.reading import atomic_write

    try:
        with atomic_write(path) as out:
            out.write(text.encode("utf-8"))
    except OSError as exc:
        raise _Failure(f"cannot write {path}: {exc.strerror or exc}") from None


def _execute(request: DiffRequest, fmt: str, output: Path | None, reports: list[tuple[str, Path]],
             quiet: bool) -> None:  # fmt: skip
    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    try:
        report = run(request, progress=say)
    except TalonContractsError as exc:
        raise _Failure(str(exc)) from None
    for warning in report.warnings:
        say(f"warning: {warning}")
    text = render(report, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(text, output)
        say(f"{fmt} report: {output}")
    for other_fmt, path in reports:
        _write(render(report, other_fmt), path)
        say(f"{other_fmt} report: {path}")
    sys.exit(report.exit_code)


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--overlay", "overlay_sides", type=click.Choice(["old", "new", "both"]), default=None,
              help="Apply our overlay (--overlay-file) to this side before comparing. Default: neither.")  # fmt: skip
@click.option("--traffic", "traffic", multiple=True, type=click.Path(path_type=Path),
              help="Recorded traffic (cassettes, HAR, JSON Lines; files or directories): how many interactions each "
                   "change touches, and which ones the new document rejects. Repeatable.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@_policy_options
def diff(old: str, new: str, overlay_sides: str | None, traffic: tuple[Path, ...], fmt: str, output: Path | None,
         reports: tuple[str, ...], quiet: bool, **policy: Any) -> None:  # fmt: skip
    """Compare two OpenAPI documents (paths, or REV:path read from git) from a client's side of the wire.

    Each change has a rule id and a level: ERR breaks a client, WARN may, INFO does not. Exit 0 when no
    finding is at --fail-on or above, 1 when one is, 2 on bad input (unreadable documents, a typo in an
    ignore file ...).
    """
    request = DiffRequest(
        old, new, overlay_old=overlay_sides in ("old", "both"), overlay_new=overlay_sides in ("new", "both"),
        traffic=tuple(str(t) for t in traffic), **_policies(policy),
    )  # fmt: skip
    _execute(request, fmt, output, _reports(reports), quiet)


@click.command("upgrade-check")
@click.option(
    "--to",
    "new",
    required=True,
    metavar="DOCUMENT",
    help="The new vendor document (a path, or REV:path read from git).",
)
@click.option("--from", "old", default=str(DEFAULT_VENDOR_CONTRACT), show_default=False, metavar="DOCUMENT",
              help="The document you test against today. Default: the shipped contract.")  # fmt: skip
@click.argument("traffic", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-overlay", is_flag=True,
              help="Compare the vendor documents as written. Default: our overlay applied to both, and checked "
                   "against the new one.")  # fmt: skip
@click.option("--baseline", default=None, metavar="URL", help="Replay the traffic against this base URL too (default with "
              "--candidate: embedded sandboxes).")  # fmt: skip
@click.option(
    "--candidate",
    default=None,
    metavar="URL",
    help="...and against this one, and report where the answers differ.",
)
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="Key for --baseline (or TALON_API_KEY)."
)
@click.option("--candidate-api-key", envvar="TALON_CANDIDATE_API_KEY", default=None,
              help="Key for --candidate (or TALON_CANDIDATE_API_KEY). Default: --api-key.")  # fmt: skip
@click.option(
    "--allow-host", "allow_host", multiple=True, help="A non-loopback host that may be replayed against."
)
@click.option("--no-namespace", is_flag=True, help="Send the ids the stories choose as recorded (default: a fresh "
              "prefix per target, so that runs do not collide).")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@_policy_options
def upgrade_check(new: str, old: str, traffic: tuple[Path, ...], no_overlay: bool, baseline: str | None,
                  candidate: str | None, api_key: str | None, candidate_api_key: str | None,
                  allow_host: tuple[str, ...], no_namespace: bool, concurrency: int, timeout: float, fmt: str, output: Path | None,
                  reports: tuple[str, ...], quiet: bool, **policy: Any) -> None:  # fmt: skip
    """What moving to a new API release breaks for you: the spec diff, its impact on your recorded
    TRAFFIC (cassettes, HAR, JSON Lines), our overlay on the new document and, with --candidate, a replay
    of the traffic against both targets. One report, one exit code (0, 1 findings, 2 bad input)."""
    from replay.engine import is_loopback
    from replay.cli.replay import allowed_hosts, check_target

    targets = None
    if baseline is not None and candidate is None:
        raise click.UsageError("--baseline needs --candidate")
    if candidate is not None:
        if not traffic:
            raise click.UsageError("--candidate replays the recorded traffic: name CASSETTES")
        hosts = allowed_hosts(allow_host)
        check_target(candidate, hosts)
        if baseline is not None:
            check_target(baseline, hosts)
            if not api_key:
                raise click.UsageError("--baseline needs --api-key (or TALON_API_KEY)")
        key = candidate_api_key or api_key
        if not key:
            raise click.UsageError("--candidate needs --candidate-api-key or --api-key")
        writes = "allow" if all(is_loopback(u) for u in (baseline, candidate) if u) else "dry"
        targets = CompareTargets(
            candidate, key, baseline, api_key or "", writes, concurrency, timeout, not no_namespace
        )
    request = DiffRequest(
        old, new, overlay_old=not no_overlay, overlay_new=not no_overlay, traffic=tuple(str(t) for t in traffic),
        check_overlay=not no_overlay, compare=targets, command="upgrade-check", **_policies(policy),
    )  # fmt: skip
    _execute(request, fmt, output, _reports(reports), quiet)
