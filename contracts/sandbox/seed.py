"""The sandbox's seed: the Application's configuration (campaigns, rules, coupons, programs ...).

A seed is a YAML (or JSON) document; ``seed.yaml`` next to this module is the default and is
documented there. The structure is checked against :data:`SEED_SCHEMA` when loading, and every
problem is reported with the file and the JSON pointer of the offending value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from ..documents import Document, join_pointer, read_document
from ..errors import TalonContractsError, short_text
from .times import parse_optional

__all__ = ["DEFAULT_SEED", "Campaign", "CouponSpec", "Program", "Rule", "Seed", "SeedError", "load_seed"]

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")
ATTRIBUTE_TYPES = ("string", "number", "boolean", "time", "list")
CONDITIONS = (
    "coupon", "referral", "totalAtLeast", "skuInCart", "profileAttribute", "sessionAttribute", "eventType",
    "loyaltyCard", "pointsAtLeast",
)  # fmt: skip
EFFECTS = ("setDiscount", "setDiscountPerItem", "addFreeItem", "addLoyaltyPoints", "deductLoyaltyPoints")


class SeedError(TalonContractsError, ValueError):
    """A seed file is unreadable or does not describe a valid Application configuration."""


def _one_of_keys(keys: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "propertyNames": {"enum": list(keys)}}


_TIMESTAMP = {"type": "string", "format": "date-time"}
SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["application", "campaigns"],
    "additionalProperties": False,
    "properties": {
        "application": {
            "type": "object",
            "required": ["id", "accountId", "apiKey"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "accountId": {"type": "integer", "minimum": 1},
                "name": {"type": "string"},
                "currency": {"type": "string", "minLength": 3, "maxLength": 3},
                "apiKey": {"type": "string", "minLength": 1, "pattern": "^\\S+$"},
            },
        },
        "attributes": {
            "type": "object",
            "propertyNames": {
                "enum": ["profile", "session", "cartItem", "event", "audience", "coupon", "referral"]
            },
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"enum": list(ATTRIBUTE_TYPES)},
            },
        },
        "eventTypes": {"type": "array", "items": {"type": "string", "pattern": "^(?!talon_)[A-Za-z]\\w*$"}},
        "additionalCosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "loyaltyPrograms": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string", "minLength": 1},
                    "title": {"type": "string"},
                    "cardBased": {"type": "boolean"},
                    "usersPerCardLimit": {"type": "integer", "minimum": 0},
                    "subledgers": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "cards": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 108}},
                    "tiers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "name", "minPoints"],
                            "properties": {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                                "minPoints": {"type": "number"},
                            },
                        },
                    },
                },
            },
        },
        "catalogs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "attributes": {"type": "array", "items": {"type": "string"}},
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["sku"],
                            "properties": {
                                "sku": {"type": "string", "minLength": 1},
                                "price": {"type": "number"},
                                "product": {"type": "object", "properties": {"name": {"type": "string"}}},
                                "attributes": {"type": "object"},
                            },
                        },
                    },
                },
            },
        },
        "campaigns": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", "rules"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "state": {"enum": ["enabled", "disabled"]},
                    "trigger": {"enum": ["session", "event", "profile"]},
                    "startTime": _TIMESTAMP,
                    "endTime": _TIMESTAMP,
                    "features": {
                        "type": "array",
                        "items": {
                            "enum": [
                                "coupons",
                                "referrals",
                                "loyalty",
                                "giveaways",
                                "strikethrough",
                                "achievements",
                            ]
                        },
                    },
                    "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50}},
                    "referralSettings": {
                        "type": "object",
                        "required": ["pattern"],
                        "properties": {
                            "pattern": {"type": "string", "minLength": 3, "maxLength": 100},
                            "validCharacters": {"type": "array", "items": {"type": "string", "minLength": 1}},
                        },
                    },
                    "coupons": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["value"],
                            "additionalProperties": False,
                            "properties": {
                                "value": {"type": "string", "minLength": 4},
                                "usageLimit": {"type": "integer", "minimum": 0, "maximum": 999999},
                                "perProfileLimit": {"type": "integer", "minimum": 0},
                                "startDate": _TIMESTAMP,
                                "expiryDate": _TIMESTAMP,
                                "isReservationMandatory": {"type": "boolean"},
                                "implicitlyReserved": {"type": "boolean"},
                                "recipientIntegrationId": {"type": "string"},
                                "attributes": {"type": "object"},
                            },
                        },
                    },
                    "rules": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["title", "then"],
                            "additionalProperties": False,
                            "properties": {
                                "title": {"type": "string", "minLength": 1},
                                "when": {"type": "array", "items": _one_of_keys(CONDITIONS)},
                                "then": {"type": "array", "minItems": 1, "items": _one_of_keys(EFFECTS)},
                            },
                        },
                    },
                },
            },
        },
        "profiles": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["integrationId"],
                "properties": {
                    "integrationId": {"type": "string", "minLength": 1},
                    "attributes": {"type": "object"},
                },
            },
        },
        "ledger": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["program", "amount"],
                "properties": {
                    "program": {"type": "integer"},
                    "profile": {"type": "string"},
                    "card": {"type": "string"},
                    "subledger": {"type": "string"},
                    "amount": {"type": "number"},
                    "name": {"type": "string"},
                    "type": {"enum": ["manual", "import"]},
                },
            },
        },
        "cardLinks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["card", "profile"],
                "properties": {"card": {"type": "string"}, "profile": {"type": "string"}},
            },
        },
    },
}


parse_time = parse_optional


@dataclass(frozen=True, slots=True)
class Rule:
    index: int
    title: str
    when: tuple[Mapping[str, Any], ...]
    then: tuple[Mapping[str, Any], ...]
    uses_coupon: bool = field(init=False)  # has a `coupon: valid` condition
    uses_referral: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uses_coupon", any("coupon" in c for c in self.when))
        object.__setattr__(self, "uses_referral", any("referral" in c for c in self.when))


@dataclass(frozen=True, slots=True)
class CouponSpec:
    value: str
    usage_limit: int = 0
    per_profile_limit: int = 0
    start_date: dt.datetime | None = None
    expiry_date: dt.datetime | None = None
    is_reservation_mandatory: bool = False
    implicitly_reserved: bool = False
    recipient_integration_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    description: str
    state: str
    trigger: str
    features: tuple[str, ...]
    tags: tuple[str, ...]
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    coupons: tuple[CouponSpec, ...]
    rules: tuple[Rule, ...]
    referral_pattern: str | None
    referral_characters: tuple[str, ...]

    @property
    def ruleset_id(self) -> int:
        return 1000 + self.id  # one active ruleset per campaign

    def running(self, now: dt.datetime) -> bool:
        return (
            self.state == "enabled"
            and (self.start_time is None or self.start_time <= now)
            and (self.end_time is None or now < self.end_time)
        )

    def frontend_state(self, now: dt.datetime) -> str:
        if self.state == "disabled":
            return "disabled"
        if self.start_time is not None and now < self.start_time:
            return "scheduled"
        if self.end_time is not None and now >= self.end_time:
            return "expired"
        return "running"


@dataclass(frozen=True, slots=True)
class Tier:
    id: int
    name: str
    min_points: float


@dataclass(frozen=True, slots=True)
class Program:
    id: int
    name: str
    title: str
    card_based: bool
    subledgers: tuple[str, ...]
    tiers: tuple[Tier, ...]
    users_per_card_limit: int
    cards: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    price: float | None
    product: Mapping[str, Any] | None
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    id: int
    name: str
    description: str
    attributes: tuple[str, ...]
    items: tuple[CatalogItem, ...]


@dataclass(frozen=True, slots=True)
class Seed:
    source: str
    application_id: int
    account_id: int
    application_name: str
    currency: str
    api_key: str
    attributes: Mapping[str, Mapping[str, str]]  # entity -> attribute name -> type
    event_types: tuple[str, ...]
    additional_costs: tuple[str, ...]
    programs: Mapping[int, Program]
    catalogs: Mapping[int, CatalogSpec]
    campaigns: tuple[Campaign, ...]
    profiles: tuple[Mapping[str, Any], ...]
    ledger: tuple[Mapping[str, Any], ...]
    card_links: tuple[Mapping[str, Any], ...]

    def campaign(self, campaign_id: int) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    def coupon_campaign(self, value: str) -> tuple[Campaign, CouponSpec] | None:
        for campaign in self.campaigns:
            for coupon in campaign.coupons:
                if coupon.value == value:
                    return campaign, coupon
        return None


def _check(doc: Document) -> None:
    validator = jsonschema_rs.Draft202012Validator(SEED_SCHEMA, validate_formats=True)
    problems = []
    for error in validator.iter_errors(doc.data):
        pointer = join_pointer("", *error.instance_path)
        line = doc.line_of(pointer)
        problems.append(
            f"  {pointer or '/'}{f' (line {line})' if line else ''}: {short_text(error.message, 300)}"
        )
    if problems:
        raise SeedError(f"{doc.source}: the seed is not valid:\n" + "\n".join(problems[:20]))


def _semantic_checks(seed: Seed) -> None:
    """Cross-references the schema cannot express: every program, SKU and coupon named must exist."""
    problems = []
    coupons: set[str] = set()
    for campaign in seed.campaigns:
        for coupon in campaign.coupons:
            if coupon.value in coupons:
                problems.append(f"coupon {coupon.value!r} is defined twice")
            coupons.add(coupon.value)
        for rule in campaign.rules:
            for effect in rule.then:
                (_, props), *_ = effect.items()
                program = props.get("program") if isinstance(props, Mapping) else None
                if program is not None and program not in seed.programs:
                    problems.append(
                        f"campaign {campaign.id}, rule {rule.title!r}: unknown loyalty program {program}"
                    )
    if len({c.id for c in seed.campaigns}) != len(seed.campaigns):
        problems.append("two campaigns share an id")
    for entry in seed.ledger:
        if entry["program"] not in seed.programs:
            problems.append(f"ledger entry for unknown program {entry['program']}")
    if problems:
        raise SeedError(f"{seed.source}: " + "; ".join(problems))


def load_seed(source: str | Path | Mapping[str, Any] | None = None) -> Seed:
    """Read and check a seed (a path, a parsed mapping, or None for the default seed)."""
    if source is None:
        source = DEFAULT_SEED
    if isinstance(source, Mapping):
        doc = Document(dict(source), "<seed dict>")
    else:
        try:
            doc = read_document(source)
        except TalonContractsError as exc:
            raise SeedError(str(exc)) from None
    _check(doc)
    data = doc.data
    app = data["application"]
    programs = {p["id"]: _program(p) for p in data.get("loyaltyPrograms", ())}
    catalogs = {c["id"]: _catalog(c) for c in data.get("catalogs", ())}
    campaigns = [_campaign(c) for c in data["campaigns"]]
    seed = Seed(
        source=doc.source,
        application_id=app["id"],
        account_id=app["accountId"],
        application_name=app.get("name", "Sandbox"),
        currency=app.get("currency", "EUR"),
        api_key=app["apiKey"],
        attributes={entity: dict(attrs) for entity, attrs in (data.get("attributes") or {}).items()},
        event_types=tuple(data.get("eventTypes", ())),
        additional_costs=tuple(data.get("additionalCosts", ())),
        programs=programs,
        catalogs=catalogs,
        campaigns=tuple(campaigns),
        profiles=tuple(data.get("profiles", ())),
        ledger=tuple(data.get("ledger", ())),
        card_links=tuple(data.get("cardLinks", ())),
    )
    _semantic_checks(seed)
    return seed


def _program(p: Mapping[str, Any]) -> Program:
    return Program(
        id=p["id"],
        name=p["name"],
        title=p.get("title", p["name"]),
        card_based=p.get("cardBased", False),
        subledgers=tuple(p.get("subledgers", ())),
        tiers=tuple(Tier(t["id"], t["name"], t["minPoints"]) for t in p.get("tiers", ())),
        users_per_card_limit=p.get("usersPerCardLimit", 0),
        cards=tuple(p.get("cards", ())),
    )


def _catalog(c: Mapping[str, Any]) -> CatalogSpec:
    return CatalogSpec(
        id=c["id"],
        name=c["name"],
        description=c.get("description", ""),
        attributes=tuple(c.get("attributes", ())),
        items=tuple(
            CatalogItem(i["sku"], i.get("price"), i.get("product"), i.get("attributes", {}))
            for i in c.get("items", ())
        ),
    )


def _coupon(k: Mapping[str, Any]) -> CouponSpec:
    return CouponSpec(
        value=k["value"],
        usage_limit=k.get("usageLimit", 0),
        per_profile_limit=k.get("perProfileLimit", 0),
        start_date=parse_time(k.get("startDate")),
        expiry_date=parse_time(k.get("expiryDate")),
        is_reservation_mandatory=k.get("isReservationMandatory", False),
        implicitly_reserved=k.get("implicitlyReserved", False),
        recipient_integration_id=k.get("recipientIntegrationId"),
        attributes=k.get("attributes", {}),
    )


def _campaign(c: Mapping[str, Any]) -> Campaign:
    settings = c.get("referralSettings") or {}
    return Campaign(
        id=c["id"],
        name=c["name"],
        description=c.get("description", ""),
        state=c.get("state", "enabled"),
        trigger=c.get("trigger", "session"),
        features=tuple(c.get("features", ())),
        tags=tuple(c.get("tags", ())),
        start_time=parse_time(c.get("startTime")),
        end_time=parse_time(c.get("endTime")),
        coupons=tuple(_coupon(k) for k in c.get("coupons", ())),
        rules=tuple(
            Rule(i, r["title"], tuple(r.get("when", ())), tuple(r["then"])) for i, r in enumerate(c["rules"])
        ),
        referral_pattern=settings.get("pattern") if "referrals" in c.get("features", ()) else None,
        referral_characters=tuple(settings.get("validCharacters") or "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    )
