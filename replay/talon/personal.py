"""Which values of this API's bodies are personal data, from the contract and a few words.

The recorder pseudonymises them (``replay.recording.redaction``); this module says where they are.
Three rules, from the most to the least structural:

1. **Attribute maps.** An object whose members the client names (no declared properties, values
   open-ended) is an attribute map when the contract calls it one: the property holding it is
   named ``attributes`` (``customerAttributes``, ``cartItemAttributes`` ...), its component is named
   so (``AttributeQuery``, the whole body of UpdateAudienceCustomersAttributes), or its description
   says so. An object under a member named that way is one too where the contract says nothing
   (a catalog action's ``payload``, a 409 body). Inside an attribute map every member is judged by
   its name alone (rule 2), including a bare ``Name``: the attribute names are the Application's.
2. **Names.** A member whose name denotes personal data is personal wherever it is: e-mail,
   phone, address, street, city, zip/postal code, birth date, IP address, first/last/full name,
   and the attribute names of :data:`replay.talon.policies.PERSONAL_ATTRIBUTES`. The name is split
   into words (``ShippingCity`` is *shipping city*, ``IPAddress`` *ip address*), so
   ``ShippingCountry``, ``capacity`` or ``recipientIntegrationId`` are not personal. A bare
   ``name`` is a person's only in an attribute map or in a schema that describes a person (its
   component or the property holding it ends in a person noun: ``CustomerProfile``, ``profile``,
   ``friend``): ``triggeredCampaigns[*].name`` (Campaign), ``cartItems[*].name`` and
   ``product.name`` (a product), ``audienceMemberships[*].name`` (an audience), a tier's, a
   loyalty program's, an achievement's or an effect's ``props.name`` are not personal; a
   ``contactName``, ``customerName`` or ``lastName`` is.
3. **Values.** Any string holding something shaped like an e-mail address is personal wherever it
   is (attribute values can carry anything), except in an identifier field (``profileId``,
   ``integrationId``, ``integrationIDs`` ...): profile and session ids are identifiers in this
   toolkit's model, carried and namespaced by ``replay.talon.flows``, and the same id is in the
   URL; pseudonymising them in bodies only would break the story's id flow.

:func:`personal_data` derives rules 1 and 2's contract part once per contract (attribute maps and
person schemas per operation and side) and caches it; for the shipped contract the derivation is
also kept on disk (see :func:`default_personal_data`), so that a ``convert`` does not load the
contract (a fraction of a second) to redact one capture.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

import contracts
from contracts.schema import resolve_pointer
from replay.talon.policies import PERSONAL_ATTRIBUTES

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = [
    "Location",
    "PersonalData",
    "Place",
    "default_personal_data",
    "derive",
    "is_attribute_map_key",
    "is_identifier_key",
    "is_personal_key",
    "names_a_person",
    "personal_data",
    "value_kind",
    "words",
]

# --------------------------------------------------------------------------- the words

#: Words (after splitting a name) that make a member personal wherever it is. Compounds are listed
#: for names written in one lower-case word (``firstname``, ``zipcode``).
PERSONAL_WORDS = frozenset(
    {
        "email", "mail", "phone", "telephone", "cellphone", "msisdn", "phonenumber",
        "address", "emailaddress", "ipaddress", "streetaddress", "street", "city", "zip", "zipcode",
        "postal", "postcode", "postalcode", "birth", "birthday", "birthdate", "dateofbirth", "dob",
        "ip", "ipv4", "ipv6", "surname", "firstname", "lastname", "fullname", "middlename",
        "givenname", "familyname", "maidenname", "nickname", "username",
    }
)  # fmt: skip
#: A ``...name`` is a person's after these words (``firstName``, ``contactName``); after others it
#: names a thing (``campaignName``, ``ruleName``, ``productName``).
NAME_QUALIFIERS = frozenset({"first", "last", "full", "middle", "given", "family", "maiden", "nick", "sur"})
#: What a schema describing a person is called (the last word of its component or property name).
PERSON_NOUNS = frozenset(
    {
        "person", "customer", "profile", "contact", "user", "member", "recipient", "friend",
        "advocate", "buyer", "shopper", "holder", "owner", "referee", "referrer",
    }
)  # fmt: skip
#: ``mobile``/``cell`` are personal only before ``number`` or ``phone`` (``mobileAppVersion`` is not).
PHONE_PREFIXES = frozenset({"mobile", "cell"})
_WORD = re.compile(r"[A-Z]+s?(?![a-z])|[A-Z]?[a-z]+|\d+")
_PREPOSITIONS = frozenset({"for", "of", "with", "to", "by", "from", "in", "on", "per"})
_PERSONAL_ATTRIBUTES = frozenset(name.lower() for name in PERSONAL_ATTRIBUTES)  # any case, as before


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def words(name: str) -> tuple[str, ...]:
    """``ShippingCity`` -> ``('shipping', 'city')``; ``IPAddress`` -> ``('ip', 'address')``;
    ``integrationIDs`` -> ``('integration', 'id')`` (lower case, singular)."""
    return tuple(_singular(w.lower()) for w in _WORD.findall(name))


@functools.lru_cache(maxsize=4096)  # member names repeat from body to body
def is_personal_key(name: str, *, of_person: bool = False) -> bool:
    """Whether a member called ``name`` holds personal data (rule 2). ``of_person``: the member is
    in an attribute map or in a schema that describes a person, where a bare ``name`` is a
    person's and the attribute names of the policies apply."""
    parts = words(name)
    if not parts:
        return False
    if of_person and name.lower() in _PERSONAL_ATTRIBUTES:
        return True
    if any(w in PERSONAL_WORDS for w in parts):
        return True
    if any(a in PHONE_PREFIXES and b in ("number", "phone") for a, b in itertools.pairwise(parts)):
        return True
    if parts[-1] != "name":
        return False
    if len(parts) == 1:
        return of_person
    return parts[-2] in NAME_QUALIFIERS or parts[-2] in PERSON_NOUNS


