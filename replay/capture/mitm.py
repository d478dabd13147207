"""Capture through mitmproxy: for a shop that cannot point its Talon.One base URL at
``talon-contracts capture``, but can send its traffic through an HTTP(S) proxy.

Install mitmproxy into the same Python environment as talon-contracts (the addon imports it;
mitmproxy's stand-alone binaries carry a Python of their own that cannot), then::

    pip install mitmproxy
    python -m replay.capture.mitm            # prints this file's path and the command line
    mitmdump -s "$(python -m replay.capture.mitm --path)" \\
        --set talon_out=capture/ --set talon_target=yourbaseurl.talon.one

and run the shop with ``HTTPS_PROXY=http://127.0.0.1:8080`` (mitmproxy's default port; ``-p``
changes it). Requests to the Talon.One host(s) are recorded; every other flow goes through as
mitmproxy passes it, unrecorded. Options (``--set NAME=VALUE``):

- ``talon_out``: the capture directory (required). mitmdump refuses to start when it cannot be
  written.
- ``talon_target``: a Talon.One host, as ``host``, ``host:port``, ``*.talon.one`` or a base URL;
  repeat it for several (default ``*.talon.one``).
- ``talon_sample`` (``10%``), ``talon_rotate`` (``100MB``, ``1h``; repeatable), ``talon_gzip``,
  ``talon_operation`` (an operation id; repeatable), ``talon_validate`` (log contract violations),
  ``talon_redact_path`` (another JSON path to pseudonymise; repeatable) and
  ``talon_redaction_salt`` (or ``TALON_REDACTION_SALT``; default: a random key per capture): the
  options of ``talon-contracts capture`` of the same names.

HTTPS: Talon.One is HTTPS, so mitmproxy must intercept TLS, which the shop accepts only once
mitmproxy's CA certificate (``~/.mitmproxy/mitmproxy-ca-cert.pem``, written on its first run) is
in the shop's trust store (the system's, or the runtime's: ``REQUESTS_CA_BUNDLE``,
``NODE_EXTRA_CA_CERTS``, the JVM's keystore ...). ``--allow-hosts '\\.talon\\.one(:443)?$'``
keeps mitmproxy from intercepting anything else. Keep that CA's key as secret as the API key.

The files are those ``talon-contracts capture`` writes, through the same code: one JSON Lines
file per story in segments (``DIR/<segment>/<story>.jsonl``), redacted before they are written
(the API key never reaches the disk, personal data pseudonymised with the capture's key), ready
for ``talon-contracts verify`` and ``replay``. The exchange is recorded in mitmproxy's response
hook, before the answer goes on to the shop (a millisecond or so); mitmdump's exit ends the
capture (Ctrl-C or SIGTERM) and logs its summary.

This module imports without mitmproxy (it is not a dependency of talon-contracts): only the
hooks mitmproxy calls use it.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from replay.capture.proxy import forwarded
from replay.capture.recorder import Exchange, Recorder
from replay.capture.run import CaptureOutcome
from replay.capture.setup import build_recorder
from replay.reporting.capture import summary

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader
    from mitmproxy.http import Headers, HTTPFlow

__all__ = ["DEFAULT_TARGET", "TalonCapture", "Target", "addons", "exchange_of", "parse_targets"]

log = logging.getLogger("replay.capture")

#: Every Talon.One deployment is a subdomain of talon.one (``yourbaseurl.talon.one``).
DEFAULT_TARGET = "*.talon.one"


# A NamedTuple, not a dataclass: mitmdump runs this file as a module absent from sys.modules,
# where a dataclass with string annotations cannot be made.
class Target(NamedTuple):
    """A Talon.One upstream: a host name pattern (lowercase, ``*`` allowed) and a port (None: any)."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        return fnmatch.fnmatchcase(host.lower().rstrip("."), self.host) and self.port in (None, port)


