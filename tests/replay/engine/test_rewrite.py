"""replay.engine.rewrite: generated values carried forward, client-chosen ids namespaced and mapped back."""

from __future__ import annotations

from contracts.spec import Contract
from replay.engine.rewrite import StoryRewriter


def _send(
    rewriter: StoryRewriter, contract: Contract, method: str, url: str, body: object = None
) -> tuple[str, object]:
    match = contract.find(method, url)
    assert match is not None
    rewritten = rewriter.request(match, url, body)
    return rewritten.url, rewritten.body


def test_a_generated_audience_id_follows_into_later_requests(contract: Contract) -> None:
    rewriter = StoryRewriter()
    rewriter.learn("createAudienceV2", {"id": 3, "name": "fans"}, {"id": 41, "name": "fans"})
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/audiences/3", {"name": "new"})
    assert url == "http://h/v2/audiences/41"
    body = {"data": [{"action": "add", "profileIntegrationId": "ana", "audienceId": 3}]}
    _, sent = _send(rewriter, contract, "POST", "http://h/v2/customer_audiences", body)
    assert sent == {"data": [{"action": "add", "profileIntegrationId": "ana", "audienceId": 41}]}
    assert body["data"][0]["audienceId"] == 3  # the recorded request itself is untouched
    url, _ = _send(rewriter, contract, "GET", "http://h/v1/loyalty_programs/3/profile/ana/balances")
    assert url == "http://h/v1/loyalty_programs/3/profile/ana/balances"  # a 3 that is not the audience's


def test_generated_codes_follow_into_session_bodies(contract: Contract) -> None:
    rewriter = StoryRewriter()
    rewriter.learn("createReferral", {"code": "REF-AAAA"}, {"code": "REF-BBBB"})
    rewriter.learn(
        "updateCustomerSessionV2",
        {"createdCoupons": [{"value": "C-1"}]},
        {"createdCoupons": [{"value": "C-9"}]},
    )
    body = {"customerSession": {"referralCode": "REF-AAAA", "couponCodes": ["C-1", "WELCOME10"]}}
    _, sent = _send(rewriter, contract, "PUT", "http://h/v2/customer_sessions/s1", body)
    assert sent == {"customerSession": {"referralCode": "REF-BBBB", "couponCodes": ["C-9", "WELCOME10"]}}
    url, _ = _send(rewriter, contract, "POST", "http://h/v1/coupon_reservations/C-1", {"integrationIDs": []})
    assert url == "http://h/v1/coupon_reservations/C-9"


def test_ids_the_story_creates_are_namespaced_and_mapped_back(contract: Contract) -> None:
    rewriter = StoryRewriter(namespace="rp1-")
    url, sent = _send(rewriter, contract, "PUT", "http://h/v2/customer_profiles/ana", {"attributes": {}})
    assert url == "http://h/v2/customer_profiles/rp1-ana"
    body = {"customerSession": {"profileId": "ana", "cartItems": []}}
    url, sent = _send(rewriter, contract, "PUT", "http://h/v2/customer_sessions/order-1?dry=true", body)
    assert url == "http://h/v2/customer_sessions/rp1-order-1?dry=true"
    assert sent == {"customerSession": {"profileId": "rp1-ana", "cartItems": []}}
    live = {"customerSession": {"integrationId": "rp1-order-1", "profileId": "rp1-ana"},
            "message": "session 'rp1-order-1' of 'rp1-ana'"}  # fmt: skip
    assert rewriter.unmap(live) == {
        "customerSession": {"integrationId": "order-1", "profileId": "ana"},
        "message": "session 'order-1' of 'ana'",
    }


def test_ids_the_story_only_reads_are_left_alone(contract: Contract) -> None:
    """A seeded profile the story first reads (or names as an advocate) exists on the target already."""
    rewriter = StoryRewriter(namespace="rp1-")
    url, _ = _send(rewriter, contract, "GET", "http://h/v1/loyalty_programs/1/profile/seed-bruno/balances")
    assert url.endswith("/profile/seed-bruno/balances")
    _, sent = _send(
        rewriter,
        contract,
        "POST",
        "http://h/v1/referrals",
        {"campaignId": 3, "advocateProfileIntegrationId": "seed-bruno"},
    )
    assert sent == {"campaignId": 3, "advocateProfileIntegrationId": "seed-bruno"}
    # ... even when a later request of the story writes to it
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/customer_profiles/seed-bruno", {"attributes": {}})
    assert url.endswith("/customer_profiles/seed-bruno")


