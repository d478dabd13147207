"""What the ``replay`` subcommands share: their options, the job those options describe (checked),
running it with a progress line, and the reports and exit code at the end."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from contracts.errors import TalonContractsError
from contracts.spec import Contract
from replay.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, open_contract
from replay.cli.progress import Progress, estimate
from replay.cli.targets import ALLOW_HOSTS_ENV, allowed_hosts
from replay.engine import (
    OUTCOMES,
    WRITE_POLICIES,
    Outcome,
    Replayer,
    ReplayOptions,
    ReplaySummary,
    default_writes,
    new_namespace,
)
from replay.engine.sandboxes import sandbox_factory, seed_ids
from replay.reporting.files import Report, open_report
from replay.reporting.text import render_replay
from replay.rules.noise import NoiseRule, NoiseRules
from replay.talon.noise import builtin_noise as builtin_rules

__all__ = [
    "FAIL_ON_KINDS",
    "Job",
    "OpenedReport",
    "conclude",
    "execute",
    "finish",
    "job",
    "namespace_for",
    "open_reports",
    "parse_fail_on",
    "report_options",
    "report_sink",
    "shared_options",
    "writes_for",
]

#: ``malfunction`` is not one: a failure of the tool always exits 2 (when nothing else failed).
FAIL_ON_KINDS = tuple(k for k in OUTCOMES if k != "malfunction")

#: A report, and how to say where it went.
OpenedReport = tuple[Report, Callable[[], str | None]]


def _rate(value: str | None) -> float | None:
    if value is None:
        return None
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*", value)
    if not found or float(found.group(1)) <= 0:
        raise click.BadParameter(f"{value!r}: expected requests per second, like 50/s", param_hint="--rate")
    return float(found.group(1))


def _speed(value: str) -> float | None:
    if value.strip().lower() == "max":
        return None
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*x?\s*", value.lower())
    if not found or float(found.group(1)) <= 0:
        raise click.BadParameter(
            f"{value!r}: expected max, or a factor of the recorded pace like 1x or 2x", param_hint="--speed"
        )
    return float(found.group(1))


def parse_fail_on(value: str) -> frozenset[str]:
    kinds = frozenset(k.strip() for k in value.split(",") if k.strip())
    unknown = kinds - set(FAIL_ON_KINDS)
    if unknown:
        raise click.BadParameter(
            f"unknown outcome(s) {', '.join(sorted(unknown))}; valid: {', '.join(FAIL_ON_KINDS)}",
            param_hint="--fail-on",
        )
    return kinds


def shared_options(function: Callable[..., None]) -> Callable[..., None]:
    """The options every replaying command takes (the target options are each command's own)."""
    decorators = [
        click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path)),
        click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
                     help="Files (stories) replayed at the same time; each story stays in order."),
        click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Processes sharing those stories (POSIX): more than 1 pays only against a target "
                          "that answers faster than one process judges (a local server)."),
        click.option("--rate", default=None, help="At most this many requests per second, e.g. 50/s."),
        click.option("--speed", default="max", show_default=True,
                     help="max, or a factor of the recorded pace: 1x, 2x ..."),
        click.option("--writes", type=click.Choice(WRITE_POLICIES), default=None,
                     help="State-changing operations: allow, dry (dry=true where supported, else skipped) or "
                          "skip. Default: allow on loopback, dry elsewhere."),
        click.option("--noise", "noise_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="A noise rules file (YAML: rules with path and reason). Repeatable."),
        click.option("--ignore", "ignored", multiple=True,
                     help="A JSONPath whose differences are noise, e.g. '$..created'. Repeatable."),
        click.option("--no-builtin-noise", is_flag=True, help="Do not apply the built-in noise rules."),
        click.option("--operation", "operations", multiple=True, help="Replay only this operation (repeatable)."),
        click.option("--namespace", default=None,
                     help="Prefix for the ids stories create. Default: fresh per run on external targets."),
        click.option("--no-namespace", is_flag=True, help="Send client-chosen ids as recorded."),
        click.option("--fresh-target", is_flag=True,
                     help="The target holds each story's recorded state when it starts (a restored snapshot): "
                          "no difference is explained as shared state."),
        click.option("--keep-id", "keep_ids", multiple=True,
                     help="An id that exists on the target before any story (never namespaced). Repeatable; "
                          "the sandbox seed's profiles are always kept."),
        click.option("--allow-host", "allow_host", multiple=True,
                     help=f"A non-loopback host that may be replayed against (or {ALLOW_HOSTS_ENV})."),
        click.option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
                     help="Seconds per request."),
        click.option("--contract", "contract_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="OpenAPI document to validate live answers against. Default: the shipped contract."),
        click.option("--quiet", is_flag=True, help="No progress line."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


_REPORT_OPTIONS = [
    click.option("--report", "reports", multiple=True, help="json:PATH, junit:PATH or html:PATH (repeatable)."),
    click.option("--fail-on", default="changed,violation,error", show_default=True,
                 help="Outcomes that make the exit code 1."),
    click.option("--findings", type=click.IntRange(0, 1000), default=10, show_default=True,
                 help="Findings shown in the summary."),
]  # fmt: skip


def report_options(function: Callable[..., None]) -> Callable[..., None]:
    for decorator in reversed(_REPORT_OPTIONS):
        function = decorator(function)
    return function


@dataclass(slots=True)
class Job:
    """What the shared options say, checked."""

    paths: tuple[Path, ...]
    contract: Contract
    noise: NoiseRules
    options: dict[str, Any]
    allow_hosts: set[str]
    namespace: str | None
    no_namespace: bool
    writes: str | None
    quiet: bool


def job(p: dict[str, Any], *, builtin_noise: bool = True) -> Job:
    contract = open_contract(p["contract_path"])
    known = {op.operation_id for op in contract}
    unknown_ops = [o for o in p["operations"] if o not in known]
    if unknown_ops:
        raise click.BadParameter(f"unknown operation(s) {', '.join(unknown_ops)}", param_hint="--operation")
    try:
        noise = builtin_rules() if builtin_noise and not p["no_builtin_noise"] else NoiseRules()
        for path in p["noise_files"]:
            noise = noise + NoiseRules.load(path)
        if p["ignored"]:
            noise = noise + NoiseRules(
                [NoiseRule(x, "--ignore", source="command line") for x in p["ignored"]]
            )
    except (TalonContractsError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--noise/--ignore") from None
    options = {
        "concurrency": p["concurrency"], "processes": p["processes"], "rate": _rate(p["rate"]),
        "speed": _speed(p["speed"]),
        "operations": frozenset(p["operations"]) or None, "timeout": p["timeout"],
        "keep_ids": seed_ids() | frozenset(p["keep_ids"]), "fresh_target": p["fresh_target"],
    }  # fmt: skip
    return Job(p["paths"], contract, noise, options, allowed_hosts(p["allow_host"]), p["namespace"],
               p["no_namespace"], p["writes"], p["quiet"])  # fmt: skip


def execute(
    job: Job,
    options: ReplayOptions,
    *,
    embedded: bool,
    candidate_embedded: bool = False,
    sink: Callable[[Outcome], None] | None = None,
    what: str,
) -> ReplaySummary:
    replayer = Replayer(
        job.contract,
        options,
        sink,
        own_target=sandbox_factory(job.contract) if embedded else None,
        own_candidate=sandbox_factory(job.contract) if candidate_embedded else None,
    )
    replayer.summary.estimated_total = estimate(job.paths)
    click.echo(f"{what} (writes: {options.writes}" + (f", namespace {options.namespace}" if options.namespace else "")
               + ")", err=True)  # fmt: skip
    with Progress(replayer.summary, enabled=not job.quiet):
        return replayer.run(job.paths)


def namespace_for(job: Job, embedded: bool) -> str:
    if job.no_namespace:
        return ""
    if job.namespace is not None:
        return job.namespace
    return "" if embedded else new_namespace()


def writes_for(job: Job, url: str | None) -> str:
    return job.writes or ("allow" if url is None else default_writes(url))


def finish(summary: ReplaySummary, opened: list[OpenedReport], fail_on: str, findings: int) -> None:
    """:func:`conclude`, then exit with its code."""
    sys.exit(conclude(summary, opened, fail_on, findings))


def conclude(summary: ReplaySummary, opened: list[OpenedReport], fail_on: str, findings: int) -> int:
    """Close the reports, print the summary, and the exit code: 130 interrupted, 2 unreadable input,
    1 an outcome of ``fail_on``, else 2 after a malfunction of the tool, else 0 (every front end of
    a replay ends here: the CLI, the Locust master)."""
    for report, described in opened:
        report.close(summary)
        click.echo(described(), err=True)
    click.echo(render_replay(summary, findings), nl=False)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.unreadable or summary.problems:
        return EXIT_ERROR
    if any(summary.counts.get(k) for k in parse_fail_on(fail_on)):
        return EXIT_FINDINGS
    return EXIT_ERROR if summary.counts.get("malfunction") else EXIT_OK


def open_reports(specs: tuple[str, ...]) -> list[OpenedReport]:
    try:
        return [open_report(spec) for spec in specs]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--report") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot write the report: {exc}", param_hint="--report") from None


def report_sink(opened: list[OpenedReport]) -> Callable[[Outcome], None]:
    def sink(outcome: Outcome) -> None:
        for report, _ in opened:
            report.add(outcome)

    return sink
