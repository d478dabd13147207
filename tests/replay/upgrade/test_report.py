"""replay.upgrade.report: the exit code of an upgrade check, part by part."""

from __future__ import annotations

from contracts.specdiff.model import SpecDiff
from contracts.specdiff.policy import judge
from contracts.specdiff.rules import Level
from replay.engine import ReplaySummary
from replay.upgrade.report import UpgradeReport


def _report(**counts: int) -> UpgradeReport:
    summary = ReplaySummary("candidate")
    summary.counts.update(counts)
    return UpgradeReport(judge(SpecDiff("a", "b", "1", "2"), fail_on=Level.ERR), compare=summary)


def test_a_malfunction_of_the_comparison_exits_2_when_nothing_else_failed() -> None:
    assert _report(same=3).exit_code == 0
    assert _report(same=2, malfunction=1).exit_code == 2  # a bug of the tool: not clean, not a finding
    assert _report(changed=1, malfunction=1).exit_code == 1  # a finding says more
    interrupted = _report(malfunction=1)
    assert interrupted.compare is not None
    interrupted.compare.interrupted = True
    assert interrupted.exit_code == 130
