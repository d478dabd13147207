"""The replay engine: re-send recorded stories to a live target and tell what changed.

The names other layers use are here; the modules behind them each have one job (see
``ARCHITECTURE.md``): ``outcomes`` (what happened to an interaction), ``options``, ``changes`` (what a diff finds), ``pipeline``
(one interaction), ``stories`` (one story), the schedulers ``threads``, ``multiplexed`` and
``processes``, ``runner`` (:class:`Replayer`), and the machinery they use: ``transport``,
``rewrite``, ``diff``, ``noise``.
"""

from replay.engine.options import (
    WRITE_POLICIES,
    ReplayOptions,
    StoryTarget,
    default_writes,
    is_loopback,
    new_namespace,
)
from replay.engine.outcomes import FINDINGS, KEPT, OUTCOMES, Kind, Outcome, ReplaySummary
from replay.engine.runner import Replayer

__all__ = [
    "FINDINGS",
    "KEPT",
    "OUTCOMES",
    "WRITE_POLICIES",
    "Kind",
    "Outcome",
    "ReplayOptions",
    "ReplaySummary",
    "Replayer",
    "StoryTarget",
    "default_writes",
    "is_loopback",
    "new_namespace",
]
