"""Outcomes as bytes between a worker and the master, and back into the same outcomes.

The engine's forked processes already send outcomes to their parent as pickles of
``processes.packed`` (the bulk as plain tuples, findings whole): the master gets exactly the
outcomes a local replay makes, which is what a verification run must show. Between machines a pickle
is code, though: whoever reaches the master's port could make it run anything. So the master reads
them with an unpickler that builds only the toolkit's outcome types and plain values
(:data:`_ALLOWED`); anything else is a :class:`WireError`, as the Python documentation's
"Restricting Globals" recipe does. A hand-written JSON form of every outcome type (diffs, noise
rules, silences, violations) would be a second description of them to keep in step.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Sequence
from typing import Any

from replay.engine.outcomes import Outcome
from replay.engine.processes import packed, unpacked

__all__ = ["MAX_BATCH", "WireError", "dumps_outcomes", "loads_outcomes"]

#: a batch inflated is at most this (outcomes of findings keep their answers: 64 MiB bounds them)
MAX_BATCH = 256 * 1024 * 1024

#: what a batch may build: the outcome types and the plain values inside them, by exact name (a
#: module's every name would let a batch call its functions, ``atomic_write`` among them)
_ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("replay.engine.outcomes", "Outcome"),
    ("replay.engine.changes", "ExchangeDiff"),
    ("replay.engine.changes", "Change"),
    ("replay.rules.noise", "NoiseRule"),
    ("replay.paths", "PathPattern"),
    ("replay.paths", "_Step"),  # a PathPattern's parts
    ("contracts.errors", "Violation"),
    ("contracts.errors", "_rebuild_violation"),  # a Violation's own reducer: builds one from its fields
    ("contracts.http", "HttpRequest"),
    ("contracts.http", "HttpResponse"),
    ("contracts.http", "NormalizedHeaders"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("collections", "Counter"),
})  # fmt: skip


class WireError(ValueError):
    """Bytes that are not a batch of outcomes (another program on the port, a broken worker)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise WireError(f"a batch of outcomes holds {module}.{name}, which is not an outcome's; refused")


def dumps_outcomes(outcomes: Sequence[Outcome]) -> bytes:
    """A batch of outcomes, compressed (most of a batch is the same URLs and reasons over again)."""
    return zlib.compress(pickle.dumps([packed(o) for o in outcomes], pickle.HIGHEST_PROTOCOL), 1)


def loads_outcomes(data: bytes) -> list[Outcome]:
    """The outcomes of :func:`dumps_outcomes`; anything else is a :class:`WireError`."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_BATCH)
        if inflater.unconsumed_tail:
            raise WireError(f"a batch of outcomes inflates past {MAX_BATCH:,} bytes; refused")
        items = _Unpickler(io.BytesIO(raw)).load()
    except WireError:
        raise
    except Exception as exc:  # zlib.error, pickle.UnpicklingError, EOFError, a bad tuple ...
        raise WireError(f"not a batch of outcomes: {type(exc).__name__}: {exc}") from None
    if not isinstance(items, list):
        raise WireError(f"not a batch of outcomes: a {type(items).__name__}")
    try:
        return [unpacked(item) for item in items]
    except (TypeError, ValueError) as exc:
        raise WireError(f"not a batch of outcomes: {exc}") from None