@functools.lru_cache(maxsize=4096)  # member names repeat from body to body
def is_attribute_map_key(name: str) -> bool:
    """``attributes``, ``customerAttributes``, ``attrs``: a member holding an attribute map."""
    parts = words(name)
    return bool(parts) and parts[-1] in ("attribute", "attr")


@functools.lru_cache(maxsize=4096)  # member names repeat from body to body
def is_identifier_key(name: str) -> bool:
    """``profileId``, ``integrationIDs``, ``customerSessionId``: the e-mail backstop leaves these."""
    parts = words(name)
    return bool(parts) and parts[-1] == "id"


def names_a_person(name: str) -> bool:
    """Whether a component or property name describes a person (``CustomerProfile``, ``friend``),
    versions and numbers aside (``CustomerProfileV2``). The head noun decides: the last word
    before a preposition, so ``CustomerSession`` and ``NewReferralsForMultipleAdvocates`` do not."""
    parts = [w for w in words(name) if not w.isdigit() and len(w) > 1]
    for index, word in enumerate(parts):
        if word in _PREPOSITIONS:
            parts = parts[:index]
            break
    return bool(parts) and parts[-1] in PERSON_NOUNS


def value_kind(name: str) -> str:
    """What a pseudonym for a value under ``name`` must look like: mail, phone, date, ip or text."""
    lowered = name.lower()
    parts = words(name)
    if "mail" in lowered:
        return "mail"
    if "phone" in lowered or "msisdn" in lowered or any(w in PHONE_PREFIXES for w in parts):
        return "phone"
    if "birth" in lowered or "date" in lowered or "dob" in parts:
        return "date"
    if any(w in ("ip", "ipv4", "ipv6", "ipaddress") for w in parts):
        return "ip"
    return "text"


# --------------------------------------------------------------------------- places


