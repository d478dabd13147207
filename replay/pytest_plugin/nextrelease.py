"""``--talon-next-contract``: cassette items and ``talon_client`` calls are checked against a next
vendor release as well, and the session ends with what would break under it (tests do not fail for
it: it is news about the next release, not about today)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from replay.pytest_plugin.settings import project_file, setting

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = ["check_next"]

_NEXT = pytest.StashKey["Contract"]()  # the next contract, loaded when first needed
_CHECKED = pytest.StashKey[int]()  # exchanges checked against it
_BREAKS = pytest.StashKey[list[tuple[str, str, list[str]]]]()  # (test, exchange, violations) it rejects


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CHECKED] = 0
    config.stash[_BREAKS] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _next_contract(session.config)  # a bad --talon-next-contract is a usage error before any test runs


def _next_contract(config: pytest.Config) -> Contract | None:
    """The contract of --talon-next-contract (our overlay applied), or None when none is given."""
    path = project_file(config, "next_contract")
    if not path:
        return None
    found = config.stash.get(_NEXT, None)
    if found is None:
        from contracts.errors import TalonContractsError
        from contracts.spec import load_contract

        try:
            found = config.stash[_NEXT] = load_contract(path)
        except TalonContractsError as exc:
            raise pytest.UsageError(f"--talon-next-contract: {exc}") from None
    return found


def check_next(config: pytest.Config, test: str, interaction: Any, today: Contract | None = None) -> None:
    """Check one exchange against the next contract as well; what it rejects is kept for the summary.
    ``today``: the contract the exchange must pass first (one that fails today is not news about the next)."""
    contract = _next_contract(config)
    if contract is None:
        return
    from replay.verify import check

    if today is not None and check(today, interaction)[0]:
        return
    violations, _ = check(contract, interaction)
    config.stash[_CHECKED] += 1
    if violations:
        request = interaction.request
        config.stash[_BREAKS].append((test, f"{request.method} {request.url}", [str(v) for v in violations]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker hands its share to the controller
        workeroutput["talon_next_checked"] = session.config.stash[_CHECKED]
        workeroutput["talon_next_breaks"] = session.config.stash[_BREAKS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker finished; add what it checked."""
    output = getattr(node, "workeroutput", {})
    config: pytest.Config = node.config
    config.stash[_CHECKED] += output.get("talon_next_checked", 0)
    config.stash[_BREAKS] += [tuple(b) for b in output.get("talon_next_breaks", ())]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    path = setting(config, "next_contract")
    checked, breaks = config.stash.get(_CHECKED, 0), config.stash.get(_BREAKS, [])
    if not path or not (checked or breaks):
        return
    terminalreporter.section(f"talon-contracts: under the next contract ({path})")
    if not breaks:
        terminalreporter.write_line(f"none of the {checked} exchange(s) checked would break")
        return
    terminalreporter.write_line(f"{len(breaks)} of {checked} exchange(s) checked would break:")
    for test, exchange, violations in sorted(breaks)[:50]:
        terminalreporter.write_line(f"{test}: {exchange}")
        for violation in violations[:5]:
            terminalreporter.write_line(f"    {violation}")
    if len(breaks) > 50:
        terminalreporter.write_line(f"... and {len(breaks) - 50} more")
