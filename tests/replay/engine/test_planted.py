"""Planted changes (tests/replay/planted.py) over the whole corpus: every one found, nothing else,
in `run` (against the recording) and in `compare` (a baseline sandbox against the planted one)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from contracts.spec import Contract
from replay.cassettes import cassette_files
from replay.engine import Outcome, Replayer, ReplayOptions
from replay.engine.sandboxes import sandbox_factory, seed_api_key

from ..helpers import CORPUS
from ..planted import PLANTS, PlantedTarget


def _scores(outcomes: list[Outcome]) -> tuple[float, float, list[str]]:
    """(recall, precision, what went wrong)."""
    wrong: list[str] = []
    planted: dict[tuple[str, str], Outcome] = {}
    for outcome in outcomes:
        key = (outcome.method, urlsplit(outcome.url).path)
        if any((p.method, p.path) == key for p in PLANTS) and key not in planted:
            planted[key] = outcome
    found = 0
    for plant in PLANTS:
        outcome = planted.get((plant.method, plant.path))
        if outcome is None:
            wrong.append(f"{plant.name}: never sent")
        elif plant.kind is not None and outcome.kind != plant.kind:
            wrong.append(f"{plant.name}: {outcome.kind}, not {plant.kind}")
        elif plant.kind is None and outcome.finding != plant.finding:
            wrong.append(f"{plant.name}: {outcome.kind}")
        else:
            found += plant.finding or plant.kind is not None
    expected = sum(p.finding or p.kind is not None for p in PLANTS)
    reported = [o for o in outcomes if o.finding or o.kind == "additive"]
    false = [o for o in reported if o not in planted.values()]
    wrong += [f"false positive: {o.where} {o.kind} {o.reason or ''}" for o in false]
    precision = (len(reported) - len(false)) / len(reported) if reported else 1.0
    return found / expected, precision, wrong


@pytest.mark.parametrize("mode", ["run", "compare"])
def test_planted_changes_are_found_with_recall_and_precision_one(contract: Contract, mode: str) -> None:
    outcomes: list[Outcome] = []
    options = ReplayOptions(target="embedded sandbox", api_key=seed_api_key(), concurrency=2)
    planted = lambda: PlantedTarget(contract)  # noqa: E731
    if mode == "run":
        replayer = Replayer(contract, options, outcomes.append, own_target=planted)
    else:
        replayer = Replayer(contract, options, outcomes.append, own_target=sandbox_factory(contract),
                            own_candidate=planted)  # fmt: skip
    replayer.run(cassette_files([CORPUS]))
    recall, precision, wrong = _scores(outcomes)
    assert (recall, precision, wrong) == (1.0, 1.0, [])
    assert len(outcomes) == 149
    # the value changed inside an effect the server moved: one change, at its key, in both coordinates
    (moved,) = [o for o in outcomes if o.url.endswith("/v2/customer_sessions/friend-order") and o.diff]
    assert moved.diff is not None
    (change,) = [c for c in moved.diff.real]
    assert change.kind == "changed" and change.pointer != change.live_pointer
