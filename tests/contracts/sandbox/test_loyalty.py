from __future__ import annotations

import datetime as dt

from contracts.client import IntegrationClient
from contracts.sandbox import Sandbox
from tests.contracts.sandbox.conftest import BEANS, fails, send, session

NOW = dt.datetime.now(dt.timezone.utc)


def _close_order(api: IntegrationClient, sid: str = "s1", profile: str = "cust-1") -> None:
    session(
        api, sid, profile=profile, items=[BEANS], state="closed"
    )  # 49 points now, 20 bean points in 14 days


def test_closing_books_points_active_and_pending(api: IntegrationClient) -> None:
    _close_order(api)
    balances = api.get_loyalty_balances(1, "cust-1").data
    assert balances["balance"] == {
        "activePoints": 49.0,
        "pendingPoints": 0.0,
        "spentPoints": 0.0,
        "expiredPoints": 0.0,
    }
    assert balances["subledgerBalances"]["beans"]["pendingPoints"] == 20
    in_a_month = api.get_loyalty_balances(1, "cust-1", end_date=NOW + dt.timedelta(days=30)).data
    assert in_a_month["subledgerBalances"]["beans"]["activePoints"] == 20
    in_two_years = api.get_loyalty_balances(1, "cust-1", end_date=NOW + dt.timedelta(days=730)).data
    assert in_two_years["subledgerBalances"]["beans"]["expiredPoints"] == 20
    only_beans = api.get_loyalty_balances(1, "cust-1", subledger_id="beans").data
    assert list(only_beans["subledgerBalances"]) == ["beans"]
    yesterday = api.get_loyalty_balances(1, "cust-1", end_date=(NOW - dt.timedelta(days=1)).date()).data
    assert yesterday["balance"]["activePoints"] == 0  # a bare date means 00:00 UTC


def test_points_and_transactions_lists(api: IntegrationClient) -> None:
    _close_order(api)
    active = api.get_loyalty_program_profile_points(1, "cust-1").data
    assert [(p["amount"], p["startDate"], p["expiryDate"]) for p in active["data"]] == [
        (49.0, "immediate", "unlimited")
    ]
    assert active["data"][0]["customerSessionId"] == "s1"
    pending = api.get_loyalty_program_profile_points(1, "cust-1", status="pending").data["data"]
    assert pending[0]["subledgerId"] == "beans" and pending[0]["startDate"].startswith(
        str((NOW + dt.timedelta(days=14)).date())
    )
    assert api.get_loyalty_program_profile_points(1, "cust-1", status="expired").data == {
        "hasMore": False,
        "data": [],
    }
    transactions = api.get_loyalty_program_profile_transactions(1, "cust-1").data["data"]
    assert [(t["type"], t["amount"], t["subledgerId"]) for t in transactions] == [
        ("addition", 20, "beans"),
        ("addition", 49, ""),
    ]
    assert (
        transactions[0]["rulesetId"] == 1004 and transactions[0]["ruleName"] == "10 bean points per 1 kg bag"
    )
    assert (
        api.get_loyalty_program_profile_transactions(1, "cust-1", loyalty_transaction_type="import").data[
            "data"
        ]
        == []
    )
    assert (
        len(api.get_loyalty_program_profile_transactions(1, "cust-1", subledger_id="beans").data["data"]) == 1
    )
    assert (
        api.get_loyalty_program_profile_transactions(
            1, "cust-1", start_date=(NOW + dt.timedelta(days=1)).date()
        ).data["data"]
        == []
    )


