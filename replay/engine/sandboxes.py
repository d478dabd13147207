"""Embedded sandboxes as replay targets: one per worker (a :class:`StoryTarget`), reset before
every story, so that each story replays from the seed it was recorded against."""

from __future__ import annotations

from collections.abc import Callable

from contracts.spec import Contract
from replay.engine.options import StoryTarget

__all__ = ["sandbox_factory", "seed_api_key", "seed_ids"]


def sandbox_factory(contract: Contract) -> Callable[[], StoryTarget]:
    """What ``Replayer(own_target=...)`` calls once per worker: a started sandbox of its own."""

    def start() -> StoryTarget:
        from contracts.sandbox import Sandbox  # the sandbox's imports are paid by embedded replays only

        return Sandbox(contract=contract).start()

    return start


def seed_api_key() -> str:
    """The key the default seed's sandbox accepts."""
    from contracts.sandbox.seed import load_seed

    return load_seed().api_key


def seed_ids() -> frozenset[str]:
    """The client-chosen ids the default seed creates (its customer profiles): state that exists
    before any story, which a replay must not namespace (a story reading ``seed-alice`` means the
    seeded one, with its points)."""
    from contracts.sandbox.seed import load_seed

    return frozenset(str(profile["integrationId"]) for profile in load_seed().profiles)
