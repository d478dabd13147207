"""``talon-contracts upgrade-check``: what moving to a new API release breaks for you, in one report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from contracts.spec import DEFAULT_VENDOR_CONTRACT
from replay.cli.targets import allowed_hosts, check_target
from replay.cli.upgrade_options import FORMATS, execute, policies, policy_options, report_specs
from replay.upgrade.check import CompareTargets, DiffRequest

__all__ = ["upgrade_check"]


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
@policy_options
def upgrade_check(new: str, old: str, traffic: tuple[Path, ...], no_overlay: bool, baseline: str | None,
                  candidate: str | None, api_key: str | None, candidate_api_key: str | None,
                  allow_host: tuple[str, ...], no_namespace: bool, concurrency: int, timeout: float, fmt: str, output: Path | None,
                  reports: tuple[str, ...], quiet: bool, **policy: Any) -> None:  # fmt: skip
    """What moving to a new API release breaks for you: the spec diff, its impact on your recorded
    TRAFFIC (cassettes, HAR, JSON Lines), our overlay on the new document and, with --candidate, a replay
    of the traffic against both targets. One report, one exit code (0, 1 findings, 2 bad input)."""
    targets = None
    if baseline is not None and candidate is None:
        raise click.UsageError("--baseline needs --candidate")
    if candidate is not None:
        targets = _targets(traffic, baseline, candidate, api_key, candidate_api_key, allow_host,
                           concurrency, timeout, not no_namespace)  # fmt: skip
    request = DiffRequest(
        old, new, overlay_old=not no_overlay, overlay_new=not no_overlay, traffic=tuple(str(t) for t in traffic),
        check_overlay=not no_overlay, compare=targets, command="upgrade-check", **policies(policy),
    )  # fmt: skip
    execute(request, fmt, output, report_specs(reports), quiet)


def _targets(traffic: tuple[Path, ...], baseline: str | None, candidate: str, api_key: str | None,
             candidate_api_key: str | None, allow_host: tuple[str, ...], concurrency: int, timeout: float,
             namespaces: bool) -> CompareTargets:  # fmt: skip
    """The replay of --candidate (and --baseline), checked as ``replay compare`` checks them."""
    from replay.engine import is_loopback  # the engine's imports are paid only when a replay runs

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
    return CompareTargets(candidate, key, baseline, api_key or "", writes, concurrency, timeout, namespaces)
