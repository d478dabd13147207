"""``talon-contracts replay``: options and orchestration around ``replay.engine`` (the work) and
``replay.reports`` / ``replay.render`` (the output)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from contracts.errors import TalonContractsError

from .engine import (
    OUTCOMES,
    WRITE_POLICIES,
    Outcome,
    Replayer,
    ReplayOptions,
    ReplaySummary,
    default_writes,
    new_namespace,
)
from .noise import NoiseRule, NoiseRules
from .render import render_replay

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
ALLOW_HOSTS_ENV = "TALON_CONTRACTS_ALLOW_HOSTS"


class _DefaultGroup(click.Group):
    """``replay CASSETTES...`` runs the default command; ``replay learn-noise ...`` a named one."""

    default = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default, *args]
        elif not args:
            args = [self.default]
        return super().parse_args(ctx, args)


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


def _fail_on(value: str) -> frozenset[str]:
    kinds = frozenset(k.strip() for k in value.split(",") if k.strip())
    unknown = kinds - set(OUTCOMES)
    if unknown:
        raise click.BadParameter(
            f"unknown outcome(s) {', '.join(sorted(unknown))}; valid: {', '.join(OUTCOMES)}",
            param_hint="--fail-on",
        )
    return kinds


def allowed_hosts(extra: tuple[str, ...]) -> set[str]:
    hosts = {h.strip().lower() for h in os.environ.get(ALLOW_HOSTS_ENV, "").split(",") if h.strip()}
    return hosts | {h.lower() for h in extra}


def check_target(target: str, hosts: set[str]) -> None:
    """Refuse a target that is neither loopback nor explicitly allowed (replaying writes to production hurts)."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{target!r} is not an http(s) URL", param_hint="--target")
    host = parts.hostname.lower()
    loopback = host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")
    if not loopback and host not in hosts:
        raise click.UsageError(
            f"refusing to replay against {host}: it is not a loopback address and not allowed; "
            f"allow it with --allow-host {host} (or {ALLOW_HOSTS_ENV}={host})"
        )


class _Progress:
    """Counts, rate and ETA on stderr while the replay runs: one line rewritten on a terminal, else a line every 10 s."""

    def __init__(self, summary: ReplaySummary, enabled: bool) -> None:
        self.summary = summary
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.enabled:
            self.thread.join()
            if self.tty:
                click.echo("", err=True)

    def line(self) -> str:
        summary = self.summary
        done, seconds = summary.done, max(summary.seconds, 1e-9)
        rate = done / seconds
        total = summary.estimated_total
        position = f"{done:,}" + (f"/~{total:,} ({min(100, 100 * done // max(total, 1))}%)" if total else "")
        eta = f", ETA {max(0.0, (total - done) / rate):.0f} s" if total and rate > 0 and done < total else ""
        counts = " ".join(f"{k} {summary.counts[k]}" for k in OUTCOMES if summary.counts.get(k))
        return f"replayed {position} at {rate:,.0f}/s{eta} · {counts}"

    def _loop(self) -> None:
        interval = 0.5 if self.tty else 10.0
        while not self.done.wait(interval):
            text = self.line()
            click.echo(f"\r\x1b[2K{text}" if self.tty else text, err=True, nl=not self.tty)


@contextlib.contextmanager
def _target(target: str | None, api_key: str | None) -> Iterator[tuple[str, str]]:
    """The target's URL and key (without ``target``: each worker starts its own embedded sandbox)."""
    if target is not None:
        if not api_key:
            raise click.UsageError(
                "--target needs --api-key (or TALON_API_KEY); a key is never taken from a cassette"
            )
        yield target, api_key
        return
    from contracts.sandbox.seed import load_seed

    yield "embedded sandbox", load_seed().api_key