def parse_targets(values: Iterable[str]) -> tuple[Target, ...]:
    """``talon_target`` values: ``host``, ``host:port``, ``[::1]:8080``, ``https://x.talon.one``."""
    targets = []
    for value in values:
        text = value.strip()
        parts = urlsplit(text if "://" in text else f"//{text}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if not parts.hostname or port == -1 or parts.path.strip("/"):
            raise ValueError(
                f"talon_target {value!r}: a host (yourbaseurl.talon.one, *.talon.one, host:port)"
            )
        targets.append(Target(parts.hostname.lower().rstrip("."), port))
    if not targets:
        raise ValueError("talon_target: at least one Talon.One host")
    return tuple(targets)


def _recorded_headers(headers: Headers) -> list[tuple[str, str]]:
    """The headers as the capture proxy records them (``proxy.forwarded``), repeated ones kept."""
    return forwarded(headers.items(multi=True))  # type: ignore[no-untyped-call]


def exchange_of(flow: HTTPFlow) -> Exchange | None:
    """The flow as the recorder takes it, bodies as they went over the wire (``raw_content``: a
    gzip body stays gzip, as the proxy records it); None when a body is not whole (mitmproxy
    streamed it: ``stream_large_bodies``), which is not recorded."""
    request, response = flow.request, flow.response
    if request.raw_content is None or (response is not None and response.raw_content is None):
        return None
    exchange = Exchange(request.method, request.url, _recorded_headers(request.headers), request.raw_content,
                        request.timestamp_start)  # fmt: skip
    if response is not None:
        exchange.status = response.status_code
        exchange.response_headers = _recorded_headers(response.headers)
        exchange.response_body = response.raw_content or b""
        end = response.timestamp_end
    else:  # no answer: recorded as such, with why (the proxy's 502/504 in the same shape)
        exchange.error = f"no answer from upstream (mitmproxy: {flow.error.msg if flow.error else 'unknown'})"
        end = flow.error.timestamp if flow.error else None
    exchange.elapsed = max(0.0, (end or request.timestamp_start) - request.timestamp_start)
    return exchange


def _options_error(message: str) -> Exception:
    """mitmproxy's error for a bad option (imported here: only mitmproxy calls what raises it)."""
    from mitmproxy.exceptions import OptionsError

    return OptionsError(message)  # type: ignore[no-untyped-call]


class TalonCapture:
    """The addon: records the flows to Talon.One through a :class:`Recorder`."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.targets: tuple[Target, ...] = ()
        self._said_failure = False

    def load(self, loader: Loader) -> None:
        add = loader.add_option
        add("talon_out", str, "", "Directory of the capture (required): one JSON Lines file per story.")
        add("talon_target", Sequence[str], [DEFAULT_TARGET],
            "Talon.One host (host, host:port, *.talon.one or a base URL): only its flows are recorded.")  # fmt: skip
        add("talon_sample", str, "100%", "Share of stories kept (10%), decided by a hash of the story.")
        add("talon_rotate", Sequence[str], [], "Start a new segment after a size (100MB) or an age (1h).")
        add("talon_gzip", bool, False, "Gzip each segment's files once it is closed.")
        add("talon_operation", Sequence[str], [], "Record only this operation id.")
        add("talon_validate", bool, False, "Check each exchange against the contract and log violations.")
        add("talon_redact_path", Sequence[str], [], "Another JSON path to pseudonymise (RFC 9535).")
        # mitmproxy takes an optional type here, though its annotation says ``type``
        add("talon_redaction_salt", str | None, None,  # type: ignore[arg-type]
            "Secret key for pseudonyms and story names (or TALON_REDACTION_SALT); default: random.")  # fmt: skip

    def configure(self, updated: set[str]) -> None:
        """(Re)build the recorder when an option of ours changes. A bad option or a directory that
        cannot be written is an ``OptionsError``: logged as an error at startup, which makes
        mitmdump exit 1 instead of proxying without recording."""
        if not any(name.startswith("talon_") for name in updated):
            return
        from mitmproxy import ctx

        options = ctx.options
        if not options.talon_out:
            raise _options_error("talon_out: the capture directory is required (--set talon_out=DIR)")
        out = Path(options.talon_out)
        try:
            targets = parse_targets(options.talon_target)
            recorder = build_recorder(
                out, rotate=options.talon_rotate, compress=options.talon_gzip, sample=options.talon_sample,
                operations=options.talon_operation, validate=options.talon_validate,
                redact_paths=options.talon_redact_path,
                salt=options.talon_redaction_salt or os.environ.get("TALON_REDACTION_SALT"),
            )  # fmt: skip
        except ValueError as exc:
            raise _options_error(f"talon capture: {exc}") from None
        except OSError as exc:
            raise _options_error(f"cannot write the capture to {out}: {exc.strerror or exc}") from None
        self.done()  # options changed while running: the capture so far ends, a new one begins
        self.recorder, self.targets, self._said_failure = recorder, targets, False
        log.info("talon capture: recording flows to %s in %s", ", ".join(options.talon_target), out)

    def response(self, flow: HTTPFlow) -> None:
        self._record(flow)

    def error(self, flow: HTTPFlow) -> None:
        # an error after the answer (the shop hung up while it was sent) was recorded already
        if flow.response is None:
            self._record(flow)

    def _record(self, flow: HTTPFlow) -> None:
        recorder = self.recorder
        request = flow.request
        if recorder is None or not any(t.matches(request.host, request.port) for t in self.targets):
            return  # not Talon.One: mitmproxy passes it on, nothing is counted or written
        if request.timestamp_end is None:
            recorder.stats.aborted += 1  # the shop hung up before its request was whole
            return
        recorder.stats.proxied += 1
        if flow.response is None:
            recorder.stats.upstream_errors += 1
        match = recorder.wants(request.method, request.url)
        if match is None:
            return
        exchange = exchange_of(flow)
        if exchange is None:
            recorder.stats.too_large += 1
            return
        recorder.safely(match, exchange)
        failed = recorder.writer.failed
        if failed is not None and not self._said_failure:  # a full disk: mitmproxy keeps proxying
            self._said_failure = True
            log.error("talon capture: %s; still proxying, no longer recording", failed)

    def done(self) -> None:
        """Close the files (compressing the last segment if asked) and log the summary."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        writer = recorder.writer
        writer.close()
        outcome = CaptureOutcome(recorder.stats, writer.lines_written, writer.bytes_written,
                                 len(writer.segments), writer.failed, None)  # fmt: skip
        said = "; ".join(summary(outcome).splitlines())
        (log.error if writer.failed is not None else log.info)("talon %s", said)


addons = [TalonCapture()]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m replay.capture.mitm [--path]``: where this script is, and how to run it."""
    script = Path(__file__).resolve()
    if list(argv if argv is not None else sys.argv[1:]) == ["--path"]:
        print(script)
        return 0
    # the mitmdump of this environment: one from elsewhere cannot import talon-contracts
    beside = Path(sys.executable).parent / "mitmdump"
    mitmdump = str(beside) if beside.exists() else (shutil.which("mitmdump") or "mitmdump")
    print(f"addon script: {script}")
    print(f"run: {mitmdump} -s {script} --set talon_out=DIR --set talon_target=yourbaseurl.talon.one")
    if not beside.exists():
        print("(mitmproxy is not installed in this environment: pip install mitmproxy)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
