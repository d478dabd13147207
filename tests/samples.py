"""Valid example payloads for the Integration API, shared by the tests (all conform to the contract)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

TS = "2026-11-20T10:15:30Z"
STATE_FILE = Path(__file__).parent / "fixtures" / "payloads" / "integration_state_v2.json"

PROFILE = {
    "id": 3301,
    "created": TS,
    "integrationId": "cust-1",
    "attributes": {"Language": "de"},
    "accountId": 1,
    "closedSessions": 0,
    "totalSales": 0.0,
    "lastActivity": TS,
}
BALANCE = {"activePoints": 286.0, "pendingPoints": 50.0, "spentPoints": 150.0, "expiredPoints": 25.0}
LEDGER = {
    "currentBalance": 10,
    "pendingBalance": 0,
    "expiredBalance": 0,
    "spentBalance": 0,
    "tentativeCurrentBalance": 10,
}
COUPON = {"id": 9, "created": TS, "campaignId": 3, "value": "WELCOME10", "usageLimit": 0, "usageCounter": 4}
REFERRAL = {"id": 4, "created": TS, "campaignId": 3, "advocateProfileIntegrationId": "cust-1", "code": "REF-ABCD",
            "usageCounter": 0, "usageLimit": 1}  # fmt: skip
POINTS = {"id": 1, "created": TS, "programId": 1, "name": "Welcome points", "startDate": "immediate",
          "expiryDate": "unlimited", "subledgerId": "", "amount": 100.0}  # fmt: skip
AUDIENCE = {"accountId": 1, "id": 5, "created": TS, "name": "VIP"}
CARD = {"id": 1, "created": TS, "programID": 2, "status": "active", "identifier": "CARD-0001", "usersPerCardLimit": 1,
        "ledger": LEDGER}  # fmt: skip
CATALOG = {"id": 1, "created": TS, "accountId": 1, "modified": TS, "name": "main", "description": "All SKUs",
           "version": 4, "createdBy": 1}  # fmt: skip


def integration_state() -> dict[str, Any]:
    """A realistic IntegrationStateV2 (a fresh copy)."""
    return json.loads(STATE_FILE.read_text())


def success(operation_id: str) -> tuple[int, Any]:
    """(status, body) of a valid success answer of each of the 28 operations."""
    state = integration_state()
    no_effects = {"effects": [], "createdCoupons": [], "createdReferrals": []}
    answers: dict[str, tuple[int, Any]] = {
        "updateCustomerSessionV2": (200, state),
        "getCustomerSession": (200, {"customerSession": state["customerSession"], "effects": state["effects"]}),
        "reopenCustomerSession": (200, {"effects": []}),
        "returnCartItems": (200, state),
        "trackEventV2": (204, None),
        "updateCustomerProfileV2": (200, {**no_effects, "customerProfile": PROFILE}),
        "updateCustomerProfilesV2": (204, None),
        "createAudienceV2": (201, AUDIENCE),
        "updateAudienceV2": (200, AUDIENCE),
        "deleteAudienceV2": (204, None),
        "deleteAudienceMembershipsV2": (204, None),
        "updateCustomerProfileAudiences": (204, None),
        "updateAudienceCustomersAttributes": (204, None),
        "createCouponReservation": (201, COUPON),
        "deleteCouponReservation": (204, None),
        "getReservedCustomers": (200, {"totalResultSize": 1, "data": [PROFILE]}),
        "createReferral": (201, REFERRAL),
        "createReferralsForMultipleAdvocates": (201, {"totalResultSize": 1, "data": [REFERRAL]}),
        "deleteCustomerData": (204, None),
        "getCustomerInventory": (200, {"profile": PROFILE, "coupons": [{**COUPON, "profileRedemptionCount": 0, "state": "active"}]}),
        "getLoyaltyCardBalances": (200, {"balance": BALANCE, "profiles": [{"integrationId": "cust-1", "timestamp": TS}]}),
        "getLoyaltyBalances": (200, {"balance": BALANCE, "subledgerBalances": {"beans": dict(BALANCE)}}),
        "getLoyaltyCardTransactions": (200, {"hasMore": False, "data": [{**POINTS, "cardIdentifier": "CARD-0001", "type": "addition"}]}),
        "getLoyaltyProgramProfileTransactions": (200, {"hasMore": False, "data": [{**POINTS, "type": "subtraction"}]}),
        "getLoyaltyCardPoints": (200, {"hasMore": True, "data": [POINTS]}),
        "getLoyaltyProgramProfilePoints": (200, {"hasMore": False, "data": [POINTS]}),
        "linkLoyaltyCardToProfile": (200, CARD),
        "syncCatalog": (200, CATALOG),
    }  # fmt: skip
    return copy.deepcopy(answers[operation_id])
