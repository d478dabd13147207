"""``talon-contracts replay swarm``: a replay spread over Locust workers, with ``replay run``'s options.

Options and orchestration only: the options are checked here as ``replay run`` checks them (usage
errors exit 2 before anything starts), then Locust runs ``replay/swarm/locustfile.py`` as a child
process with the equivalent ``--talon-*`` arguments (Locust is gevent's: it must own its process).
The API key goes to it in the environment, never on a command line others can read.

The exit code is the replay's: the master writes it to a file named by ``TALON_SWARM_STATUS``
when it concludes. When Locust ends without one (a port in use, a crash before the replay
started), that is an infrastructure error (2) with Locust's own code in the message: Locust's
exit code 1 must not pass for findings.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from replay.cli.common import EXIT_ERROR, EXIT_INTERRUPTED
from replay.cli.replay_options import job, parse_fail_on, report_options, shared_options
from replay.cli.targets import allowed_hosts, check_target, require_key

__all__ = ["LOCUSTFILE", "STATUS_ENV", "locust_arguments", "swarm"]

LOCUSTFILE = Path(__file__).resolve().parent.parent / "swarm" / "locustfile.py"
STATUS_ENV = "TALON_SWARM_STATUS"
WEB_AFTER = 60  # seconds the web UI stays up once the run is over
_DURATION = re.compile(r"(?=\d)(\d+h)?(\d+m)?(\d+s)?|\d+")  # Locust's forms; a digit first


@click.command("swarm")
@shared_options
@report_options
@click.option("--target", default=None, help="Base URL to replay against. Default: embedded sandboxes.")
@click.option(
    "--api-key", envvar="TALON_API_KEY", default=None, help="API key for --target (or TALON_API_KEY)."
)
@click.option(
    "--mode",
    type=click.Choice(["verify", "load"]),
    default="verify",
    show_default=True,
    help="verify: each story once, the outcomes of a local replay; load: the stories round after "
    "round for --duration, with Locust's statistics per operation.",
)
@click.option("--duration", default=None, help="Load mode: how long, as Locust says it: 90s, 5m, 1h30m.")
@click.option(
    "--sample",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Load mode: findings kept in the reports per operation and outcome (all are counted).",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=2,
    show_default=True,
    help="Worker processes on this machine (Locust's --processes); 0: only workers started elsewhere "
    "with 'locust -f LOCUSTFILE --worker --master-host THIS_HOST'.",
)
@click.option(
    "--expect-workers",
    type=click.IntRange(1),
    default=None,
    help="With --workers 0: the workers started elsewhere to wait for before starting.",
)
@click.option(
    "--wait-for-workers",
    type=click.IntRange(1),
    default=120,
    show_default=True,
    help="Seconds to wait for them; then exit 2.",
)
@click.option(
    "--bind",
    default="127.0.0.1:5557",
    show_default=True,
    help="HOST:PORT the master listens on for workers (0.0.0.0:5557 for other machines: it is "
    "unauthenticated, keep it on a private network).",
)
@click.option(
    "--web", is_flag=True,
    help=f"Locust's web UI (live charts) on --web-port; the run starts at once, the UI stays up {WEB_AFTER} s after it.",
)  # fmt: skip
@click.option("--web-port", type=click.IntRange(1, 65535), default=8089, show_default=True)
@click.option(
    "--locust-option",
    "locust_options",
    multiple=True,
    help="An argument passed to Locust as it is, e.g. --locust-option=--csv=stats (repeatable).",
)
def swarm(target: str | None, api_key: str | None, reports: tuple[str, ...], fail_on: str, findings: int,
          mode: str, duration: str | None, sample: int, workers: int, expect_workers: int | None,
          wait_for_workers: int, bind: str, web: bool, web_port: int, locust_options: tuple[str, ...],
          **shared: Any) -> None:  # fmt: skip
    """Replay CASSETTE_OR_DIR... over Locust workers: the same outcomes, reports and exit code as
    'replay run' in verify mode, or a load test of the target (--mode load --duration 5m).

    The master (this process's Locust child) hands out the stories, the workers replay them with
    the engine's own pipeline and send the outcomes back. Exit codes as for run.
    """
    parse_fail_on(fail_on)
    if importlib.util.find_spec("locust") is None:
        raise click.UsageError("Locust is not installed: pip install 'talon-contracts[swarm]'")
    if shared["processes"] != 1:
        raise click.BadParameter(
            "the workers are the processes here: use --workers", param_hint="--processes"
        )
    if shared["contract_path"] is not None:
        raise click.BadParameter("workers validate against the shipped contract", param_hint="--contract")
    if mode == "load" and duration is None:
        raise click.UsageError("a load run lasts --duration (e.g. --duration 5m)")
    if mode == "verify" and duration is not None:
        raise click.UsageError("--duration is for --mode load; verify mode replays each story once")
    if duration is not None and not _DURATION.fullmatch(duration):
        raise click.BadParameter(
            f"{duration!r}: expected a duration like 90s, 5m or 1h30m", param_hint="--duration"
        )
    if workers == 0 and expect_workers is None:
        raise click.UsageError("with --workers 0, say how many workers will connect: --expect-workers N")
    if workers and expect_workers is not None:
        raise click.UsageError("--expect-workers is for workers started elsewhere (--workers 0)")
    if shared["concurrency"] < max(workers, expect_workers or 0):
        raise click.BadParameter("each worker needs a story slot at least: raise --concurrency or lower the workers",
                                 param_hint="--concurrency")  # fmt: skip
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{bind!r}: expected HOST:PORT", param_hint="--bind")
    _free(host, int(port))
    if target is not None:
        check_target(target, allowed_hosts(shared["allow_host"]))
        api_key = require_key("--target", api_key)
    job(shared)  # noise files, operations, rate, speed: checked once here, read again by the master
    arguments = locust_arguments(
        shared, target=target, reports=reports, fail_on=fail_on, findings=findings, mode=mode, duration=duration,
        sample=sample, workers=workers, expect_workers=expect_workers or workers, wait=wait_for_workers,
        bind=(host, int(port)), web=web, web_port=web_port,
    ) + list(locust_options)  # fmt: skip
    sys.exit(_run(arguments, api_key))


def locust_arguments(shared: dict[str, Any], *, target: str | None, reports: tuple[str, ...], fail_on: str,
                     findings: int, mode: str, duration: str | None, sample: int, workers: int,
                     expect_workers: int, wait: int, bind: tuple[str, int], web: bool,
                     web_port: int) -> list[str]:  # fmt: skip
    """The Locust command line of a swarm (its options as ``replay/swarm/locustfile.py`` takes them)."""
    host, port = bind
    users = str(shared["concurrency"])
    arguments = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "-u", users, "-r", users,
                 "--host", target or "embedded", "--master-bind-host", host, "--master-bind-port", str(port),
                 "--expect-workers-max-wait", str(wait), "--talon-mode", mode, "--talon-fail-on", fail_on,
                 "--talon-findings", str(findings), "--talon-sample", str(sample), "--talon-speed", shared["speed"],
                 "--talon-timeout", str(shared["timeout"])]  # fmt: skip
    if workers:  # forked by Locust; they find the master on its address (on this machine)
        reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        arguments += ["--processes", str(workers), "--master-host", reach, "--master-port", str(port)]
    else:
        arguments += ["--master", "--expect-workers", str(expect_workers)]
    # the web UI stays up WEB_AFTER seconds after the run (its statistics), then the command ends
    web_ui = ["--autostart", "--autoquit", str(WEB_AFTER), "--web-host", "127.0.0.1", "--web-port", str(web_port)]  # fmt: skip
    arguments += web_ui if web else ["--headless"]
    if duration is not None:
        arguments += ["--run-time", duration]
    if shared["quiet"]:
        arguments += ["--only-summary", "--loglevel", "WARNING"]
    for path in shared["paths"]:
        arguments += ["--talon-inputs", str(path)]
    for report in reports:
        arguments += ["--talon-report", report]
    for flag, value in (("--talon-rate", shared["rate"]), ("--talon-writes", shared["writes"]),
                        ("--talon-namespace", shared["namespace"])):  # fmt: skip
        if value is not None:
            arguments += [flag, str(value)]
    for flag, key in (("--talon-no-namespace", "no_namespace"), ("--talon-no-builtin-noise", "no_builtin_noise"),
                      ("--talon-fresh-target", "fresh_target")):  # fmt: skip
        if shared[key]:
            arguments.append(flag)
    for flag, key in (("--talon-noise", "noise_files"), ("--talon-ignore", "ignored"),
                      ("--talon-operation", "operations"), ("--talon-keep-id", "keep_ids"),
                      ("--talon-allow-host", "allow_host")):  # fmt: skip
        for value in shared[key]:
            arguments += [flag, str(value)]
    return arguments


def _free(host: str, port: int) -> None:
    """The master's port can be listened on (a second swarm on one machine is the usual clash)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot listen on {host}:{port} ({exc.strerror}); choose another port",
                                 param_hint="--bind") from None  # fmt: skip


