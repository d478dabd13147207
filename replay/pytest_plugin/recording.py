"""Cassettes are pytest-recording's: a team moving from it keeps its conventions, its options and
its fixtures, because they are the same ones. This module is what the plugin adds to it.

* ``talon_cassette`` is pytest-recording's ``vcr`` cassette of the test (the test is given the
  ``vcr`` marker): ``cassettes/<module>/<test>.yaml`` next to the test file (``<Class>.<test>`` in
  a class), recorded as ``--record-mode`` says (``none`` by default: CI never records).
* Every cassette pytest-recording saves (``@pytest.mark.vcr`` ones too) is redacted at the last
  moment by :class:`~replay.recording.vcrpy.RedactingPersister`, around whatever persister the
  cassette's configuration ends with: the exchanges whose path the contract serves; those with
  other APIs are saved as the team's ``vcr_config`` left them, but for the API key in use.
* A ``talon_cassette``'s requests are matched on method, path and query only (the sandbox's port
  changes every session, and a cassette recorded against staging must play back wherever the tests
  run), and answers are recorded decoded (so that they can be redacted and read).
* ``--block-network`` and ``@pytest.mark.block_network`` let the tests reach loopback (the
  embedded sandbox) and the ``--talon-base-url`` host besides the allowed hosts they name.

Configuration of a cassette, first found wins (pytest-recording's merge; written here because it
is the contract with users):

    @pytest.mark.vcr(**kwargs)  >  talon_record_mode(mode) marker  >  the vcr_config fixture
    >  ours (match_on, decode_compressed_response: talon_cassette only)  >  vcrpy's defaults

and the record mode: a marker's or ``vcr_config``'s ``record_mode`` > ``--record-mode`` > ``none``.
Redaction is not a setting of that chain: it happens whatever the chain says.
"""

from __future__ import annotations

import contextlib
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from replay.pytest_plugin.settings import RECORD_MODES, api_key, contract_of, setting

__all__ = ["cassette_of", "records"]

_SETTING_UP = pytest.StashKey[pytest.Item]()  # the item whose fixtures are being set up
MATCH_ON = ("method", "path", "query")
_LOOPBACK = (r"127\.\d+\.\d+\.\d+$", r"::1$", r"localhost$")


def records(config: pytest.Config) -> bool:
    """pytest-recording is loaded (``-p no:recording`` unloads it)."""
    return config.pluginmanager.has_plugin("recording")


_OURS = pytest.StashKey[list[str]]()  # what --block-network and block_network markers allow besides


def _reachable(config: pytest.Config) -> list[str]:
    """Loopback (the embedded sandbox) and the base URL's host, as pytest-recording's host regexes.
    It matches them with the address a socket connects to, so the host is allowed by name and by
    each address it resolves to now."""
    found = config.stash.get(_OURS, None)
    if found is None:
        found = list(_LOOPBACK)
        host = urlsplit(setting(config, "base_url")).hostname
        if host:
            found.append(re.escape(host) + "$")
            with contextlib.suppress(OSError):  # unresolvable now: its connections fail on their own
                found += sorted({re.escape(str(a[4][0])) + "$" for a in socket.getaddrinfo(host, None)})
        config.stash[_OURS] = found
    return found


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not records(config) or not config.getoption("block_network", False):
        return
    if config.getoption("allow_private_ips", False):
        return  # loopback is private: allowed already
    allowed = [config.getoption("allowed_hosts") or "", *_reachable(config)]
    config.option.allowed_hosts = ",".join(a for a in allowed if a)


def _allow_ours(config: pytest.Config, item: pytest.Item) -> None:
    """A ``block_network`` marker's own ``allowed_hosts`` come first in pytest-recording: ours are
    added to the nearest such marker (as a nearer one), so that the sandbox stays reachable."""
    marker = item.get_closest_marker("block_network")
    if marker is None or marker.kwargs.get("allow_private_ips"):
        return
    given = marker.kwargs.get("allowed_hosts") or config.getoption("allowed_hosts", None) or []
    hosts = [h for h in (given.split(",") if isinstance(given, str) else list(given)) if h]
    allowed = [*hosts, *(h for h in _reachable(config) if h not in hosts)]
    item.add_marker(pytest.mark.block_network(**{**marker.kwargs, "allowed_hosts": allowed}), append=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if records(config):
            _allow_ours(config, item)
        mode = item.get_closest_marker("talon_record_mode")
        if mode is not None and (len(mode.args) != 1 or mode.args[0] not in RECORD_MODES):
            raise pytest.UsageError(
                f"{item.nodeid}: talon_record_mode takes one of {', '.join(RECORD_MODES)}"
            )
        if "talon_cassette" in getattr(item, "fixturenames", ()) or mode is not None:
            # pytest-recording applies the markers farthest first: appended, this one comes after the
            # module's and class's vcr markers and before the function's own (which win over it)
            kwargs = {"record_mode": mode.args[0]} if mode is not None else {}
            item.add_marker(pytest.mark.vcr(**kwargs))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[_SETTING_UP] = item  # for pytest_recording_configure, which is not told the test


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording made the VCR of a test's cassette: ours are its defaults and its persister."""
    from replay.recording.traffic import served
    from replay.recording.vcrpy import RedactingPersister

    item = config.stash.get(_SETTING_UP, None)
    if item is not None and "talon_cassette" in getattr(item, "fixturenames", ()):
        vcr.match_on = MATCH_ON
        vcr.decode_compressed_response = True
    # The shipped contract is read when a cassette is saved, not here: a project whose vcr tests only
    # play back, or are not Talon's, never loads it (personal data is where its derivation, cached on
    # disk, says). A --talon-contract is loaded now, to redact by it.
    contract = contract_of(config) if setting(config, "contract") else None
    key = api_key(config) or None
    merged = vcr.get_merged_config

    def redacting(**kwargs: Any) -> dict[str, Any]:
        """Whatever persister the configuration chain ends with (a ``persister`` in vcr_config or in a
        marker included), what it saves is redacted first."""
        config_of_cassette: dict[str, Any] = merged(**kwargs)
        config_of_cassette["persister"] = RedactingPersister(
            config_of_cassette["persister"], applies=lambda method, uri: served(contract_of(config), uri),
            api_key=key, contract=contract,
        )  # fmt: skip
        return config_of_cassette

    vcr.get_merged_config = redacting


def cassette_of(request: pytest.FixtureRequest) -> Any:
    """The test's pytest-recording cassette (None with --disable-recording or without a vcr marker)."""
    if not records(request.config):
        pytest.fail(
            "talon_cassette records through pytest-recording, which this run has not loaded (-p no:recording?)",
            pytrace=False,
        )
    cassette = request.getfixturevalue("vcr")
    if cassette is not None and not Path(cassette._path).exists():
        _moved(request, Path(cassette._path), cassette.record_mode)
    return cassette


def _moved(request: pytest.FixtureRequest, path: Path, record_mode: Any) -> None:
    """A cassette where talon_cassette kept them before pytest-recording's layout (cassettes/<test>.yaml)
    is named rather than silently recorded anew or missed."""
    old = Path(request.node.path).parent / "cassettes" / path.name
    if old.exists() and str(getattr(record_mode, "value", record_mode)) == "none":
        pytest.fail(
            f"no cassette at {path}, but {old} is one: cassettes are kept per module now "
            f"(pytest-recording's layout); move it: git mv {old} {path}",
            pytrace=False,
        )
