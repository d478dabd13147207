"""Whose story an exchange is, and sampling by story."""

from __future__ import annotations

import pytest

from replay.capture import Sampler, Stories, parse_sample
from replay.talon.customers import SHARED, Party, parties_of


def test_the_body_names_the_customer_and_the_path_the_session() -> None:
    named, carried = parties_of("updateCustomerSessionV2", {"customerSessionId": "s1"},
                                {"customerSession": {"profileId": "ana"}})  # fmt: skip
    assert (named, carried) == (Party("profile", "ana"), Party("session", "s1"))
    assert parties_of("updateCustomerProfileV2", {"integrationId": "ana"}, {}) == (
        None,
        Party("profile", "ana"),
    )
    assert parties_of("updateCustomerProfilesV2", {}, {"customerProfiles": []}) == (None, None)


def test_a_session_keeps_the_story_it_was_first_seen_in() -> None:
    stories = Stories(b"k")
    update = stories.story(
        "updateCustomerSessionV2", {"customerSessionId": "s1"}, {"customerSession": {"profileId": "ana"}}
    )
    assert update == stories.name(Party("profile", "ana"))
    assert stories.story("returnCartItems", {"customerSessionId": "s1"}, {}) == update
    assert stories.story("getCustomerInventory", {"integrationId": "ana"}, None) == update
    anonymous = stories.story("updateCustomerSessionV2", {"customerSessionId": "s2"}, {"customerSession": {}})
    assert anonymous == stories.name(Party("session", "s2"))
    # named later, the session stays in its story: its calls must replay in order
    assert stories.story("updateCustomerSessionV2", {"customerSessionId": "s2"},
                         {"customerSession": {"profileId": "bob"}}) == anonymous  # fmt: skip
    assert stories.story("updateCustomerProfilesV2", {}, {}) == "shared" == stories.name(SHARED)


def test_story_names_are_keyed_digests_never_ids() -> None:
    one, other = Stories(b"one"), Stories(b"other")
    party = Party("profile", "ana@shop.example")
    assert one.name(party) != other.name(party) and "ana" not in one.name(party)
    assert one.name(party).startswith("profile-") and one.name(party) == Stories(b"one").name(party)


def test_the_table_of_parties_is_bounded() -> None:
    stories = Stories(b"k", limit=10)
    for n in range(50):
        stories.story("returnCartItems", {"customerSessionId": f"s{n}"}, {})
    assert len(stories.bound) == 10


def test_sampling_keeps_about_the_share_asked_and_always_the_same_stories() -> None:
    sampler = Sampler(0.1)
    names = [Stories(b"k").name(Party("profile", str(n))) for n in range(10_000)]
    kept = [n for n in names if sampler.keeps(n)]
    assert 850 <= len(kept) <= 1150
    assert kept == [n for n in names if Sampler(0.1).keeps(n)]
    assert all(Sampler(1.0).keeps(n) for n in names[:100])


@pytest.mark.parametrize(("text", "share"), [("10%", 0.1), ("0.25", 0.25), ("100%", 1.0), (" 5 %", 0.05)])
def test_sample_shares(text: str, share: float) -> None:
    assert parse_sample(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["0%", "101%", "-1", "ten"])
def test_sample_shares_that_mean_nothing(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sample(text)
