"""The campaign rules: the seed's campaigns evaluated against a session, an event or a profile.

:func:`evaluate` is pure: it gets a :class:`Situation` (what the customer did) and :class:`Facts`
(lookups into the state: coupons, referrals, point balances), and returns an :class:`Evaluation`
(effects in the vendor's ``Effect`` shape, triggered campaigns, rule failure reasons, and the
coupons/referral it accepted). Committing anything is the caller's business.

Coupon checks, in order (the first failure is the rejection reason): the campaign is not
running (``CouponPartOfNotRunningCampaign``), the coupon starts later
(``CouponStartDateInFuture``) or has expired (``CouponExpired``), it belongs to somebody else
(``CouponRecipientDoesNotMatch``), it must be reserved and is not (``CouponReservationRequired``),
its usage limit is used up (``CampaignLimitReached``: this contract's enum has no
CouponLimitReached), the customer used it up (``ProfileLimitReached``; ``ProfileRequired``
for anonymous sessions). A valid coupon whose rules' other conditions fail is rejected with
``CouponRejectedByCondition``. Unknown codes get ``CouponNotFound``, attributed to the first
running coupon campaign. Referral codes follow the same scheme with the referral reasons.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .seed import Campaign, CouponSpec, Rule, Seed

__all__ = ["CartLine", "CouponState", "Evaluation", "Facts", "ReferralState", "Situation", "evaluate"]

_UUID_NAMESPACE = uuid.UUID("0d7e5d6a-4c3e-4f3a-9a57-7a1b5c9d2e10")


@dataclass(slots=True)
class CartLine:
    position: int
    sku: str
    quantity: int
    price: float
    attributes: Mapping[str, Any]


@dataclass(slots=True)
class CouponState:
    id: int
    value: str
    campaign_id: int
    usage_counter: int
    spec: CouponSpec
    profile_redemptions: int = 0
    reserved_by_profile: bool = False


@dataclass(slots=True)
class ReferralState:
    id: int
    code: str
    campaign_id: int
    advocate: str
    friend: str | None
    start: dt.datetime | None
    expiry: dt.datetime | None
    usage_limit: int
    usage_counter: int


class Facts(Protocol):
    def coupon(self, value: str) -> CouponState | None: ...

    def referral(self, code: str) -> ReferralState | None: ...

    def points(self, program: int, subledger: str) -> float: ...


@dataclass(slots=True)
class Situation:
    now: dt.datetime
    trigger: str  # session | event | profile
    profile_id: str  # "" when anonymous
    profile_attributes: Mapping[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    cart: Sequence[CartLine] = ()
    additional_cost_total: float = 0.0
    session_attributes: Mapping[str, Any] = field(default_factory=dict)
    coupon_codes: Sequence[str] = ()
    referral_code: str | None = None
    loyalty_cards: Sequence[str] = ()
    event_type: str | None = None
    only_campaigns: frozenset[int] | None = None  # evaluableCampaignIds (dry runs only)

    cart_item_total: float = field(init=False)
    total: float = field(init=False)  # pre-discount: cart items and additional costs

    def __post_init__(self) -> None:
        self.cart_item_total = round(sum(line.price * line.quantity for line in self.cart), 2)
        self.total = round(self.cart_item_total + self.additional_cost_total, 2)


@dataclass(slots=True)
class Evaluation:
    """What evaluating the campaigns gave: effects, triggered campaigns, failures, accepted codes."""

    effects: list[dict[str, Any]] = field(default_factory=list)
    triggered: list[Campaign] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    coupons: list[CouponState] = field(default_factory=list)  # accepted, redeemed on close
    referral: ReferralState | None = None  # accepted, redeemed on close
    meta: dict[str, Any] = field(default_factory=dict)


def _money(value: float) -> float:
    return round(value + 0.0, 2)


class _Run:
    """One evaluation."""

    def __init__(
        self, seed: Seed, situation: Situation, facts: Facts, card_program: Callable[[str], int | None]
    ) -> None:
        self.seed = seed
        self.s = situation
        self.facts = facts
        self.card_program = card_program
        self.out = Evaluation()
        self.valid_coupons: dict[int, CouponState] = {}  # campaign id -> coupon
        self.valid_referral: ReferralState | None = None
        self.stamps: dict[int, str] = {}
        self.discountable = (
            situation.total
        )  # what discounts may still take: together they never exceed the total

    def campaigns(self) -> list[Campaign]:
        chosen = []
        for campaign in self.seed.campaigns:
            if campaign.trigger != self.s.trigger:
                continue
            if self.s.only_campaigns is not None:
                if campaign.id in self.s.only_campaigns:
                    chosen.append(campaign)  # evaluated even when disabled (dry runs)
            elif campaign.running(self.s.now):
                chosen.append(campaign)
        return chosen

    # -- effects

    def effect(
        self, campaign: Campaign, rule: Rule, effect_type: str, props: dict[str, Any], **extra: Any
    ) -> None:
        effect = {
            "campaignId": campaign.id,
            "rulesetId": campaign.ruleset_id,
            "ruleIndex": rule.index,
            "ruleName": rule.title,
            "effectType": effect_type,
            "props": props,
        }
        effect.update(extra)
        self.out.effects.append(effect)

    def transaction_uuid(self, campaign: Campaign, rule: Rule, key: object) -> str:
        """Stable per (session, rule, item): re-evaluating an open session keeps the same ids."""
        base = self.s.session_id or f"{self.s.trigger}:{self.s.profile_id}:{self.s.now.isoformat()}"
        return str(uuid.uuid5(_UUID_NAMESPACE, f"{base}/{campaign.id}/{rule.index}/{key}"))

    def take(self, desired: float) -> float:
        """The part of a desired discount that fits in what is left of the total."""
        value = _money(max(0.0, min(desired, self.discountable)))
        self.discountable = _money(self.discountable - value)
        return value

    def stamp_in(self, days: int) -> str:
        stamp = self.stamps.get(days)
        if stamp is None:
            stamp = self.stamps[days] = _stamp(self.s.now + dt.timedelta(days=days))
        return stamp

    def _reject(self, effect_type: str, campaign_id: int, props: dict[str, Any], **extra: Any) -> None:
        """A rejection effect, attributed to the campaign's first rule (the code matched no rule)."""
        campaign = self.seed.campaign(campaign_id)
        rule = campaign.rules[0] if campaign is not None and campaign.rules else None
        effect = {
            "campaignId": campaign_id,
            "rulesetId": campaign.ruleset_id if campaign is not None else 0,
            "ruleIndex": rule.index if rule is not None else 0,
            "ruleName": rule.title if rule is not None else "",
            "effectType": effect_type,
            "props": props,
        }
        effect.update(extra)
        self.out.effects.append(effect)

    def reject_coupon(
        self, campaign_id: int, coupon_id: int, value: str, reason: str, condition: int | None = None
    ) -> None:
        props: dict[str, Any] = {"value": value, "rejectionReason": reason}
        if condition is not None:
            props["conditionIndex"] = condition
        self._reject(
            "rejectCoupon", campaign_id, props, **({"triggeredByCoupon": coupon_id} if coupon_id else {})
        )
        meta = {"campaignId": campaign_id, "couponId": coupon_id, "reason": reason}
        self.out.meta.setdefault("couponRejectionReason", meta)

    def reject_referral(self, campaign_id: int, referral_id: int, code: str, reason: str) -> None:
        self._reject("rejectReferral", campaign_id, {"value": code, "rejectionReason": reason})
        meta = {"campaignId": campaign_id, "referralId": referral_id, "reason": reason}
        self.out.meta.setdefault("referralRejectionReason", meta)

    # -- coupons and referrals

    def check_coupons(self, campaigns: list[Campaign]) -> None:
        running_ids = {c.id for c in campaigns}
        fallback = next((c.id for c in campaigns if c.coupons or "coupons" in c.features), 0)
        for code in dict.fromkeys(self.s.coupon_codes):  # duplicates count once
            state = self.facts.coupon(code)
            if state is None:
                self.reject_coupon(fallback, 0, code, "CouponNotFound")
                continue
            spec, now = state.spec, self.s.now
            reason = None
            if state.campaign_id not in running_ids:
                reason = "CouponPartOfNotRunningCampaign"
            elif spec.start_date is not None and spec.start_date > now:
                reason = "CouponStartDateInFuture"
            elif spec.expiry_date is not None and spec.expiry_date <= now:
                reason = "CouponExpired"
            elif spec.recipient_integration_id and spec.recipient_integration_id != self.s.profile_id:
                reason = "CouponRecipientDoesNotMatch"
            elif spec.is_reservation_mandatory and not state.reserved_by_profile:
                reason = "CouponReservationRequired"
            elif spec.usage_limit and state.usage_counter >= spec.usage_limit:
                reason = "CampaignLimitReached"
            elif spec.per_profile_limit and not self.s.profile_id:
                reason = "ProfileRequired"
            elif spec.per_profile_limit and state.profile_redemptions >= spec.per_profile_limit:
                reason = "ProfileLimitReached"
            elif state.campaign_id in self.valid_coupons:
                reason = "EffectCouldNotBeApplied"  # one coupon per campaign and session
            if reason is None:
                self.valid_coupons[state.campaign_id] = state
            else:
                self.reject_coupon(state.campaign_id, state.id, code, reason)

    def check_referral(self, campaigns: list[Campaign]) -> None:
        code = self.s.referral_code
        if not code:
            return
        fallback = next((c.id for c in campaigns if c.referral_pattern), 0)
        state = self.facts.referral(code)
        if state is None:
            self.reject_referral(fallback, 0, code, "ReferralNotFound")
            return
        now, reason = self.s.now, None
        if state.campaign_id not in {c.id for c in campaigns}:
            reason = "ReferralPartOfNotRunningCampaign"
        elif state.advocate == self.s.profile_id:
            reason = "ReferralRecipientIdSameAsAdvocate"
        elif state.start is not None and state.start > now:
            reason = "ReferralStartDateInFuture"
        elif state.expiry is not None and state.expiry <= now:
            reason = "ReferralExpired"
        elif state.friend and state.friend != self.s.profile_id:
            reason = "ReferralRecipientDoesNotMatch"
        elif state.usage_limit and state.usage_counter >= state.usage_limit:
            reason = "ReferralLimitReached"
        if reason is None:
            self.valid_referral = state
        else:
            self.reject_referral(state.campaign_id, state.id, code, reason)

    # -- conditions

    def holds(self, campaign: Campaign, condition: Mapping[str, Any]) -> bool:
        (name, arg), *_ = condition.items()
        s = self.s
        if name == "coupon":
            return campaign.id in self.valid_coupons
        if name == "referral":
            return self.valid_referral is not None and self.valid_referral.campaign_id == campaign.id
        if name == "totalAtLeast":
            return bool(s.cart or s.additional_cost_total) and s.total >= float(arg)
        if name == "skuInCart":
            return any(line.sku == arg for line in s.cart)
        if name == "profileAttribute":
            return bool(s.profile_attributes.get(arg["name"]) == arg.get("equals"))
        if name == "sessionAttribute":
            return bool(s.session_attributes.get(arg["name"]) == arg.get("equals"))
        if name == "eventType":
            return bool(s.event_type == arg)
        if name == "loyaltyCard":
            return any(self.card_program(card) is not None for card in s.loyalty_cards)
        if name == "pointsAtLeast":
            return (
                bool(s.profile_id)
                and self.facts.points(arg["program"], arg.get("subledger", "")) >= arg["points"]
            )
        return False

    # -- effects

    def apply(self, campaign: Campaign, rule: Rule, spec: Mapping[str, Any], extra: dict[str, Any]) -> None:
        (name, props), *_ = spec.items()
        s = self.s
        if name == "setDiscount":
            desired = _money(
                s.total * props["percent"] / 100 if "percent" in props else props.get("amount", 0)
            )
            effect_props = {"name": props["name"], "value": self.take(desired), "scope": "sessionTotal"}
            if effect_props["value"] < desired:
                effect_props["desiredValue"] = desired
            self.effect(campaign, rule, "setDiscount", effect_props, **extra)
        elif name == "setDiscountPerItem":
            for line in s.cart:
                if line.sku != props["sku"]:
                    continue
                line_total = line.price * line.quantity
                value = (
                    line_total * props["percent"] / 100
                    if "percent" in props
                    else props.get("amount", 0) * line.quantity
                )
                desired = _money(min(value, line_total))
                effect_props = {"name": props["name"], "value": self.take(desired), "position": line.position,
                                "scope": "price"}  # fmt: skip
                if effect_props["value"] < desired:
                    effect_props["desiredValue"] = desired
                self.effect(campaign, rule, "setDiscountPerItem", effect_props, **extra)
        elif name == "addFreeItem":
            self.effect(campaign, rule, "addFreeItem", {"sku": props["sku"], "name": props["name"]}, **extra)
        elif name == "addLoyaltyPoints":
            self.add_points(campaign, rule, props, extra)
        elif name == "deductLoyaltyPoints":
            if not s.profile_id:
                return
            program = self.seed.programs[props["program"]]
            value = float(props["points"])
            self.effect(campaign, rule, "deductLoyaltyPoints", {
                "ruleTitle": rule.title, "programId": program.id, "subLedgerId": props.get("subledger", ""),
                "value": value, "transactionUUID": self.transaction_uuid(campaign, rule, "deduct"), "name": props["name"],
            }, **extra)  # fmt: skip

    def add_points(
        self, campaign: Campaign, rule: Rule, props: Mapping[str, Any], extra: dict[str, Any]
    ) -> None:
        s = self.s
        program = self.seed.programs[props["program"]]
        recipient = s.profile_id
        if props.get("recipient") == "advocate":
            if self.valid_referral is None:
                return
            recipient = self.valid_referral.advocate
        if not recipient:
            return  # anonymous sessions earn nothing
        card = None
        if program.card_based:
            card = next((c for c in s.loyalty_cards if self.card_program(c) == program.id), None)
            if card is None:
                return
        base = {"name": props["name"], "programId": program.id, "subLedgerId": props.get("subledger", ""),
                "recipientIntegrationId": recipient}  # fmt: skip
        if "startAfterDays" in props:
            base["startDate"] = self.stamp_in(props["startAfterDays"])
        if "expireAfterDays" in props:
            base["expiryDate"] = self.stamp_in(props["expireAfterDays"])
        if card is not None:
            base["cardIdentifier"] = card
        if "perItemOf" in props:
            for line in s.cart:
                if line.sku == props["perItemOf"]:
                    value = float(props.get("points", 1)) * line.quantity
                    effect_props = {**base, "value": value, "cartItemPosition": line.position,
                                    "transactionUUID": self.transaction_uuid(campaign, rule, line.position)}  # fmt: skip
                    self.effect(campaign, rule, "addLoyaltyPoints", effect_props, **extra)
            return
        if "perCurrencyUnit" in props:
            value = float(math.floor(s.total) * props["perCurrencyUnit"])
        else:
            value = float(props.get("points", 0))
        if value <= 0:
            return
        effect_props = {
            **base,
            "value": value,
            "transactionUUID": self.transaction_uuid(campaign, rule, "points"),
        }
        self.effect(campaign, rule, "addLoyaltyPoints", effect_props, **extra)

    # -- the run

    def run(self) -> Evaluation:
        campaigns = self.campaigns()
        if self.s.trigger == "session":
            self.check_coupons(campaigns)
            self.check_referral(campaigns)
        for campaign in campaigns:
            fired = False
            coupon = self.valid_coupons.get(campaign.id)
            coupon_used = False
            for rule in campaign.rules:
                failed_at = next((i for i, c in enumerate(rule.when) if not self.holds(campaign, c)), None)
                if failed_at is not None:
                    reason = {"campaignID": campaign.id, "campaignName": campaign.name, "rulesetID": campaign.ruleset_id,
                              "ruleIndex": rule.index, "ruleName": rule.title, "conditionIndex": failed_at}  # fmt: skip
                    if coupon is not None:
                        reason.update(couponID=coupon.id, couponValue=coupon.value)
                    self.out.failures.append(reason)
                    continue
                fired = True
                extra: dict[str, Any] = {}
                if rule.uses_coupon and coupon is not None:
                    extra["triggeredByCoupon"] = coupon.id
                    if not coupon_used:
                        coupon_used = True
                        self.effect(
                            campaign,
                            rule,
                            "acceptCoupon",
                            {"value": coupon.value},
                            triggeredByCoupon=coupon.id,
                        )
                        self.out.coupons.append(coupon)
                if rule.uses_referral and self.valid_referral is not None and self.out.referral is None:
                    self.effect(campaign, rule, "acceptReferral", {"value": self.valid_referral.code})
                    self.out.referral = self.valid_referral
                for spec in rule.then:
                    self.apply(campaign, rule, spec, extra)
            if coupon is not None and not coupon_used:
                condition = next(
                    (f["conditionIndex"] for f in self.out.failures if f["campaignID"] == campaign.id), None
                )
                self.reject_coupon(
                    campaign.id, coupon.id, coupon.value, "CouponRejectedByCondition", condition
                )
            if (
                self.valid_referral is not None
                and self.valid_referral.campaign_id == campaign.id
                and self.out.referral is None
            ):
                self.reject_referral(
                    campaign.id,
                    self.valid_referral.id,
                    self.valid_referral.code,
                    "ReferralRejectedByCondition",
                )
            if fired:
                self.out.triggered.append(campaign)
        return self.out


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def evaluate(
    seed: Seed, situation: Situation, facts: Facts, card_program: Callable[[str], int | None]
) -> Evaluation:
    """Evaluate the seed's campaigns for ``situation``."""
    return _Run(seed, situation, facts, card_program).run()