def test_without_a_namespace_nothing_changes(contract: Contract) -> None:
    rewriter = StoryRewriter()
    url, sent = _send(
        rewriter,
        contract,
        "PUT",
        "http://h/v2/customer_sessions/s1",
        {"customerSession": {"profileId": "ana"}},
    )
    assert url == "http://h/v2/customer_sessions/s1" and sent == {"customerSession": {"profileId": "ana"}}
    assert rewriter.unmap({"a": "s1"}) == {"a": "s1"}


def test_ids_with_reserved_characters_are_quoted(contract: Contract) -> None:
    rewriter = StoryRewriter(namespace="rp1-")
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/customer_profiles/a%2Fb", {})
    assert url == "http://h/v2/customer_profiles/rp1-a%2Fb"


def test_generated_values_explain_differences_only_where_they_flow() -> None:
    rewriter = StoryRewriter()
    rewriter.learn("createAudienceV2", {"id": 7}, {"id": 1})
    rewriter.learn("createReferral", {"code": "REF-AAAA-BBBB"}, {"code": "REF-CCCC-DDDD"})
    assert rewriter.explains(7, 1, ("customerProfile", "audienceMemberships", 0, "id"))
    assert rewriter.explains(7, 1, ("data", 0, "audienceId"))
    assert not rewriter.explains(7, 1.0, ("effects", 0, "props", "value"))  # 7 points became 1: a real change
    assert not rewriter.explains(7, 1, ("effects", 0, "props", "value"))
    assert rewriter.explains(
        "REF-AAAA-BBBB", "REF-CCCC-DDDD", ("effects", 2, "props", "value")
    )  # a code, anywhere
    assert rewriter.explains(
        "audience 'x' already exists (id 7)", "audience 'x' already exists (id 1)", ("message",)
    )
    assert not rewriter.explains("7 points awarded", "1 points awarded", ("message",))


def test_a_trailing_slash_survives_rewriting(contract: Contract) -> None:
    rewriter = StoryRewriter(namespace="n/s?-")
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/customer_sessions/s1/?a=1", {})
    assert url == "http://h/v2/customer_sessions/n%2Fs%3F-s1/?a=1"


def test_codes_made_for_several_advocates_pair_by_advocate_and_map_once(contract: Contract) -> None:
    # the server lists them in an order of its own, and a live code may be another recorded one
    rewriter = StoryRewriter()
    recorded = {"data": [{"advocateProfileIntegrationId": "a-1", "code": "F-1"},
                         {"advocateProfileIntegrationId": "a-2", "code": "F-2"}]}  # fmt: skip
    live = {"data": [{"advocateProfileIntegrationId": "a-2", "code": "F-3"},
                     {"advocateProfileIntegrationId": "a-1", "code": "F-2"}]}  # fmt: skip
    rewriter.learn("createReferralsForMultipleAdvocates", recorded, live)
    assert rewriter.generated["referral code"] == {"F-1": "F-2", "F-2": "F-3"}
    body = {"customerSession": {"referralCode": "F-1"}}
    _, sent = _send(rewriter, contract, "PUT", "http://h/v2/customer_sessions/s1", body)
    assert sent == {"customerSession": {"referralCode": "F-2"}}  # advocate 1's, not F-2's F-3


def test_ids_that_existed_before_the_story_are_not_namespaced(contract: Contract) -> None:
    rewriter = StoryRewriter("ns-", keep=frozenset({"seed-alice"}))
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/customer_profiles/seed-alice", {"attributes": {}})
    assert url == "http://h/v2/customer_profiles/seed-alice"  # kept: its seeded points are the story's
    url, _ = _send(rewriter, contract, "PUT", "http://h/v2/customer_profiles/ana", {"attributes": {}})
    assert url == "http://h/v2/customer_profiles/ns-ana"  # created by the story
    _, sent = _send(
        rewriter, contract, "DELETE", "http://h/v1/coupon_reservations/C", {"integrationIDs": ["ana"]}
    )
    assert sent == {"integrationIDs": ["ns-ana"]}  # the reservation deleted is the one made for ns-ana
