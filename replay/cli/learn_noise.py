"""``talon-contracts replay learn-noise``: replay twice, side by side, and write what differs as noise rules."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from replay.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from replay.cli.replay_options import execute, job, namespace_for, shared_options, writes_for
from replay.cli.targets import allowed_hosts, check_target, require_key
from replay.engine import Outcome, ReplayOptions, ReplaySummary, new_namespace
from replay.engine.sandboxes import seed_api_key
from replay.reporting.text import render_replay
from replay.rules.noise import NoiseRule

__all__ = ["learn_noise"]


@click.command("learn-noise")
@shared_options
@click.option(
    "--target", default=None, help="Base URL to replay against (twice). Default: embedded sandboxes."
)
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for --target (or TALON_API_KEY)."
)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("noise-learned.yaml"),
              show_default=True, help="Where to write the learned rules.")  # fmt: skip
def learn_noise(target: str | None, api_key: str | None, out: Path, **shared: Any) -> None:
    """Replay CASSETTE_OR_DIR... twice, side by side, and write the fields that differ between the two
    answers to identical requests as noise rules (those the built-in rules do not explain already).

    The idea of Twitter's Diffy (a primary and a secondary), without a second deployment: against
    --target, the second replay runs in its own namespace. Use the file with `replay --noise FILE`.
    Exit 0 when the rules were written (even none), 2 on usage or infrastructure errors.
    """
    from replay.paths import pattern_for

    if target is not None:
        check_target(target, allowed_hosts(shared["allow_host"]))
        api_key = require_key("--target", api_key)
    the_job = job(shared)
    embedded = target is None
    key = api_key or seed_api_key()
    learned: set[tuple[str, str]] = set()  # (operation, pattern)

    def collect(outcome: Outcome) -> None:
        # not noise: a difference shared state explains (one side saw the other's change), and an
        # answer of another status to the same request (the first replay's write refused the second)
        if outcome.diff is None or outcome.operation_id is None or outcome.kind == "shared-state":
            return
        if outcome.diff.status is not None:
            return
        for change in outcome.diff.real:
            if change.location:
                pattern = re.sub(r"\[\d+\]", "[*]", pattern_for(change.location))
                learned.add((outcome.operation_id, pattern))

    namespace = namespace_for(the_job, embedded)
    options = ReplayOptions(
        target=target or "embedded sandbox", api_key=key, writes=writes_for(the_job, target), namespace=namespace,
        noise=the_job.noise, candidate=target, candidate_api_key=key,
        candidate_namespace=(namespace + "b-") if namespace else ("" if embedded else new_namespace()),
        **the_job.options,
    )  # fmt: skip
    summary = execute(the_job, options, embedded=embedded, candidate_embedded=embedded, sink=collect,
                      what=f"learning noise: replaying twice against {target or 'embedded sandboxes'}")  # fmt: skip
    if summary.interrupted:
        click.echo("interrupted: no rules written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if summary.unreadable or summary.problems:
        click.echo(render_replay(summary, 0), nl=False)
        sys.exit(EXIT_ERROR)
    _write_rules(out, learned, summary)
    sys.exit(EXIT_OK)


def _write_rules(out: Path, learned: set[tuple[str, str]], summary: ReplaySummary) -> None:
    """One rule per pattern, for the operations it was seen in; the file, then the rules on stdout."""
    from replay.rules.noise import write_rules

    today = time.strftime("%Y-%m-%d")
    by_pattern: dict[str, set[str]] = {}
    for operation, pattern in sorted(learned):
        by_pattern.setdefault(pattern, set()).add(operation)
    rules = [
        NoiseRule(pattern, f"differed between two replays of identical requests (learned {today})",
                  frozenset(operations), source=str(out))
        for pattern, operations in sorted(by_pattern.items())
    ]  # fmt: skip
    try:
        write_rules(out, rules, header=f"learned by talon-contracts replay learn-noise on {today} from "
                                       f"{summary.done} interaction(s) replayed twice")  # fmt: skip
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from None
    click.echo(f"{len(rules)} rule(s) learned from {summary.done} interaction(s) -> {out}", err=True)
    for rule in rules:
        click.echo(f"  {rule.pattern}  ({', '.join(sorted(rule.operations or ()))})")
