"""The plugin's options, ini settings and markers, the one place their precedence is decided, and
what its modules keep on the pytest config (stash keys).

Settings, and where each comes from (first found wins; written here because it is the contract
with users):

    command line (--talon-*)  >  ini ([tool.pytest.ini_options] talon_*)  >  environment
    (TALON_API_KEY, TALON_BASE_URL)  >  default

Recording is pytest-recording's (``recording.py`` says what the plugin adds to it), with its
options and their precedence: ``--record-mode`` (``none`` by default, ``rewrite`` included),
``--block-network``, ``--allowed-hosts``, ``--disable-recording``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when used: the plugin loads in every pytest run of a project that installs us
    from contracts.spec import Contract

__all__ = ["MARKERS", "RECORD_MODES", "api_key", "contract_of", "setting"]

# pytest-recording's, which records (`talon_record_mode` is kept as a marker of ours and becomes its
# `vcr(record_mode=...)`); vcrpy itself knows all but rewrite.
RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
MARKERS = (
    "talon_contract(*operation_ids): the Integration API operations a test covers",
    "talon_staging: needs a real staging system (--talon-base-url and a key)",
    "talon_record_mode(mode): record mode of this test's cassette (as vcr(record_mode=mode))",
    "talon_traffic(expect_violations=False): check the test's exchanges with the API against the contract",
)

EXERCISED = pytest.StashKey[set[str]]()  # operations that calls of this session exercised
ACTIVE = pytest.StashKey[bool]()  # something of ours ran: the session ends with the coverage line
LABELS = pytest.StashKey[dict[tuple[str, str], str]]()  # (METHOD, path template) -> operationId
SCHEMATHESIS_LABELS = pytest.StashKey[set[str]]()  # "METHOD /path" of schemathesis items that ran
MARKER_ERROR = pytest.StashKey[str]()  # a test's bad talon_contract marker: its own error
TRAFFIC = pytest.StashKey[dict[str, Any]]()  # a test's cassette or observed traffic, judged after it

_SETTINGS: dict[str, tuple[str, str | None, str]] = {
    # name: (ini help, environment variable, default)
    "base_url": ("Base URL of the API under test (default: an embedded sandbox)", "TALON_BASE_URL", ""),
    "contract": ("OpenAPI document to test against (default: the shipped contract)", None, ""),
    "next_contract": ("A next vendor release: also check cassettes and client calls against it", None, ""),
    "coverage_fail_under": ("Fail the session when fewer operations are exercised (N, or N%)", None, ""),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("talon-contracts", "Talon.One Integration API contract testing")
    group.addoption("--talon-base-url", dest="talon_base_url", default=None,
                    help="Base URL of the API under test. Default: start an embedded sandbox for the session.")  # fmt: skip
    group.addoption("--talon-api-key", dest="talon_api_key", default=None,
                    help="API key for --talon-base-url (or TALON_API_KEY).")  # fmt: skip
    group.addoption("--talon-contract", dest="talon_contract", default=None,
                    help="OpenAPI document to test against. Default: the shipped contract.")  # fmt: skip
    group.addoption("--talon-next-contract", dest="talon_next_contract", default=None, metavar="FILE",
                    help="A next vendor release (our overlay applied): cassette items and talon_client calls are "
                         "checked against it too, and the session ends with what would break under it.")  # fmt: skip
    group.addoption("--talon-verify-cassettes", dest="talon_verify_cassettes", action="append", default=[],
                    metavar="DIR", help="Collect the cassettes in DIR as tests: one item per recorded interaction, "
                    "checked against the contract. (`pytest cassettes/` does the same for a directory named cassettes.)")  # fmt: skip
    group.addoption("--talon-coverage-fail-under", dest="talon_coverage_fail_under", default=None, metavar="N",
                    help="Fail the session (exit 1) when fewer than N of the contract's operations were exercised "
                         "(N%%: a share of them).")  # fmt: skip
    for name, (text, _, default) in _SETTINGS.items():
        parser.addini(f"talon_{name}", text, default=default)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[EXERCISED] = set()
    config.stash[ACTIVE] = False


def setting(config: pytest.Config, name: str) -> str:
    """A setting by the precedence above."""
    value = config.getoption(f"talon_{name}")
    if value:
        return str(value)
    ini = config.getini(f"talon_{name}")
    if ini:
        return str(ini)
    environment = _SETTINGS[name][1]
    if environment and os.environ.get(environment):
        return os.environ[environment]
    return _SETTINGS[name][2]


def project_file(config: pytest.Config, name: str) -> str:
    """A file setting: from the command line as given, from an ini file relative to the project."""
    path = setting(config, name)
    if path and not config.getoption(f"talon_{name}") and not Path(path).is_absolute():
        return str(Path(config.rootpath) / path)
    return path


def api_key(config: pytest.Config) -> str:
    return str(config.getoption("talon_api_key") or os.environ.get("TALON_API_KEY") or "")


def contract_of(config: pytest.Config) -> Contract:
    from contracts.spec import load_contract

    path = setting(config, "contract")
    return load_contract(path) if path else load_contract()
