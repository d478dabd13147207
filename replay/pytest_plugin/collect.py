"""Cassettes as tests: each recorded interaction is an item checked against the contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from replay.pytest_plugin.nextrelease import check_next
from replay.pytest_plugin.settings import ACTIVE, EXERCISED, contract_of

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = ["CassetteFile", "InteractionItem", "UnreadableInteraction"]

_CASSETTE_ROOTS = pytest.StashKey[list[Path]]()  # where cassettes are collected as tests


def _collects_cassettes(config: pytest.Config, path: Path) -> bool:
    """Cassettes are collected under --talon-verify-cassettes directories, and under a directory
    named ``cassettes`` named on the command line (a project's other YAML files never are). Asked
    for every file: the readers (~270 ms of imports) load only for a file under such a root."""
    resolved = path.resolve()
    roots = config.stash.get(_CASSETTE_ROOTS, None)
    if roots is None:
        roots = [Path(d).resolve() for d in config.getoption("talon_verify_cassettes")]
        for arg in config.args:
            given = Path(str(arg).split("::", 1)[0]).resolve()
            if given.is_file() or (given.is_dir() and "cassettes" in given.parts[-1:]):
                roots.append(given)
        config.stash[_CASSETTE_ROOTS] = roots
    if not any(resolved == root or root in resolved.parents for root in roots):
        return False
    from replay.cassettes import CASSETTE_SUFFIXES

    return path.suffix.lower() in CASSETTE_SUFFIXES


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _collects_cassettes(parent.config, file_path):
        return CassetteFile.from_parent(parent, path=file_path)
    return None


class CassetteFile(pytest.File):
    """A recorded capture: each interaction is a test item."""

    def collect(self) -> Iterator[pytest.Item]:
        from replay.cassettes import read_interactions
        from replay.cassettes.model import ReadProblem

        contract = contract_of(self.config)
        self.config.stash[ACTIVE] = True
        for item in read_interactions(self.path):
            if isinstance(item, ReadProblem):
                yield UnreadableInteraction.from_parent(self, name=f"unreadable-{item.index if item.index is not None else 'file'}",
                                                        problem=str(item))  # fmt: skip
                continue
            match = contract.find(item.request.method, item.request.url)
            name = f"{item.index}-{match.operation.operation_id if match else 'no-operation'}"
            yield InteractionItem.from_parent(self, name=name, interaction=item, contract=contract)


class InteractionItem(pytest.Item):
    """One recorded exchange, checked against the contract (negative exchanges as ``talon-contracts verify`` does)."""

    def __init__(self, *, interaction: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interaction = interaction
        self.contract = contract

    def runtest(self) -> None:
        from contracts.errors import ContractViolationError
        from replay.verify import check

        violations, _ = check(self.contract, self.interaction)
        match = self.contract.find(self.interaction.request.method, self.interaction.request.url)
        if match is not None:
            self.config.stash[EXERCISED].add(match.operation.operation_id)
        if violations:
            raise ContractViolationError(violations)
        check_next(self.config, self.nodeid, self.interaction)  # what conforms today, against the next

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        request = self.interaction.request
        lines = [f"{self.interaction.where}: {request.method} {request.url}"]
        violations = getattr(excinfo.value, "violations", None)
        if violations:
            lines += [f"  {v}" for v in violations]
        else:
            lines.append(f"  {excinfo.value}")
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.interaction.line or 1) - 1, self.name


class UnreadableInteraction(pytest.Item):
    def __init__(self, *, problem: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        raise AssertionError(self.problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"unreadable: {self.problem}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name
