"""replay.engine.shared: what shared state explains, near an entity and away from it."""

from __future__ import annotations

from pathlib import Path

from contracts.spec import Contract
from replay.engine.changes import Change, ExchangeDiff
from replay.engine.outcomes import Outcome
from replay.engine.shared import SharedState

from ..helpers import CORPUS


def _outcome(source: Path, url: str, operation: str) -> Outcome:
    return Outcome(str(source), 0, None, operation, "GET", url, "changed")


def _diff(*changes: Change, status: tuple[int, int] | None = None) -> ExchangeDiff:
    return ExchangeDiff(status, (), changes)


def test_away_from_the_entity_only_what_state_changes_is_explained(contract: Contract) -> None:
    story = CORPUS / "gdpr-deletion.yaml"  # its carts read the catalog catalog-sync reprices
    shared = SharedState(contract, sorted(CORPUS.glob("*.yaml")))
    url = "http://h/v1/customer_profiles/zoe/inventory"
    total = Change(("profile", "totalSales"), "changed", 49.8, 47.8)
    assert shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(total)) == (
        "shared state: the catalog is changed by catalog-sync.yaml"
    )
    renamed = Change(("profile", "name"), "changed", "Zoe", "Zoë")
    assert shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(total, renamed)) is None
    retyped = Change(("profile", "totalSales"), "type_changed", 49.8, "49.8")
    assert shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(retyped)) is None
    gained = Change(("coupons", 2), "added", None, {"value": "X"})
    assert shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(gained)) is not None
    earlier = Change(("profiles", 0, "integrationId"), "changed", "zoe", "rp0a1b2c-7-zoe")
    assert shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(earlier)) is not None
    status = Change(("message",), "added", None, "gone")
    assert (
        shared.explain(_outcome(story, url, "getCustomerInventory"), _diff(status, status=(200, 404))) is None
    )


def test_near_the_entity_any_change_but_its_type_is_explained(contract: Contract) -> None:
    story = CORPUS / "loyalty-card.yaml"  # links CARD-0002: a second run finds it linked
    shared = SharedState(contract, sorted(CORPUS.glob("*.yaml")))
    url = "http://h/v2/loyalty_programs/2/cards/CARD-0002/link_profile"
    refused = _diff(Change(("status",), "removed", "active", None), status=(200, 400))
    reason = shared.explain(_outcome(story, url, "linkLoyaltyCardToProfile"), refused)
    assert reason is not None and "loyalty card CARD-0002" in reason and "this story" in reason


def test_a_story_that_reads_nothing_shared_is_never_explained(contract: Contract) -> None:
    story = CORPUS / "profiles-and-events.yaml"  # its own profiles and events, no cart, no coupon
    shared = SharedState(contract, sorted(CORPUS.glob("*.yaml")))
    number = Change(("id",), "changed", 1, 2)
    assert shared.explain(_outcome(story, "http://h/v2/events", "trackEventV2"), _diff(number)) is None


def test_a_refused_write_changes_nothing(contract: Contract) -> None:
    # revoked-api-key.yaml syncs the catalog with a revoked key (401): not a writer of it
    shared = SharedState(contract, sorted(CORPUS.glob("*.yaml")))
    story = CORPUS / "cancelled-order.yaml"
    price = Change(("effects", 0, "props", "value"), "changed", 49.0, 47.0)
    reason = shared.explain(
        _outcome(story, "http://h/v2/customer_sessions/x", "updateCustomerSessionV2"), _diff(price)
    )
    assert reason == "shared state: the catalog is changed by catalog-sync.yaml"


def test_stories_that_change_what_others_read_run_after_them(contract: Contract) -> None:
    files = sorted(CORPUS.glob("*.yaml"))
    phases = SharedState(contract, files).phases(list(enumerate(files, start=1)))
    order = {path.name: number for number, phase in enumerate(phases) for _, path in phase}
    assert sorted(order) == sorted(f.name for f in files)  # every story, once
    for reader in ("gdpr-deletion.yaml", "partial-return-and-reopen.yaml", "cancelled-order.yaml"):
        assert order[reader] < order["catalog-sync.yaml"]  # they read the catalog it reprices
    # a cycle over WELCOME10 (both change its counters, both read them): one at a time, not together
    assert order["coupon-reservations.yaml"] != order["checkout-coupon-referral.yaml"]
    assert order["profiles-and-events.yaml"] == 0  # shares nothing: first, with the others like it