@dataclass(frozen=True, slots=True)
class Place:
    """What the contract says about one place of a body: an attribute map, an object describing a
    person (its bare ``name`` is personal), and the places below (members, items or map values).
    Only places that lead to one of the two are kept: elsewhere rules 2 and 3 need no contract."""

    attributes: bool = False
    person: bool = False
    members: Mapping[str, Place] = field(default_factory=dict)
    each: Place | None = None  # an array's items, or the values of a map

    def member(self, name: str) -> Place | None:
        return self.members.get(name) or self.each

    def merged(self, other: Place | None) -> Place:
        """Both places at once (oneOf branches, the responses of all statuses)."""
        if other is None or other is self:
            return self
        members = dict(self.members)
        for name, place in other.members.items():
            members[name] = place.merged(members.get(name))
        each = other.each.merged(self.each) if other.each is not None else self.each
        return Place(self.attributes or other.attributes, self.person or other.person, members, each)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.attributes:
            data["a"] = 1
        if self.person:
            data["p"] = 1
        if self.members:
            data["m"] = {name: place.to_json() for name, place in self.members.items()}
        if self.each is not None:
            data["e"] = self.each.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Place:
        members = {str(k): cls.from_json(v) for k, v in (data.get("m") or {}).items()}
        each = cls.from_json(data["e"]) if isinstance(data.get("e"), dict) else None
        return cls(bool(data.get("a")), bool(data.get("p")), members, each)


@dataclass(frozen=True, slots=True)
class Location:
    """One place the contract says is personal, for tests and reports: ``$.customerSession.attributes``
    (``[*]`` an array's items, ``.*`` a map's values); kind ``attributes`` or ``person``."""

    operation_id: str
    side: str  # request | response
    path: str
    kind: str


def _locations(place: Place, path: str) -> Iterator[tuple[str, str]]:
    if place.attributes:
        yield path, "attributes"
        return
    if place.person:
        yield path, "person"
    for name, child in place.members.items():
        yield from _locations(child, f"{path}.{name}")
    if place.each is not None:
        yield from _locations(place.each, path + "[*]")


# --------------------------------------------------------------------------- deriving


class _Deriver:
    """Walks one contract's schemas through $ref, allOf/oneOf/anyOf, items and additionalProperties."""

    MAX_DEPTH = 24

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.memo: dict[tuple[int, str, bool, bool], Place | None] = {}
        self.active: set[tuple[int, str, bool, bool]] = set()

    def resolve(self, schema: Any) -> tuple[Any, str]:
        """(the schema with $ref chains followed, the name of the last component it went through)."""
        component = ""
        for _ in range(32):  # a longer chain loops: the contract's loader reported it
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#"):
                break
            component = ref.rsplit("/", 1)[-1]
            try:
                schema = resolve_pointer(self.contract.data, ref[1:])
            except KeyError:  # points at nothing (reported when the contract was loaded)
                return None, component
        return schema, component

    def place(self, schema: Any, owner: str, depth: int = 0) -> Place | None:
        node, component = self.resolve(schema)
        if not isinstance(node, dict) or depth > self.MAX_DEPTH:
            return None
        key = (id(node), component, is_attribute_map_key(owner), names_a_person(owner))
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return None  # a recursive schema: its inner occurrences add nothing new
        self.active.add(key)
        try:
            found = self._place(node, component, owner, depth)
        finally:
            self.active.discard(key)
        self.memo[key] = found
        return found

    def _place(self, node: dict[str, Any], component: str, owner: str, depth: int) -> Place | None:
        if self._is_attribute_map(node, component, owner):
            return Place(attributes=True)
        found: Place | None = None
        for branch in ("allOf", "oneOf", "anyOf"):
            for sub in node.get(branch) or ():
                place = self.place(sub, owner, depth + 1)
                found = place.merged(found) if place is not None else found
        members: dict[str, Place] = {}
        properties = node.get("properties")
        for name, sub in properties.items() if isinstance(properties, dict) else ():
            if isinstance(name, str) and (child := self.place(sub, name, depth + 1)) is not None:
                members[name] = child
        each = None
        for inner in (node.get("items"), node.get("additionalProperties")):
            if isinstance(inner, dict) and (child := self.place(inner, owner, depth + 1)) is not None:
                each = child.merged(each)
        person = names_a_person(component) or names_a_person(owner)
        person = person and (bool(properties) or node.get("type") == "object")
        if person or members or each is not None:
            found = Place(False, person, members, each).merged(found)
        return found

    def _is_attribute_map(self, node: dict[str, Any], component: str, owner: str) -> bool:
        """A free-form object (no declared member, values open-ended) the contract calls attributes."""
        if node.get("properties") or any(node.get(k) for k in ("allOf", "oneOf", "anyOf", "items")):
            return False
        if node.get("type", "object") != "object":
            return False
        values, _ = self.resolve(node.get("additionalProperties", True))
        if values is False or (
            isinstance(values, dict) and (values.get("properties") or values.get("items"))
        ):
            return False  # closed, or a map of structured values (additionalCosts, loyalty programs)
        description = str(node.get("description") or "")
        return (
            is_attribute_map_key(owner)
            or "attribute" in words(component)
            or re.search(r"\battributes?\b", description, re.I) is not None
        )

    def body(self, contents: Iterator[Any]) -> Place | None:
        found: Place | None = None
        for schema in contents:
            place = self.place(schema, "")
            found = place.merged(found) if place is not None else found
        return found