@click.group("replay", cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def replay() -> None:
    """Re-send recorded traffic to a target and report what changed (default command: run)."""


@replay.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--target", default=None, help="Base URL to replay against. Default: a fresh embedded sandbox.")
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for --target (or TALON_API_KEY)."
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Files (stories) replayed at the same time; each story stays in order.")  # fmt: skip
@click.option("--rate", default=None, help="At most this many requests per second, e.g. 50/s.")
@click.option(
    "--speed", default="max", show_default=True, help="max, or a factor of the recorded pace: 1x, 2x ..."
)
@click.option("--writes", type=click.Choice(WRITE_POLICIES), default=None,
              help="State-changing operations: allow, dry (dry=true where supported, else skipped) or skip. "
                   "Default: allow on loopback, dry elsewhere.")  # fmt: skip
@click.option("--noise", "noise_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A noise rules file (YAML: rules with path and reason). Repeatable.")  # fmt: skip
@click.option(
    "--ignore", "ignored", multiple=True, help="A JSONPath whose differences are noise, e.g. '$..created'."
)
@click.option("--no-builtin-noise", is_flag=True, help="Do not apply the built-in noise rules.")
@click.option("--operation", "operations", multiple=True, help="Replay only this operation (repeatable).")
@click.option("--report", "reports", multiple=True, help="json:PATH, junit:PATH or html:PATH (repeatable).")
@click.option("--fail-on", default="changed,violation,error", show_default=True,
              help="Outcomes that make the exit code 1.")  # fmt: skip
@click.option(
    "--namespace",
    default=None,
    help="Prefix for the ids stories create. Default: fresh per run on external targets.",
)
@click.option("--no-namespace", is_flag=True, help="Send client-chosen ids as recorded.")
@click.option(
    "--allow-host",
    "allow_host",
    multiple=True,
    help=f"A non-loopback host that may be replayed against (or {ALLOW_HOSTS_ENV}).",
)
@click.option(
    "--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True, help="Seconds per request."
)
@click.option("--contract", "contract_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="OpenAPI document to validate live answers against. Default: the shipped contract.")  # fmt: skip
@click.option(
    "--findings",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="Findings shown in the summary.",
)
@click.option("--quiet", is_flag=True, help="No progress line.")
def run(
    paths: tuple[Path, ...], target: str | None, api_key: str | None, concurrency: int, rate: str | None, speed: str,
    writes: str | None, noise_files: tuple[Path, ...], ignored: tuple[str, ...], no_builtin_noise: bool,
    operations: tuple[str, ...], reports: tuple[str, ...], fail_on: str, namespace: str | None, no_namespace: bool,
    allow_host: tuple[str, ...], timeout: float, contract_path: Path | None, findings: int, quiet: bool,
) -> None:  # fmt: skip
    """Replay CASSETTE_OR_DIR... against a target and report, per interaction, whether it still answers the same.

    Exit 0 when no outcome listed in --fail-on occurred, 1 when one did, 2 on usage or infrastructure
    errors (unreadable cassettes, a refused target), 130 when interrupted (the reports are still written).
    """
    from .cli import _load
    from .reports import open_report

    fail_kinds = _fail_on(fail_on)
    rate_value, speed_value = _rate(rate), _speed(speed)
    if target is not None:
        check_target(target, allowed_hosts(allow_host))
    contract = _load(contract_path)
    unknown_ops = [o for o in operations if o not in {op.operation_id for op in contract}]
    if unknown_ops:
        raise click.BadParameter(f"unknown operation(s) {', '.join(unknown_ops)}", param_hint="--operation")
    try:
        noise = NoiseRules.builtin() if not no_builtin_noise else NoiseRules()
        for path in noise_files:
            noise = noise + NoiseRules.load(path)
        if ignored:
            noise = noise + NoiseRules([NoiseRule(p, "--ignore", source="command line") for p in ignored])
    except (TalonContractsError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--noise/--ignore") from None
    try:
        opened = [open_report(spec) for spec in reports]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--report") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot write the report: {exc}", param_hint="--report") from None
    sinks = [report for report, _ in opened]

    with _target(target, api_key) as (url, key):
        embedded = target is None
        if namespace is None:
            namespace = "" if (no_namespace or embedded) else new_namespace()
        options = ReplayOptions(
            target=url, api_key=key, concurrency=concurrency, rate=rate_value, speed=speed_value,
            writes=writes or ("allow" if embedded else default_writes(url)), namespace="" if no_namespace else namespace, noise=noise,
            operations=frozenset(operations) or None, timeout=timeout,
        )  # fmt: skip

        def sink(outcome: Outcome) -> None:
            for report in sinks:
                report.add(outcome)

        def own_sandbox() -> Any:
            from contracts.sandbox import Sandbox

            return Sandbox(contract=contract).start()

        replayer = Replayer(contract, options, sink, own_target=own_sandbox if embedded else None)
        replayer.summary.estimated_total = estimate(paths)
        where = "embedded sandboxes (one per worker, reset before each story)" if embedded else url
        click.echo(f"replaying against {where} (writes: {options.writes}"
                   + (f", namespace {options.namespace}" if options.namespace else "") + ")", err=True)  # fmt: skip
        with _Progress(replayer.summary, enabled=not quiet):
            summary = replayer.run(paths)
    for report, described in opened:
        report.close(summary)
        click.echo(described(), err=True)
    click.echo(render_replay(summary, findings), nl=False)
    if summary.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if summary.unreadable or summary.problems:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(summary.counts.get(k) for k in fail_kinds) else EXIT_OK)


def _count(path: Path, markers: tuple[bytes, ...]) -> int:
    """Occurrences of ``markers`` in a file, read in chunks (bounded memory)."""
    count, tail = 0, b""
    overlap = max(len(m) for m in markers) - 1  # too short to hold a whole marker: none is counted twice
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            count += sum(data.count(m) for m in markers)
            tail = data[-overlap:]
    return count


def estimate(paths: tuple[Path, ...]) -> int | None:
    """A quick count of the interactions to replay, for the ETA (a guess: nothing is parsed)."""
    from .cassettes import cassette_files

    total = 0
    try:
        files = cassette_files(paths)
    except TalonContractsError:
        return None
    started = time.monotonic()
    for path in files:
        try:
            with path.open("rb") as stream:
                head = stream.read(4096).lstrip()
            if head.startswith(b"{") and b'"log"' in head:
                total += _count(path, (b'"startedDateTime"',))
            elif head.startswith((b"{", b"[")):
                total += _count(path, (b'"request"',))
            else:
                total += _count(path, (b"\n- request:", b"\n- id:"))
        except OSError:
            continue
        if time.monotonic() - started > 2:  # a guess must not cost more than the replay
            return None
    return total or None
