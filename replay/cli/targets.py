"""Where a replay may go: the loopback-or-allowed rule and the credential it needs.

Shared by ``replay`` (run, compare, learn-noise) and ``upgrade-check``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import click

__all__ = [
    "ALLOW_HOSTS_ENV",
    "allowed_hosts",
    "check_target",
    "require_key",
]

ALLOW_HOSTS_ENV = "TALON_CONTRACTS_ALLOW_HOSTS"


def allowed_hosts(extra: tuple[str, ...]) -> set[str]:
    hosts = {h.strip().lower() for h in os.environ.get(ALLOW_HOSTS_ENV, "").split(",") if h.strip()}
    return hosts | {h.lower() for h in extra}


def check_target(target: str, hosts: set[str]) -> None:
    """Refuse a target that is neither loopback nor explicitly allowed (replaying writes to production hurts)."""
    from replay.engine import is_loopback  # the engine's imports are paid by the commands that replay only

    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{target!r} is not an http(s) URL", param_hint="--target")
    host = parts.hostname.lower()
    if not is_loopback(target) and host not in hosts:
        raise click.UsageError(
            f"refusing to replay against {host}: it is not a loopback address and not allowed; "
            f"allow it with --allow-host {host} (or {ALLOW_HOSTS_ENV}={host})"
        )


def require_key(target: str, api_key: str | None, option: str = "--api-key") -> str:
    if not api_key:
        raise click.UsageError(
            f"{target} needs {option} (or TALON_API_KEY); a key is never taken from a cassette"
        )
    return api_key
