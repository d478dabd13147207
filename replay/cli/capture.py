"""``talon-contracts capture``: a recording reverse proxy in front of Talon.One (options and orchestration)."""

from __future__ import annotations

import logging
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from replay.cli.common import ToolFailure

if TYPE_CHECKING:
    from replay.capture.run import Recording

__all__ = ["capture"]


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r}: HOST:PORT (127.0.0.1:8080; port 0 for any free one)")
    return host, int(port)


@click.command()
@click.option(
    "--target", required=True, help="Talon.One base URL the requests go to (https://yourbaseurl.talon.one)."
)
@click.option(
    "--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to serve on (port 0: any)."
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the capture: one JSON Lines file per story, in segments.")  # fmt: skip
@click.option("--rotate", "rotate", multiple=True,
              help="Start a new segment after a size (100MB) or an age (1h); both may be given.")  # fmt: skip
@click.option("--gzip", "compress", is_flag=True, help="Gzip each segment's files once it is closed.")
@click.option("--sample", default="100%", show_default=True,
              help="Share of stories kept (10%): decided by a hash of the story, so a customer is kept whole.")  # fmt: skip
@click.option("--operation", "operations", multiple=True, help="Record only this operation id (repeatable).")
@click.option("--validate", is_flag=True, help="Check each exchange against the contract and log violations.")
@click.option("--redact-path", "paths", multiple=True, help="Another JSON path to pseudonymise (RFC 9535).")
@click.option("--redaction-salt", "salt", envvar="TALON_REDACTION_SALT", default=None,
              help="Secret key for pseudonyms and story names (or TALON_REDACTION_SALT). Default: random "
                   "per capture.")  # fmt: skip
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CA certificates to verify the target with (a private CA).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds for an upstream exchange (504 beyond).")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No status line (the summary is still printed).")
def capture(
    target: str, listen: str, out: Path, rotate: tuple[str, ...], compress: bool, sample: str,
    operations: tuple[str, ...], validate: bool, paths: tuple[str, ...], salt: str | None,
    ca_bundle: str | None, timeout: float, quiet: bool,
) -> int:  # fmt: skip
    """Capture real traffic: a reverse proxy in front of Talon.One that records every exchange.

    Point the shop's Talon.One base URL at the proxy: each request goes to TARGET unchanged, each
    answer comes back unchanged, and the exchange is written to OUT, redacted (the API key never
    reaches the disk; personal data is pseudonymised with a key of this capture), as JSON Lines,
    one file per story (a customer's calls, in order). Other paths are forwarded, not recorded.
    Ctrl-C or SIGTERM ends it after the exchanges in flight: exit 130 or 0; 2 when recording
    failed (a full disk: the proxy keeps forwarding) or could not start.
    """
    from replay.capture import CaptureProxy
    from replay.capture.background import RecordingProcess
    from replay.capture.run import new_loop, serve
    from replay.capture.setup import build_recorder
    from replay.reporting.capture import banner, summary

    address = _listen(listen)
    _check_target(target)
    try:
        recorder = build_recorder(out, rotate=rotate, compress=compress, sample=sample, operations=operations,
                                  validate=validate, redact_paths=paths, salt=salt)  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise ToolFailure(
            f"cannot write the capture to {out}: {exc.strerror or exc}; nothing started"
        ) from None
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    recording = RecordingProcess(recorder)  # forked now, before any thread: see its docstring
    proxy = CaptureProxy(target, recorder, address, timeout, ca_bundle, handover=recording.submit)
    loop = new_loop()
    try:  # (whatever ends it, the recording process is told: else exiting would wait for it for ever)
        outcome = loop.run_until_complete(serve(
            proxy, recording,
            on_start=lambda where: click.echo(banner(where, target, str(out)), err=True),
            on_tick=_status(recording, quiet),
            on_failure=lambda why: click.echo(f"\nERROR: {why}; still forwarding, no longer recording", err=True),
        ))  # fmt: skip
    except ssl.SSLError as exc:
        raise ToolFailure(f"--ca-bundle {ca_bundle}: {exc.reason or exc}") from None
    except OSError as exc:  # the address is taken, say
        raise ToolFailure(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    finally:
        recording.close()  # (after serve: a no-op beyond waiting for what it already closed)
        loop.close()
    if sys.stderr.isatty() and not quiet:
        click.echo("", err=True)
    click.echo(summary(outcome), nl=False, err=True)
    return outcome.exit_code


def _check_target(target: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(target)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        valid = False
    if not valid:
        raise click.UsageError(f"--target {target!r} is not an http(s) URL with a host")


def _status(recording: Recording, quiet: bool) -> Callable[[], None]:
    """The status line, called every second: rewritten in place on a terminal, a line every 10 s in a log."""
    from replay.reporting.capture import status_line

    tty = sys.stderr.isatty()
    ticks = [0]

    def tick() -> None:
        ticks[0] += 1
        if quiet or not (tty or ticks[0] % 10 == 0):
            return
        stats, _, written, _ = recording.counts()
        line = status_line(stats, written)
        click.echo(f"\r{line}\x1b[K" if tty else line, nl=not tty, err=True)

    return tick
