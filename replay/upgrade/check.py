"""The work of ``talon-contracts diff`` and ``upgrade-check``, without the command line: load both
documents, diff them, judge the diff by the team's policies, and (when asked) read the traffic,
check our overlay on the new document and replay the traffic against a baseline and a candidate."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.errors import ContractLoadError, ContractWarning
from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT, Contract, load_contract
from contracts.specdiff.operations import Scope, diff_contracts
from contracts.specdiff.policy import IgnoreEntry, judge
from contracts.specdiff.rules import Level
from contracts.specdiff.sources import load_side
from replay.upgrade.report import UpgradeReport
from replay.upgrade.traffic import traffic_impact

if TYPE_CHECKING:
    from replay.engine import ReplaySummary

__all__ = ["CompareTargets", "DiffRequest", "run"]

PROGRESS_EVERY = 2.0  # seconds between progress lines while the traffic is read


@dataclass(frozen=True, slots=True)
class CompareTargets:
    """Where ``upgrade-check`` replays the traffic: a baseline (None: embedded sandboxes) and a candidate."""

    candidate: str
    candidate_api_key: str
    baseline: str | None = None
    api_key: str = ""
    writes: str = "dry"
    concurrency: int = 4
    timeout: float = 30.0
    namespace: bool = True  # ids the stories choose get a fresh prefix on each non-embedded target


@dataclass(frozen=True, slots=True)
class DiffRequest:
    old: str  # a path or REV:path
    new: str
    overlay_old: bool = False
    overlay_new: bool = False
    overlay_file: Path = DEFAULT_OVERLAY
    all_operations: bool = False
    traffic: tuple[str, ...] = ()
    fail_on: Level = Level.ERR
    severity: dict[str, Level] = field(default_factory=dict)
    ignore: tuple[IgnoreEntry, ...] = ()
    check_overlay: bool = False  # report what our overlay does on the new document (needs overlay_new)
    compare: CompareTargets | None = None
    command: str = "diff"


def _load(spec: str, overlay: Path | None, warned: list[str]) -> Contract:
    contract = load_side(spec, overlay)
    warned += [str(issue) for issue in contract.issues]
    return contract


def _shipped(spec: str) -> bool:
    """Whether ``spec`` is the shipped vendor document (its operations are the scope: no second load)."""
    path = Path(spec)
    return path.is_file() and path.resolve() == DEFAULT_VENDOR_CONTRACT.resolve()


def run(request: DiffRequest, *, progress: Callable[[str], None] | None = None) -> UpgradeReport:
    """Everything the request asks for, in one report. Bad input raises ``TalonContractsError``."""
    started = time.monotonic()
    say = progress or (lambda message: None)
    warned: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)  # the report carries them
        old = _load(request.old, request.overlay_file if request.overlay_old else None, warned)
        new = _load(request.new, request.overlay_file if request.overlay_new else None, warned)
        scope = (
            None if request.all_operations else Scope.of(old if _shipped(request.old) else load_contract())
        )
    diff = diff_contracts(old, new, scope=scope)
    if scope is not None and not diff.operations:
        raise ContractLoadError(
            "neither document has any of the contract's 28 Integration API operations (by operationId or by "
            "method and path); compare them with --all-operations",
            source=f"{request.old}, {request.new}",
        )
    judgement = judge(diff, fail_on=request.fail_on, severity=request.severity, ignore=request.ignore)
    report = UpgradeReport(judgement, command=request.command, warnings=warned)
    if request.traffic:
        say(f"reading the traffic in {', '.join(request.traffic)}")
        shown = [time.monotonic()]

        def read(path: str, count: int) -> None:
            if time.monotonic() - shown[0] >= PROGRESS_EVERY:  # a line every few seconds, not per file
                shown[0] = time.monotonic()
                say(f"  {count} interaction(s) read, now in {path}")

        report.traffic = traffic_impact(request.traffic, diff, old, new, progress=read)
        report.traffic_paths = request.traffic
        say(f"read {report.traffic.interactions} interaction(s) in {report.traffic.files} file(s)")
    if request.check_overlay and new.overlay is not None:
        report.overlay = new.overlay_results  # what loading did: every action, applied or not
        report.overlay_source = new.overlay.source
    if request.compare is not None and request.traffic:
        say(f"replaying the traffic against {request.compare.baseline or 'embedded sandboxes'} and "
            f"{request.compare.candidate}")  # fmt: skip
        report.compare = compare(request.traffic, new, request.compare)
    report.seconds = time.monotonic() - started
    return report


def compare(paths: Sequence[str], contract: Contract, targets: CompareTargets) -> ReplaySummary:
    """``replay compare`` of ``paths``: the candidate's answers against the baseline's, checked against
    ``contract`` (the new one)."""
    from replay.engine import Replayer, ReplayOptions, new_namespace
    from replay.engine.sandboxes import sandbox_factory, seed_api_key

    embedded = targets.baseline is None
    namespace = "" if embedded or not targets.namespace else new_namespace()
    candidate_namespace = new_namespace() + "c-" if targets.namespace else ""
    options = ReplayOptions(
        target=targets.baseline or "embedded sandbox", api_key=targets.api_key or seed_api_key(),
        writes=targets.writes, namespace=namespace, candidate=targets.candidate,
        candidate_api_key=targets.candidate_api_key, candidate_namespace=candidate_namespace,
        concurrency=targets.concurrency, timeout=targets.timeout,
    )  # fmt: skip
    replayer = Replayer(contract, options, own_target=sandbox_factory(contract) if embedded else None)
    return replayer.run([Path(p) for p in paths])