# --------------------------------------------------------------------------- what a contract says


@dataclass(slots=True)
class PersonalData:
    """Per operation and side, where the contract puts personal data (its :class:`Place`), and the
    routes that tell which operation serves a request (so a saved derivation needs no contract)."""

    base_path: str
    #: operation id -> (method, path template, request place, response place)
    operations: dict[str, tuple[str, str, Place | None, Place | None]]
    _routes: dict[int, list[tuple[tuple[int, int], re.Pattern[str], str, str]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for operation_id, (method, template, _, _) in self.operations.items():
            pattern = "".join(
                "[^/]+" if piece.startswith("{") else re.escape(piece)
                for piece in re.split(r"({[^}]+})", template)
            )
            literal = len(re.sub(r"{[^}]+}", "", template))
            specificity = (literal, -template.count("{"))
            route = (specificity, re.compile(pattern), method.upper(), operation_id)
            self._routes.setdefault(template.count("/"), []).append(route)
        for routes in self._routes.values():
            routes.sort(key=lambda route: route[0], reverse=True)  # literal segments first, as the contract

    def operation_id(self, method: str, url: str) -> str | None:
        """The operation serving ``method url`` (the contract's routing: base path, most literal
        template first), or None."""
        path = url
        if "://" in url or url.startswith("//"):
            path = "/" + url.split("//", 1)[1].partition("/")[2]
        path = path.split("?", 1)[0].split("#", 1)[0] or "/"
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path) :] or "/"
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        method = method.upper()
        for _, pattern, route_method, operation_id in self._routes.get(path.count("/"), ()):
            if route_method == method and pattern.fullmatch(path):
                return operation_id
        return None

    def place(self, method: str | None, url: str | None, side: str) -> Place | None:
        """The contract's place for a body of ``side`` (request or response), or None when the
        operation is not known (rules 2 and 3 still apply)."""
        operation_id = self.operation_id(method, url) if method and url else None
        if operation_id is None:
            return None
        _, _, request, response = self.operations[operation_id]
        return request if side == "request" else response

    def locations(self, operation_id: str) -> tuple[Location, ...]:
        """Every place the contract makes personal in ``operation_id``'s bodies."""
        _, _, request, response = self.operations[operation_id]
        return tuple(
            Location(operation_id, side, path, kind)
            for side, place in (("request", request), ("response", response))
            if place is not None
            for path, kind in _locations(place, "$")
        )

    def to_json(self) -> dict[str, Any]:
        operations = {
            op: [method, template, None if rq is None else rq.to_json(), None if rs is None else rs.to_json()]
            for op, (method, template, rq, rs) in self.operations.items()
        }
        return {"base_path": self.base_path, "operations": operations}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PersonalData:
        operations = {
            str(op): (
                str(m),
                str(t),
                None if rq is None else Place.from_json(rq),
                None if rs is None else Place.from_json(rs),
            )
            for op, (m, t, rq, rs) in data["operations"].items()
        }
        return cls(str(data["base_path"]), operations)


