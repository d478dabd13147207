"""What ``diff`` and ``upgrade-check`` share: the policy and report options, and running the check
(``replay.upgrade.check``, the work) to its reports (``replay.upgrade.render``) and exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from contracts.errors import TalonContractsError
from contracts.spec import DEFAULT_OVERLAY
from contracts.specdiff.policy import parse_severity, read_ignore_file
from contracts.specdiff.rules import Level
from replay.cli.common import ToolFailure
from replay.upgrade.check import DiffRequest, run
from replay.upgrade.render import FORMATS, render, render_rules

__all__ = ["FORMATS", "execute", "policies", "policy_options", "report_specs"]

_LEVELS = click.Choice(["ERR", "WARN", "INFO"], case_sensitive=False)


def _show_rules(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(render_rules(value), nl=False)
        ctx.exit(0)


def policy_options(function: Callable[..., None]) -> Callable[..., None]:
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


def report_specs(specs: tuple[str, ...]) -> list[tuple[str, Path]]:
    """``--report FORMAT:PATH`` values, checked."""
    result = []
    for spec in specs:
        fmt, sep, path = spec.partition(":")
        if not sep or fmt not in FORMATS or not path:
            raise click.BadParameter(f"{spec!r}: expected FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}",
                                     param_hint="--report")  # fmt: skip
        result.append((fmt, Path(path)))
    return result


def policies(p: dict[str, Any]) -> dict[str, Any]:
    """The policy options as :class:`DiffRequest` fields (a bad severity or ignore file exits 2)."""
    try:
        severity = parse_severity(p["severity"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--severity") from None
    except TalonContractsError as exc:
        raise ToolFailure(str(exc)) from None
    try:
        ignore = tuple(read_ignore_file(p["ignore_file"])) if p["ignore_file"] else ()
    except TalonContractsError as exc:
        raise ToolFailure(str(exc)) from None
    return {"fail_on": Level.parse(p["fail_on"]), "severity": severity, "ignore": ignore,
            "all_operations": p["all_operations"], "overlay_file": p["overlay_file"]}  # fmt: skip


def _write(text: str, path: Path) -> None:
    from replay.cassettes import atomic_write

    try:
        with atomic_write(path) as out:
            out.write(text.encode("utf-8"))
    except OSError as exc:
        raise ToolFailure(f"cannot write {path}: {exc.strerror or exc}") from None


def execute(request: DiffRequest, fmt: str, output: Path | None, reports: list[tuple[str, Path]],
            quiet: bool) -> None:  # fmt: skip
    """Run the check, write its reports, exit with its code."""

    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    try:
        report = run(request, progress=say)
    except TalonContractsError as exc:
        raise ToolFailure(str(exc)) from None
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
