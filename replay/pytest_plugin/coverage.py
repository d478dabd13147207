"""The session's coverage: which of the contract's operations calls of this run exercised (markers
count for nothing), said at the end, and ``--talon-coverage-fail-under`` held to it.

What counts: calls through ``talon_client``, exchanges judged under ``talon_traffic`` or from a
cassette, verified cassette items, schemathesis items of an operation (``@schema.parametrize()``,
by their ``METHOD /path`` label) and whatever a test reports through ``talon_coverage``. Under
pytest-xdist each worker's share is sent to the controller, which alone judges the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from replay.pytest_plugin.settings import ACTIVE, EXERCISED, LABELS, SCHEMATHESIS_LABELS, contract_of, setting

__all__ = ["OperationCoverage", "Tally", "operations_by_route", "tally"]

_FAILED_UNDER = pytest.StashKey[str]()  # the threshold's message, when the session missed it


class OperationCoverage:
    """The operations this session exercised; ``record`` is for tests that call the API in a way
    the plugin cannot see (a schemathesis state machine, their own client)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def record(self, operation_id: str) -> None:
        """Count ``operation_id`` as exercised; an id the contract does not have is a ValueError
        that lists the valid ones (a typo would otherwise go unnoticed)."""
        known = operations_by_route(self._config).values()
        if operation_id not in known:
            raise ValueError(
                f"talon_coverage.record: unknown operation {operation_id!r}; valid: {', '.join(sorted(known))}"
            )
        self._config.stash[EXERCISED].add(operation_id)
        self._config.stash[ACTIVE] = True

    @property
    def exercised(self) -> frozenset[str]:
        exercised: set[str] = self._config.stash[EXERCISED]
        return frozenset(exercised)


@pytest.fixture(scope="session")
def talon_coverage(pytestconfig: pytest.Config) -> OperationCoverage:
    """Report operations a test exercised outside what the plugin sees (see the module docstring)."""
    return OperationCoverage(pytestconfig)


def operations_by_route(config: pytest.Config) -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> operationId of the contract, built once per session."""
    routes = config.stash.get(LABELS, None)
    if routes is None:
        routes = config.stash[LABELS] = {(op.method, op.path): op.operation_id for op in contract_of(config)}
    return routes


@dataclass(frozen=True, slots=True)
class Tally:
    """The contract's operations, in its order, split by whether this session exercised them."""

    covered: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def documented(self) -> int:
        return len(self.covered) + len(self.missing)


def tally(config: pytest.Config) -> Tally | None:
    """What this session exercised; None when nothing of ours ran (nothing to say)."""
    labels = config.stash.get(SCHEMATHESIS_LABELS, set())
    active = config.stash.get(ACTIVE, False)
    if not (active or config.stash.get(EXERCISED, set()) or labels):
        return None
    routes = operations_by_route(config)
    recorded: set[str] = config.stash[EXERCISED]
    exercised = set(recorded)
    for label in labels:
        method, _, path = label.partition(" ")
        operation_id = routes.get((method.upper(), path))  # None: an operation of another API
        if operation_id is not None:
            exercised.add(operation_id)
    if not active and not exercised:
        return None  # schemathesis tests of other APIs only: nothing of ours ran
    documented = list(dict.fromkeys(routes.values()))
    return Tally(
        tuple(op for op in documented if op in exercised),
        tuple(op for op in documented if op not in exercised),
    )


def _threshold(config: pytest.Config) -> tuple[float, bool] | None:
    """``--talon-coverage-fail-under``: (N, is a share) or None; anything else is a usage error."""
    given = setting(config, "coverage_fail_under").strip()
    if not given:
        return None
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(%?)", given)
    if found is None or (found[2] and float(found[1]) > 100):
        raise pytest.UsageError(
            f"--talon-coverage-fail-under: {given!r} is neither a number of operations (20) nor a share (75%)"
        )
    return float(found[1]), bool(found[2])


def pytest_configure(config: pytest.Config) -> None:
    _threshold(config)  # a bad threshold is a usage error before any test runs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # schemathesis names each generated test item by its operation's label, "METHOD /path".
    # Kept as labels and matched with the contract only for the summary: a project testing other
    # APIs with schemathesis pays nothing per test, and a bad contract setting cannot break a test.
    label = getattr(item, "operation_label", None)
    if call.when == "call" and isinstance(label, str) and not report.skipped:
        item.config.stash.setdefault(SCHEMATHESIS_LABELS, set()).add(label)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker hands its share to the controller (pytest_testnodedown)
        exercised: set[str] = config.stash[EXERCISED]
        labels: set[str] = config.stash.get(SCHEMATHESIS_LABELS, set())
        workeroutput["talon_exercised"] = sorted(exercised)
        workeroutput["talon_labels"] = sorted(labels)
        workeroutput["talon_active"] = config.stash[ACTIVE]
        return
    threshold = _threshold(config)
    if threshold is None or config.option.collectonly or session.exitstatus != pytest.ExitCode.OK:
        return  # a failed run keeps its own exit status; collecting is not running
    try:
        counted = tally(config)
    except Exception as exc:  # the contract cannot be loaded: the threshold cannot be met
        config.stash[_FAILED_UNDER] = (
            f"FAIL: --talon-coverage-fail-under: the contract cannot be loaded: {exc}"
        )
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    covered = len(counted.covered) if counted else 0
    documented = counted.documented if counted else len(operations_by_route(config))
    wanted, share = threshold
    reached = 100.0 * covered / documented if share and documented else covered
    if reached < wanted:
        config.stash[_FAILED_UNDER] = (
            f"FAIL: {covered} of {documented} operations exercised"
            + (f" ({reached:.0f}%)" if share else "") + f", under --talon-coverage-fail-under {wanted:g}{'%' if share else ''}"
        )  # fmt: skip
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker finished; merge what it exercised."""
    output = getattr(node, "workeroutput", {})
    config: pytest.Config = node.config
    config.stash[EXERCISED].update(output.get("talon_exercised", ()))
    config.stash.setdefault(SCHEMATHESIS_LABELS, set()).update(output.get("talon_labels", ()))
    if output.get("talon_active"):
        config.stash[ACTIVE] = True


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    try:
        counted = tally(config)
    except Exception as exc:  # a bad contract setting: said here, the run's result stands
        terminalreporter.write_line(f"talon-contracts coverage: the contract cannot be loaded: {exc}")
        return
    failed = config.stash.get(_FAILED_UNDER, None)
    if counted is None and failed is None:
        return
    terminalreporter.section("talon-contracts coverage")
    if counted is not None:
        terminalreporter.write_line(f"{len(counted.covered)} of {counted.documented} operations exercised")
        if counted.missing:
            terminalreporter.write_line("not exercised: " + ", ".join(counted.missing))
    if failed is not None:
        terminalreporter.write_line(failed, red=True, bold=True)