def derive(contract: Contract) -> PersonalData:
    """Where ``contract`` puts personal data; prefer :func:`personal_data`, which caches this."""
    deriver = _Deriver(contract)
    operations = {}
    for operation in contract:
        body = operation.request_body
        requests = (
            m.schema for m in (body.content.values() if body is not None else ()) if m.schema is not None
        )
        responses = (
            m.schema for r in operation.responses.values() for m in r.content.values() if m.schema is not None
        )
        operations[operation.operation_id] = (
            operation.method,
            operation.path,
            deriver.body(requests),
            deriver.body(responses),
        )
    return PersonalData(contract.base_path, operations)


_BY_CONTRACT: weakref.WeakKeyDictionary[Contract, PersonalData] = weakref.WeakKeyDictionary()


def personal_data(contract: Contract | None = None) -> PersonalData:
    """What ``contract`` (default: the shipped one) says is personal, derived once and cached."""
    if contract is None:
        return default_personal_data()
    found = _BY_CONTRACT.get(contract)
    if found is None:
        found = _BY_CONTRACT[contract] = derive(contract)
    return found


# --------------------------------------------------------------------------- the shipped contract, on disk

#: Where derivations of the shipped contract are kept between runs: ``$TALON_CONTRACTS_CACHE_DIR``
#: (empty: never), else ``$XDG_CACHE_HOME/talon-contracts``, else ``~/.cache/talon-contracts``.
CACHE_ENV = "TALON_CONTRACTS_CACHE_DIR"
_FORMAT = b"personal-data 1"
_DEFAULT: list[PersonalData] = []  # this process's, once read or derived


def _cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "talon-contracts"


def _fingerprint(vendor: Path, overlay: Path) -> str:
    """What the derivation depends on: the two documents' bytes, and the code that loads them and
    derives (every module of ``contracts``, this one and the policies, by size and modification
    time): an edit anywhere there derives again."""
    digest = hashlib.sha256(_FORMAT)
    for document in (vendor, overlay):
        digest.update(document.read_bytes())
    here = Path(__file__).resolve()
    code = [
        *sorted(Path(contracts.__file__).resolve().parent.rglob("*.py")),
        here,
        here.with_name("policies.py"),
    ]
    for path in code:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def default_personal_data(load: Callable[[], Contract] | None = None, *, reuse: bool = True) -> PersonalData:
    """The shipped contract's derivation: this process's, else the one kept on disk for the same
    documents and code, else derived (``load``: how to load the contract) and kept. A cache that
    cannot be read or written is ignored: the derivation is then made in memory. ``reuse=False``
    looks past this process's copy (to the disk, then the contract)."""
    if _DEFAULT and reuse:
        return _DEFAULT[0]
    _DEFAULT.clear()
    from contracts.spec import DEFAULT_OVERLAY, DEFAULT_VENDOR_CONTRACT, load_contract

    directory = _cache_dir()
    path = None
    try:
        if directory is not None:
            path = directory / f"personal-{_fingerprint(DEFAULT_VENDOR_CONTRACT, DEFAULT_OVERLAY)}.json"
            _DEFAULT.append(PersonalData.from_json(orjson.loads(path.read_bytes())))
            return _DEFAULT[0]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, unreadable or from another format: derived again below
    found = personal_data((load or load_contract)())
    _DEFAULT.append(found)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            temporary.write_bytes(orjson.dumps(found.to_json()))
            os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the new one
            for stale in path.parent.glob("personal-*.json"):  # other documents' or code's: not read again
                if stale != path:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass
    return found