def test_pagination_and_maxima(api: IntegrationClient, raw: IntegrationClient) -> None:
    for _ in range(7):
        api.track_event_v2({"type": "pageViewed", "profileId": "reader"})
    page = api.get_loyalty_program_profile_transactions(1, "reader", page_size=3, skip=0).data
    assert page["hasMore"] is True and len(page["data"]) == 3
    last = api.get_loyalty_program_profile_transactions(1, "reader", page_size=3, skip=6).data
    assert last["hasMore"] is False and len(last["data"]) == 1
    ids = [t["id"] for t in api.get_loyalty_program_profile_transactions(1, "reader").data["data"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    error = fails(lambda: raw.get_loyalty_program_profile_transactions(1, "reader", page_size=51), 400)
    assert error.errors[0]["source"] == {"parameter": "pageSize"}
    fails(lambda: raw.get_loyalty_program_profile_points(1, "reader", page_size=0), 400)
    assert api.get_loyalty_card_transactions(2, "CARD-0001", page_size=1000).data["hasMore"] is False
    fails(lambda: raw.get_loyalty_card_transactions(2, "CARD-0001", page_size=1001), 400)


def test_imported_points_and_spending(api: IntegrationClient) -> None:
    assert api.get_loyalty_balances(1, "seed-alice").data["balance"]["activePoints"] == 500
    imported = api.get_loyalty_program_profile_transactions(
        1, "seed-alice", loyalty_transaction_type="import"
    ).data
    assert imported["data"][0]["amount"] == 500
    session(api, "s1", profile="seed-alice", items=[BEANS], attributes={"redeemPoints": True}, state="closed")
    balance = api.get_loyalty_balances(1, "seed-alice").data["balance"]
    assert balance["spentPoints"] == 100 and balance["activePoints"] == 500 - 100 + 49


def test_errors(api: IntegrationClient, raw: IntegrationClient, sandbox: Sandbox) -> None:
    fails(lambda: api.get_loyalty_balances(99, "seed-alice"), 404)
    fails(lambda: api.get_loyalty_balances(1, "nobody-at-all"), 404)
    error = fails(lambda: api.get_loyalty_balances(2, "seed-alice"), 400)  # program 2 is card-based
    assert error.errors[0]["source"] == {"parameter": "loyaltyProgramId"}
    fails(lambda: api.get_loyalty_card_balances(1, "CARD-0001"), 400)
    fails(lambda: api.get_loyalty_card_balances(2, "CARD-9999"), 404)
    fails(lambda: raw.get_loyalty_card_points(2, "CARD-0001", status="frozen"), 400)
    assert send(sandbox, "GET", "/v1/loyalty_programs/two/profile/seed-alice/balances").status_code == 400
    fails(lambda: raw.get_loyalty_balances(1, "seed-alice", end_date="next week"), 400)


def test_cards(api: IntegrationClient) -> None:
    balances = api.get_loyalty_card_balances(2, "CARD-0001").data
    assert balances["balance"]["activePoints"] == 250
    assert [p["integrationId"] for p in balances["profiles"]] == ["seed-alice"]
    points = api.get_loyalty_card_points(2, "CARD-0001").data["data"]
    assert points[0]["amount"] == 250
    session(api, "s1", profile="cust-1", items=[BEANS], loyaltyCards=["CARD-0001"], state="closed")
    transactions = api.get_loyalty_card_transactions(2, "CARD-0001").data["data"]
    assert transactions[0]["cardIdentifier"] == "CARD-0001" and transactions[0]["amount"] == 98
    card_points = api.get_loyalty_card_points(2, "CARD-0001").data["data"]
    assert card_points[0]["customerProfileID"] == "cust-1"


def test_linking_cards(api: IntegrationClient) -> None:
    api.update_customer_profile_v2("p1", {})
    api.update_customer_profile_v2("p2", {})
    card = api.link_loyalty_card_to_profile(2, "CARD-0003", {"integrationId": "p1"}).data
    assert card["programID"] == 2 and [p["integrationId"] for p in card["profiles"]] == ["p1"]
    again = api.link_loyalty_card_to_profile(2, "CARD-0003", {"integrationId": "p1"}).data
    assert len(again["profiles"]) == 1  # idempotent
    api.link_loyalty_card_to_profile(2, "CARD-0003", {"integrationId": "p2"})
    api.update_customer_profile_v2("p3", {})
    error = fails(lambda: api.link_loyalty_card_to_profile(2, "CARD-0003", {"integrationId": "p3"}), 400)
    assert "already has 2 linked profile(s)" in error.errors[0]["title"]
    fails(lambda: api.link_loyalty_card_to_profile(2, "CARD-0004", {"integrationId": "ghost"}), 404)
    fails(lambda: api.link_loyalty_card_to_profile(2, "CARD-4242", {"integrationId": "p1"}), 404)
    fails(lambda: api.link_loyalty_card_to_profile(7, "CARD-0004", {"integrationId": "p1"}), 404)
    inventory = api.get_customer_inventory("p1", loyalty=True).data
    assert [c["identifier"] for c in inventory["loyalty"]["cards"]] == ["CARD-0003"]


def test_card_subledgers_are_a_list(api: IntegrationClient, sandbox: Sandbox) -> None:
    both = api.get_loyalty_card_balances(2, "CARD-0001", subledger_id=["", "vip"]).data
    assert (
        set(both["subledgerBalances"]) == {"", "vip"}
        and both["subledgerBalances"]["vip"]["activePoints"] == 0
    )
    raw = send(sandbox, "GET", "/v1/loyalty_programs/2/cards/CARD-0001/transactions?subledgerId=,vip").json()
    assert [t["amount"] for t in raw["data"]] == [
        250
    ]  # the imported entry sits in the default ("") subledger
    assert api.get_loyalty_card_transactions(2, "CARD-0001", subledger_id=["vip"]).data["data"] == []


def test_a_refunded_redemption_is_no_longer_spent(api: IntegrationClient) -> None:
    session(api, "s1", profile="seed-alice", items=[BEANS], attributes={"redeemPoints": True}, state="closed")
    assert api.get_loyalty_balances(1, "seed-alice").data["balance"]["spentPoints"] == 100
    session(api, "s1", profile="seed-alice", items=[BEANS], state="cancelled")
    balance = api.get_loyalty_balances(1, "seed-alice").data["balance"]
    assert (balance["spentPoints"], balance["activePoints"]) == (0, 500)


def test_tentative_balances_of_an_open_session(api: IntegrationClient) -> None:
    state = session(api, "s1", items=[BEANS], wanted=("loyalty",))
    program = state["loyalty"]["programs"]["1"]
    assert program["ledger"]["tentativeCurrentBalance"] == 49
    assert program["subLedgers"]["beans"]["tentativePendingBalance"] == 20  # bean points start in 14 days
    assert program["subLedgers"]["beans"]["pendingBalance"] == 0


def test_transaction_types(api: IntegrationClient) -> None:
    session(api, "s1", profile="seed-bruno", items=[BEANS], state="closed")
    kinds = {
        kind: [t["name"] for t in api.get_loyalty_program_profile_transactions(
            1, "seed-bruno", loyalty_transaction_type=kind).data["data"]]
        for kind in ("manual", "session", "import")
    }  # fmt: skip
    assert kinds == {"manual": ["Goodwill bonus"], "session": ["Bean points", "1 point per euro"],
                     "import": ["Imported balance"]}  # fmt: skip
