"""What an upgrade check found, as one outcome a renderer prints (``replay.upgrade.render``).

Parts, each optional but the first: the spec diff after the team's policies (``Judgement``), its
impact on recorded traffic (``TrafficImpact``), what our overlay does on the new document
(``ActionResult`` per action) and a replay of the traffic against a baseline and a candidate
(``ReplaySummary``). Every part has findings with a level; the exit code is 1 when one is at or
above ``--fail-on``, 2 when a part could not be done (unreadable recordings, an unreachable target).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contracts.overlay import ActionResult
from contracts.specdiff.model import Change
from contracts.specdiff.policy import Judgement
from contracts.specdiff.rules import Level
from replay.upgrade.traffic import TrafficImpact

if TYPE_CHECKING:  # the replay engine loads only when a replay runs (about 120 ms of imports)
    from replay.engine import ReplaySummary

__all__ = ["COMPARE_LEVEL", "OVERLAY_LEVELS", "UpgradeReport"]

#: How an overlay action that no longer does its job counts: the vendor moved what it corrects
#: (WARN: our correction is lost), or says the same now (INFO: the action can go).
OVERLAY_LEVELS = {"unmatched": Level.WARN, "redundant": Level.INFO}
COMPARE_LEVEL = Level.ERR  # the candidate answers a recorded call differently


@dataclass(slots=True)
class UpgradeReport:
    judgement: Judgement
    command: str = "diff"  # or "upgrade-check"
    traffic: TrafficImpact | None = None
    traffic_paths: tuple[str, ...] = ()
    overlay: list[ActionResult] | None = None
    overlay_source: str | None = None
    compare: ReplaySummary | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # quirks loading tolerated

    @property
    def fail_on(self) -> Level:
        return self.judgement.fail_on

    def hits(self, index: int) -> int | None:
        """Recorded interactions the change at ``index`` touches (None without traffic)."""
        return None if self.traffic is None else self.traffic.hits(index).count

    def ordered(self) -> list[tuple[str, list[tuple[int, Change]]]]:
        """Changes grouped by operation: what hits the traffic first, then the most severe."""
        groups: dict[str, list[tuple[int, Change]]] = {}
        for index, change in enumerate(self.judgement.diff.changes):
            groups.setdefault(change.operation_id, []).append((index, change))

        def weight(index: int, change: Change) -> tuple[int, int, int]:
            hits = self.hits(index) or 0
            return (0 if hits else 1, -(0 if change.ignored else int(change.level)), -hits)

        for items in groups.values():
            items.sort(key=lambda item: (*weight(*item), item[1].location, item[1].rule_id))
        return sorted(groups.items(), key=lambda group: (*weight(*group[1][0]), group[0]))

    def in_traffic(self, operation_id: str, old_operation_id: str | None = None) -> bool:
        if self.traffic is None:
            return True
        if operation_id == "*":  # a change of every operation (the base path)
            return self.traffic.interactions > self.traffic.unmatched
        return bool(self.traffic.per_operation.get(old_operation_id or operation_id))

    @property
    def overlay_findings(self) -> list[tuple[Level, ActionResult]]:
        return [(OVERLAY_LEVELS[r.status], r) for r in self.overlay or () if r.status in OVERLAY_LEVELS]

    @property
    def compare_findings(self) -> int:
        if self.compare is None:
            return 0
        from replay.engine import FINDINGS

        return sum(self.compare.counts.get(kind, 0) for kind in FINDINGS)

    @property
    def failing(self) -> int:
        """Findings at or above ``fail_on``, every part counted."""
        count = len(self.judgement.failing)
        if self.traffic is not None:
            count += sum(
                n
                for level, n in self.traffic.rejected_levels.items()
                if level is not None and level >= self.fail_on
            )
        count += sum(1 for level, _ in self.overlay_findings if level >= self.fail_on)
        if self.fail_on <= COMPARE_LEVEL:
            count += self.compare_findings
        return count

    @property
    def broken(self) -> list[str]:
        """Why a part could not be done completely (exit 2)."""
        reasons = []
        if self.traffic is not None:
            reasons += self.traffic.unreadable + [str(p) for p in self.traffic.problems]
        if self.compare is not None:
            reasons += self.compare.unreadable + [str(p) for p in self.compare.problems]
        return reasons

    @property
    def exit_code(self) -> int:
        if self.compare is not None and self.compare.interrupted:
            return 130
        if self.broken:
            return 2
        if self.failing:
            return 1
        # a failure of the tool on an interaction of the comparison: never a finding, but not clean
        return 2 if self.compare is not None and self.compare.counts.get("malfunction") else 0
