"""The replay engine: re-send recorded stories to a live target and tell what changed.

The names other layers use are here; the modules behind them each have one job (see
``ARCHITECTURE.md``).
"""

from replay.engine.runner import (
    FINDINGS,
    KEPT,
    OUTCOMES,
    WRITE_POLICIES,
    Kind,
    Outcome,
    ReplayOptions,
    Replayer,
    ReplaySummary,
    StoryTarget,
    default_writes,
    is_loopback,
    new_namespace,
)

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
