"""Where this API's identifiers flow, as data: a new operation is a new row.

* :data:`ID_FLOWS`: values the server generates in one operation's answer that later requests of
  the same story reuse (an audience's id, a referral code, coupons a session created).
* :data:`REFERENCES`: where an operation's request names an entity whose id the *client* chooses
  (customer sessions, profiles, audiences), and whether the request creates it there.

``replay.engine.rewrite`` carries generated values forward and namespaces client-chosen ids with
them. Paths are ``replay.paths`` patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ID_FLOWS", "LEFT_ALONE", "REFERENCES", "IdFlow", "Reference"]


@dataclass(frozen=True, slots=True)
class IdFlow:
    """A value the server generates in ``produced_by``'s response (at ``at``) that later requests reuse."""

    kind: str
    produced_by: str
    at: str
    path_params: tuple[str, ...] = ()  # path parameters that carry it in later requests
    body_keys: tuple[str, ...] = ()  # JSON keys (anywhere in a request body) that carry it
    #: what pairs a recorded value with its live one when the answer lists several (a path beside
    #: ``at``, item for item); None: by position
    paired_by: str | None = None


ID_FLOWS: tuple[IdFlow, ...] = (
    # "adds"/"deletes": UpdateCustomerProfileV2's audiencesChanges lists audience ids
    IdFlow("audience", "createAudienceV2", "$.id", ("audienceId",), ("audienceId", "adds", "deletes")),
    IdFlow("referral code", "createReferral", "$.code", (), ("referralCode",)),
    # one code per advocate, in an order the server chooses: paired by advocate, not by position
    IdFlow(
        "referral code",
        "createReferralsForMultipleAdvocates",
        "$.data[*].code",
        (),
        ("referralCode",),
        paired_by="$.data[*].advocateProfileIntegrationId",
    ),
    IdFlow(
        "coupon code",
        "updateCustomerSessionV2",
        "$.createdCoupons[*].value",
        ("couponValue",),
        ("couponCodes",),
    ),
)


@dataclass(frozen=True, slots=True)
class Reference:
    """Where an operation's request names a client-chosen entity, and whether it creates it there."""

    operation: str
    entity: str  # profile | session | audience
    path_param: str | None = None
    body_path: str | None = None  # JSONPath into the request body
    creates: bool = False


REFERENCES: tuple[Reference, ...] = (
    Reference("updateCustomerSessionV2", "session", path_param="customerSessionId", creates=True),
    Reference("updateCustomerSessionV2", "profile", body_path="$.customerSession.profileId", creates=True),
    Reference("getCustomerSession", "session", path_param="customerSessionId"),
    Reference("returnCartItems", "session", path_param="customerSessionId"),
    Reference("reopenCustomerSession", "session", path_param="customerSessionId"),
    Reference("updateCustomerProfileV2", "profile", path_param="integrationId", creates=True),
    Reference(
        "updateCustomerProfilesV2", "profile", body_path="$.customerProfiles[*].integrationId", creates=True
    ),
    Reference("trackEventV2", "profile", body_path="$.profileId", creates=True),
    Reference("createCouponReservation", "profile", body_path="$.integrationIDs[*]", creates=True),
    Reference("deleteCouponReservation", "profile", body_path="$.integrationIDs[*]"),
    Reference("createAudienceV2", "audience", body_path="$.integrationId", creates=True),
    Reference("updateCustomerProfileAudiences", "profile", body_path="$.data[*].profileIntegrationId"),
    Reference("linkLoyaltyCardToProfile", "profile", body_path="$.integrationId"),
    Reference("createReferral", "profile", body_path="$.advocateProfileIntegrationId"),
    Reference("createReferral", "profile", body_path="$.friendProfileIntegrationId"),
    Reference(
        "createReferralsForMultipleAdvocates", "profile", body_path="$.advocateProfileIntegrationIds[*]"
    ),
    Reference("deleteCustomerData", "profile", path_param="integrationId"),
    Reference("getCustomerInventory", "profile", path_param="integrationId"),
    Reference("getLoyaltyBalances", "profile", path_param="integrationId"),
    Reference("getLoyaltyProgramProfileTransactions", "profile", path_param="integrationId"),
    Reference("getLoyaltyProgramProfilePoints", "profile", path_param="integrationId"),
)

#: Identifier fields of the 28 operations that are neither a client-chosen id a story namespaces
#: (:data:`REFERENCES`) nor a generated value carried forward (:data:`ID_FLOWS`), and why. A test
#: derives every identifier field from the contract and checks that each is in one of the three.
LEFT_ALONE: dict[tuple[str, str], str] = {
    ("updateCustomerSessionV2", "$.customerSession.storeIntegrationId"): "stores are configuration",
    ("trackEventV2", "$.storeIntegrationId"): "stores are configuration",
    ("updateCustomerSessionV2", "$.customerSession.identifiers[*]"): "device identifiers: data, not ids",
    (
        "updateCustomerSessionV2",
        "$.customerSession.couponCodes[*]",
    ): "campaign coupons, or generated (ID_FLOWS)",
    ("updateCustomerSessionV2", "$.customerSession.referralCode"): "generated by the server (ID_FLOWS)",
    ("createCouponReservation", "path:couponValue"): "campaign coupons, or generated ones (ID_FLOWS)",
    ("deleteCouponReservation", "path:couponValue"): "campaign coupons, or generated ones (ID_FLOWS)",
    ("getReservedCustomers", "path:couponValue"): "campaign coupons, or generated ones (ID_FLOWS)",
    ("linkLoyaltyCardToProfile", "path:loyaltyCardId"): "cards are issued by the program: shared state",
    ("getLoyaltyCardBalances", "path:loyaltyCardId"): "cards are issued by the program: shared state",
    ("getLoyaltyCardTransactions", "path:loyaltyCardId"): "cards are issued by the program: shared state",
    ("getLoyaltyCardPoints", "path:loyaltyCardId"): "cards are issued by the program: shared state",
}
