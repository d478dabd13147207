"""replay.talon.noise: the built-in rules are specific, explained, and cover what a replay meets."""

from __future__ import annotations

import pytest

from replay.paths import Token
from replay.talon.noise import BUILTIN, builtin_noise


def test_builtin_rules_are_specific_and_explained() -> None:
    rules = builtin_noise()
    assert rules is builtin_noise()  # shared: its compiled matchers stay warm
    assert len(rules) == len(BUILTIN) > 20
    assert all(r.reason and r.source == "builtin" for r in rules)
    assert len({(r.pattern, r.operations) for r in rules}) == len(rules)  # no duplicates


@pytest.mark.parametrize(
    ("operation", "location"),
    [
        ("updateCustomerSessionV2", ("customerSession", "created")),
        ("updateCustomerSessionV2", ("customerSession", "updated")),
        ("updateCustomerSessionV2", ("customerSession", "id")),
        ("updateCustomerSessionV2", ("customerProfile", "lastActivity")),
        ("updateCustomerSessionV2", ("customerProfile", "loyaltyMemberships", 0, "joined")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "joinDate")),
        ("updateCustomerSessionV2", ("effects", 4, "props", "transactionUUID")),
        ("updateCustomerSessionV2", ("event", "effects", 6, "props", "expiryDate")),
        ("updateCustomerSessionV2", ("effects", 0, "triggeredByCoupon")),
        ("updateCustomerSessionV2", ("event", "id")),
        ("updateCustomerSessionV2", ("coupons", 0, "id")),
        ("updateCustomerSessionV2", ("referral", "code")),
        ("updateCustomerSessionV2", ("customerSession", "referralCode")),
        ("updateCustomerSessionV2", ("previousReturns", 1, "sessionId")),
        ("getLoyaltyProgramProfilePoints", ("data", 0, "startDate")),
        ("getLoyaltyCardTransactions", ("data", 3, "id")),
        ("createReferral", ("code",)),
        ("createReferral", ("id",)),
        ("createAudienceV2", ("id",)),
        ("createReferralsForMultipleAdvocates", ("data", 1, "batchId")),
        ("linkLoyaltyCardToProfile", ("profiles", 1, "timestamp")),
        ("linkLoyaltyCardToProfile", ("id",)),
        ("getCustomerInventory", ("loyalty", "cards", 0, "id")),
        ("trackEventV2", ("loyalty", "cards", 0, "modified")),
        ("syncCatalog", ("modified",)),
    ],
)
def test_builtin_rules_cover_generated_values(operation: str, location: tuple[Token, ...]) -> None:
    assert builtin_noise().match(operation, location) is not None


@pytest.mark.parametrize(
    ("operation", "location"),
    [
        ("updateCustomerSessionV2", ("customerSession", "total")),
        ("updateCustomerSessionV2", ("customerSession", "state")),
        ("updateCustomerSessionV2", ("customerSession", "integrationId")),
        ("updateCustomerSessionV2", ("customerSession", "couponCodes", 0)),
        ("updateCustomerSessionV2", ("effects", 1, "effectType")),
        ("updateCustomerSessionV2", ("effects", 1, "props", "value")),
        ("updateCustomerSessionV2", ("effects", 1, "campaignId")),
        ("updateCustomerSessionV2", ("coupons", 0, "value")),
        ("updateCustomerSessionV2", ("triggeredCampaigns", 0, "id")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "id")),
        ("updateCustomerSessionV2", ("loyalty", "programs", "1", "ledger", "currentTier", "id")),
        ("updateCustomerSessionV2", ("customerProfile", "accountId")),
        ("getLoyaltyProgramProfilePoints", ("data", 0, "amount")),
        # dates the client chose are business data; only the loyalty listings' are clock-derived
        ("createReferralsForMultipleAdvocates", ("data", 0, "startDate")),
        ("createReferralsForMultipleAdvocates", ("data", 0, "advocateProfileIntegrationId")),
        ("updateCustomerSessionV2", ("coupons", 0, "expiryDate")),
        # configuration ids answered by operations that create nothing
        ("syncCatalog", ("id",)),
        ("getCustomerInventory", ("giveaways", 0, "code")),
    ],
)
def test_builtin_rules_leave_business_fields_alone(operation: str, location: tuple[Token, ...]) -> None:
    assert builtin_noise().match(operation, location) is None


# --------------------------------------------------------------------------- rules files