def _run(arguments: list[str], api_key: str | None) -> int:
    """Locust as a child; its replay's exit code (Ctrl-C reaches it too: the master writes what was done)."""
    with tempfile.TemporaryDirectory(prefix="talon-swarm-") as folder:
        status = Path(folder) / "status"
        environment = {**os.environ, STATUS_ENV: str(status)}
        if api_key is not None:
            environment["TALON_API_KEY"] = api_key
        try:  # a session of its own: a Ctrl-C reaches it once, from here (twice would cut its shutdown short)
            child = subprocess.Popen(arguments, env=environment, start_new_session=True)
        except OSError as exc:
            click.echo(f"error: cannot start Locust: {exc}", err=True)
            return EXIT_ERROR
        previous = signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
        interrupted = False
        try:
            while True:
                try:
                    code = child.wait()
                    break
                except KeyboardInterrupt:  # the master writes the reports of what was done, then ends
                    interrupted = True
                    if child.poll() is None:
                        child.send_signal(signal.SIGINT)
        finally:
            signal.signal(signal.SIGTERM, previous)
            with contextlib.suppress(ProcessLookupError):  # workers left behind by a master that failed
                os.killpg(child.pid, signal.SIGTERM)
        text = status.read_text().strip() if status.is_file() else ""
        if text.isdigit():
            return int(text)
        if interrupted:
            return EXIT_INTERRUPTED
        click.echo(
            f"error: Locust ended (exit {code}) before the replay concluded; see its messages above", err=True
        )
        return EXIT_ERROR
