"""``talon-contracts diff``: compare two OpenAPI documents from a client's side of the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from replay.cli.upgrade_options import FORMATS, execute, policies, policy_options, report_specs
from replay.upgrade.check import DiffRequest

__all__ = ["diff"]


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--overlay", "overlay_sides", type=click.Choice(["old", "new", "both"]), default=None,
              help="Apply our overlay (--overlay-file) to this side before comparing. Default: neither.")  # fmt: skip
@click.option("--traffic", "traffic", multiple=True, type=click.Path(path_type=Path),
              help="Recorded traffic (cassettes, HAR, JSON Lines; files or directories): how many interactions each "
                   "change touches, and which ones the new document rejects. Repeatable.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True)
@policy_options
def diff(old: str, new: str, overlay_sides: str | None, traffic: tuple[Path, ...], fmt: str, output: Path | None,
         reports: tuple[str, ...], quiet: bool, **policy: Any) -> None:  # fmt: skip
    """Compare two OpenAPI documents (paths, or REV:path read from git) from a client's side of the wire.

    Each change has a rule id and a level: ERR breaks a client, WARN may, INFO does not. Exit 0 when no
    finding is at --fail-on or above, 1 when one is, 2 on bad input (unreadable documents, a typo in an
    ignore file ...).
    """
    request = DiffRequest(
        old, new, overlay_old=overlay_sides in ("old", "both"), overlay_new=overlay_sides in ("new", "both"),
        traffic=tuple(str(t) for t in traffic), **policies(policy),
    )  # fmt: skip
    execute(request, fmt, output, report_specs(reports), quiet)
