"""``talon-contracts replay``: the group (its default command: run), run and compare; options and
orchestration around ``replay.engine`` (the work) and ``replay.reporting`` (the output). The
subcommands learn-noise and export-test have modules of their own."""

from __future__ import annotations

from typing import Any

import click

from replay.cli.export_test import export_test_command
from replay.cli.learn_noise import learn_noise
from replay.cli.replay_options import (
    execute,
    finish,
    job,
    namespace_for,
    open_reports,
    parse_fail_on,
    report_options,
    report_sink,
    shared_options,
    writes_for,
)
from replay.cli.swarm import swarm
from replay.cli.targets import allowed_hosts, check_target, require_key
from replay.engine import ReplayOptions, is_loopback
from replay.engine.sandboxes import seed_api_key

__all__ = ["compare", "replay", "run"]


class _DefaultGroup(click.Group):
    """``replay CASSETTES...`` runs the default command; ``replay learn-noise ...`` a named one."""

    default = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default, *args]
        elif not args:
            args = [self.default]
        return super().parse_args(ctx, args)


@click.group("replay", cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def replay() -> None:
    """Re-send recorded traffic to a target and report what changed (default command: run)."""


@replay.command("run")
@shared_options
@report_options
@click.option("--target", default=None, help="Base URL to replay against. Default: embedded sandboxes.")
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for --target (or TALON_API_KEY)."
)
def run(target: str | None, api_key: str | None, reports: tuple[str, ...], fail_on: str, findings: int,
        **shared: Any) -> None:  # fmt: skip
    """Replay CASSETTE_OR_DIR... against a target and report, per interaction, whether it still answers the same.

    Without --target, each worker replays against an embedded sandbox of its own, reset before
    every story. Exit 0 when no outcome listed in --fail-on occurred, 1 when one did, 2 on usage or
    infrastructure errors (unreadable cassettes, a refused target), 130 when interrupted (the
    reports are still written).
    """
    parse_fail_on(fail_on)
    if target is not None:
        check_target(target, allowed_hosts(shared["allow_host"]))
        api_key = require_key("--target", api_key)
    the_job = job(shared)
    opened = open_reports(reports)
    embedded = target is None
    options = ReplayOptions(
        target=target or "embedded sandbox", api_key=api_key or seed_api_key(),
        writes=writes_for(the_job, target), namespace=namespace_for(the_job, embedded), noise=the_job.noise,
        **the_job.options,
    )  # fmt: skip
    what = "replaying against " + (
        "embedded sandboxes (one per worker, reset before each story)" if embedded else options.target
    )
    summary = execute(the_job, options, embedded=embedded, sink=report_sink(opened), what=what)
    finish(summary, opened, fail_on, findings)


@replay.command("compare")
@shared_options
@report_options
@click.option("--baseline", default=None, help="Base URL of the baseline. Default: embedded sandboxes.")
@click.option("--candidate", required=True, help="Base URL of the candidate (the new version).")
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for the baseline (or TALON_API_KEY)."
)
@click.option("--candidate-api-key", envvar="TALON_CANDIDATE_API_KEY", default=None,
              help="API key for the candidate (or TALON_CANDIDATE_API_KEY). Default: --api-key.")  # fmt: skip
def compare(baseline: str | None, candidate: str, api_key: str | None, candidate_api_key: str | None,
            reports: tuple[str, ...], fail_on: str, findings: int, **shared: Any) -> None:  # fmt: skip
    """Replay CASSETTE_OR_DIR... against a baseline and a candidate and report where the candidate's
    answers differ from the baseline's beyond noise: the behavioural half of an API-upgrade check.

    Each interaction goes to both; the candidate's answer is also checked against the contract.
    Exit codes as for run.
    """
    parse_fail_on(fail_on)
    hosts = allowed_hosts(shared["allow_host"])
    check_target(candidate, hosts)
    if baseline is not None:
        check_target(baseline, hosts)
        api_key = require_key("--baseline", api_key)
    the_job = job(shared)
    opened = open_reports(reports)
    # an embedded baseline takes the seed's key, whatever TALON_API_KEY says (that one is the candidate's)
    key = require_key("--baseline", api_key) if baseline is not None else seed_api_key()
    # writes: the stricter policy of the two targets (a non-loopback candidate gets dry writes)
    writes = the_job.writes or ("allow" if all(is_loopback(u) for u in (baseline, candidate) if u) else "dry")
    candidate_namespace = namespace_for(the_job, False)
    options = ReplayOptions(
        target=baseline or "embedded sandbox", api_key=key, writes=writes,
        namespace=namespace_for(the_job, baseline is None), noise=the_job.noise, candidate=candidate,
        candidate_api_key=candidate_api_key or api_key or key,
        # two targets may share a database: the candidate's ids are kept apart from the baseline's
        candidate_namespace=candidate_namespace + "c-" if candidate_namespace else "", **the_job.options,
    )  # fmt: skip
    what = f"comparing {candidate} with {baseline or 'embedded sandboxes'}"
    summary = execute(the_job, options, embedded=baseline is None, sink=report_sink(opened), what=what)
    finish(summary, opened, fail_on, findings)


replay.add_command(learn_noise)
replay.add_command(export_test_command)
replay.add_command(swarm)
