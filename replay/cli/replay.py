"""``talon-contracts replay``: options and orchestration around ``replay.engine`` (the work) and
``replay.reporting.reports`` / ``replay.reporting.text`` (the output)."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from contracts.errors import TalonContractsError
from contracts.spec import Contract

from replay.engine import (
    OUTCOMES,
    WRITE_POLICIES,
    Outcome,
    Replayer,
    ReplayOptions,
    ReplaySummary,
    default_writes,
    is_loopback,
    new_namespace,
)
from replay.engine.noise import NoiseRule, NoiseRules
from replay.reporting.text import render_replay

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


#: ``malfunction`` is not one: a failure of the tool always exits 2 (when nothing else failed).
FAIL_ON_KINDS = tuple(k for k in OUTCOMES if k != "malfunction")


def _fail_on(value: str) -> frozenset[str]:
    kinds = frozenset(k.strip() for k in value.split(",") if k.strip())
    unknown = kinds - set(FAIL_ON_KINDS)
    if unknown:
        raise click.BadParameter(
            f"unknown outcome(s) {', '.join(sorted(unknown))}; valid: {', '.join(FAIL_ON_KINDS)}",
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
    if not is_loopback(target) and host not in hosts:
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


@click.group("replay", cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def replay() -> None:
    """Re-send recorded traffic to a target and report what changed (default command: run)."""


def _shared_options(function: Callable[..., None]) -> Callable[..., None]:
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


def _report_options(function: Callable[..., None]) -> Callable[..., None]:
    for decorator in reversed(_REPORT_OPTIONS):
        function = decorator(function)
    return function


@dataclass(slots=True)
class _Job:
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


def _job(p: dict[str, Any], *, builtin_noise: bool = True) -> _Job:
    from replay.cli import _load

    contract = _load(p["contract_path"])
    known = {op.operation_id for op in contract}
    unknown_ops = [o for o in p["operations"] if o not in known]
    if unknown_ops:
        raise click.BadParameter(f"unknown operation(s) {', '.join(unknown_ops)}", param_hint="--operation")
    try:
        noise = NoiseRules.builtin() if builtin_noise and not p["no_builtin_noise"] else NoiseRules()
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
    }  # fmt: skip
    return _Job(p["paths"], contract, noise, options, allowed_hosts(p["allow_host"]), p["namespace"],
                p["no_namespace"], p["writes"], p["quiet"])  # fmt: skip


def _key(target: str, api_key: str | None, option: str = "--api-key") -> str:
    if not api_key:
        raise click.UsageError(
            f"{target} needs {option} (or TALON_API_KEY); a key is never taken from a cassette"
        )
    return api_key


def sandbox_factory(contract: Contract) -> Callable[[], Any]:
    def start() -> Any:
        from contracts.sandbox import Sandbox

        return Sandbox(contract=contract).start()

    return start


def _execute(
    job: _Job,
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
    with _Progress(replayer.summary, enabled=not job.quiet):
        return replayer.run(job.paths)


def _namespace(job: _Job, embedded: bool) -> str:
    if job.no_namespace:
        return ""
    if job.namespace is not None:
        return job.namespace
    return "" if embedded else new_namespace()


def _writes(job: _Job, url: str | None) -> str:
    return job.writes or ("allow" if url is None else default_writes(url))


def _finish(
    summary: ReplaySummary, opened: list[tuple[Any, Callable[[], str | None]]], fail_on: str, findings: int
) -> None:
    for report, described in opened:
        report.close(summary)
        click.echo(described(), err=True)
    click.echo(render_replay(summary, findings), nl=False)
    if summary.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if summary.unreadable or summary.problems:
        sys.exit(EXIT_ERROR)
    if any(summary.counts.get(k) for k in _fail_on(fail_on)):
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_ERROR if summary.counts.get("malfunction") else EXIT_OK)


def _open_reports(specs: tuple[str, ...]) -> list[tuple[Any, Callable[[], str | None]]]:
    from replay.reporting.reports import open_report

    try:
        return [open_report(spec) for spec in specs]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--report") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot write the report: {exc}", param_hint="--report") from None


def _to_reports(opened: list[tuple[Any, Callable[[], str | None]]]) -> Callable[[Outcome], None]:
    def sink(outcome: Outcome) -> None:
        for report, _ in opened:
            report.add(outcome)

    return sink


@replay.command("run")
@_shared_options
@_report_options
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
    _fail_on(fail_on)
    if target is not None:
        check_target(target, allowed_hosts(shared["allow_host"]))
        api_key = _key("--target", api_key)
    job = _job(shared)
    opened = _open_reports(reports)
    embedded = target is None
    options = ReplayOptions(
        target=target or "embedded sandbox", api_key=api_key or load_seed_key(), writes=_writes(job, target),
        namespace=_namespace(job, embedded), noise=job.noise, **job.options,
    )  # fmt: skip
    what = "replaying against " + (
        "embedded sandboxes (one per worker, reset before each story)" if embedded else options.target
    )
    summary = _execute(job, options, embedded=embedded, sink=_to_reports(opened), what=what)
    _finish(summary, opened, fail_on, findings)


@replay.command("compare")
@_shared_options
@_report_options
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
    _fail_on(fail_on)
    hosts = allowed_hosts(shared["allow_host"])
    check_target(candidate, hosts)
    if baseline is not None:
        check_target(baseline, hosts)
        api_key = _key("--baseline", api_key)
    job = _job(shared)
    opened = _open_reports(reports)
    # an embedded baseline takes the seed's key, whatever TALON_API_KEY says (that one is the candidate's)
    key = _key("--baseline", api_key) if baseline is not None else load_seed_key()
    # writes: the stricter policy of the two targets (a non-loopback candidate gets dry writes)
    writes = job.writes or ("allow" if all(is_loopback(u) for u in (baseline, candidate) if u) else "dry")
    candidate_namespace = _namespace(job, False)
    options = ReplayOptions(
        target=baseline or "embedded sandbox", api_key=key, writes=writes,
        namespace=_namespace(job, baseline is None), noise=job.noise, candidate=candidate,
        candidate_api_key=candidate_api_key or api_key or key,
        # two targets may share a database: the candidate's ids are kept apart from the baseline's
        candidate_namespace=candidate_namespace + "c-" if candidate_namespace else "", **job.options,
    )  # fmt: skip
    what = f"comparing {candidate} with {baseline or 'embedded sandboxes'}"
    summary = _execute(job, options, embedded=baseline is None, sink=_to_reports(opened), what=what)
    _finish(summary, opened, fail_on, findings)


@replay.command("learn-noise")
@_shared_options
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
    from replay.engine.noise import pattern_for, write_rules

    if target is not None:
        check_target(target, allowed_hosts(shared["allow_host"]))
        api_key = _key("--target", api_key)
    job = _job(shared)
    embedded = target is None
    key = api_key or load_seed_key()
    learned: set[tuple[str, str]] = set()  # (operation, pattern)

    def collect(outcome: Outcome) -> None:
        if outcome.diff is None or outcome.operation_id is None:
            return
        for change in outcome.diff.real:
            if change.location:
                pattern = re.sub(r"\[\d+\]", "[*]", pattern_for(change.location))
                learned.add((outcome.operation_id, pattern))

    namespace = _namespace(job, embedded)
    options = ReplayOptions(
        target=target or "embedded sandbox", api_key=key, writes=_writes(job, target), namespace=namespace,
        noise=job.noise, candidate=target, candidate_api_key=key,
        candidate_namespace=(namespace + "b-") if namespace else ("" if embedded else new_namespace()), **job.options,
    )  # fmt: skip
    summary = _execute(job, options, embedded=embedded, candidate_embedded=embedded, sink=collect,
                       what=f"learning noise: replaying twice against {target or 'embedded sandboxes'}")  # fmt: skip
    if summary.interrupted:
        click.echo("interrupted: no rules written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if summary.unreadable or summary.problems:
        click.echo(render_replay(summary, 0), nl=False)
        sys.exit(EXIT_ERROR)
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
    sys.exit(EXIT_OK)


@replay.command("export-test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--select", "selected", multiple=True,
              help="An interaction to check: FILE#INDEX (or INDEX with one cassette). Repeatable.")  # fmt: skip
@click.option("--from-report", "from_report", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Take the findings of a `replay --report json:PATH` file.")  # fmt: skip
@click.option("--no-setup", is_flag=True, help="Leave out the story's earlier interactions.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("test_replayed.py"),
              show_default=True, help="The pytest module to write.")  # fmt: skip
def export_test_command(paths: tuple[Path, ...], selected: tuple[str, ...], from_report: Path | None,
                        no_setup: bool, out: Path) -> None:  # fmt: skip
    """Write a standalone pytest test that replays selected interactions (and the story before them).

    The interactions are embedded in the test; it runs against TALON_BASE_URL/TALON_API_KEY when set,
    else an embedded sandbox, and fails with the differences when the API answers otherwise.
    Exit 0 when written, 2 on usage errors.
    """
    from replay.reporting.export import Selection, export_test, parse_selection, selection_from_report

    if not selected and from_report is None:
        raise click.UsageError("choose interactions with --select FILE#INDEX or --from-report REPORT.json")
    try:
        chosen = parse_selection(selected, str(paths[0]) if len(paths) == 1 else None)
        if from_report is not None:
            found = selection_from_report(from_report)
            merged = {k: chosen.by_file.get(k, frozenset()) | found.by_file.get(k, frozenset())
                      for k in {*chosen.by_file, *found.by_file}}  # fmt: skip
            chosen = Selection(merged)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--select/--from-report") from None
    if not chosen.by_file:
        raise click.UsageError(f"{from_report} holds no findings: nothing to export")
    try:
        count = export_test(chosen, out, context=not no_setup)
    except (TalonContractsError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{count} interaction(s) checked by {out}; run it with: pytest {out}", err=True)


def load_seed_key() -> str:
    from contracts.sandbox.seed import load_seed

    return load_seed().api_key


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
    from replay.cassettes.reading import cassette_files

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
