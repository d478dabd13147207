"""The rules of the spec diff: every kind of change it reports, as data.

Each rule has a stable id (what ignore files, ``--severity`` and JUnit test names refer to), a
level and two sentences: what changed, and why that breaks a client or not. Levels are judged
from the client's side of the wire:

* in a **request**, what narrows what the API accepts breaks the client (a new required field, a
  tightened bound, a removed enum value): ERR; what widens it is INFO;
* in a **response**, what widens what the client may receive can break it, because clients that
  validate answers refuse them. The official SDKs do: openapi-generator's models check, when they
  read an answer, that required properties are not None and that values are in their enum, within
  their bounds, lengths, item counts and pattern (``ValueError`` in the model's setters, with
  ``client_side_validation`` on by default). Where the SDK fails, the level is ERR; where only some
  clients may, WARN. What narrows a response is INFO.

Schema rules exist once per direction (``request-…`` and ``response-…``, generated from one row of
``_FACETS``); the other rules are written out in ``_OTHER``. Every rule names its mirror (the
opposite change) or says why it has none; ``tests/contracts/specdiff/test_rules.py`` holds the
table to that.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import TalonContractsError

__all__ = ["RULES", "Level", "Rule", "UnknownRule", "rule"]


class Level(enum.IntEnum):
    INFO = 1
    WARN = 2
    ERR = 3

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str) -> Level:
        """``"err"`` -> ``Level.ERR``; anything else is a ValueError listing the valid names."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}; valid: ERR, WARN, INFO") from None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: Level
    meaning: str  # what changed
    why: str  # why a client breaks, may break, or does not
    mirror: str | None = None  # the rule of the opposite change
    no_mirror: str = ""  # why there is none


class UnknownRule(TalonContractsError, LookupError):
    """A rule id that does not exist (in an ignore file, ``--severity`` ...); suggests the closest."""

    def __init__(self, rule_id: str, where: str = "") -> None:
        self.rule_id = rule_id
        close = difflib.get_close_matches(rule_id, RULES, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown rule id {rule_id!r}{hint} (`talon-contracts diff --rules` lists all {len(RULES)})"
        )

    def __str__(self) -> str:
        return str(self.args[0])


E, W, I = Level.ERR, Level.WARN, Level.INFO  # noqa: E741 - the table reads better with one letter
_SDK = "the official SDKs check this when they read an answer and raise for a value outside it"

# fmt: off
# suffix, meaning, (request level, why), (response level, why), mirror suffix | None, no-mirror reason
_FACETS: tuple[tuple[str, str, tuple[Level, str], tuple[Level, str], str | None, str], ...] = (
    ("type-narrowed", "the schema admits fewer JSON types",
     (E, "values of the dropped types are refused"), (I, "the client receives fewer kinds of value"),
     "type-widened", ""),
    ("type-widened", "the schema admits more JSON types",
     (I, "the API accepts more"), (E, "a value of a new type may arrive, which typed SDK models cannot read"),
     "type-narrowed", ""),
    ("type-changed", "the type changed to one that neither contains nor is contained in the old one",
     (E, "what the client sends is refused"), (E, "what arrives is not what the client parses"),
     None, "a change between unrelated types is its own opposite"),
    ("nullable-removed", "null is no longer allowed",
     (E, "a client that sends null is refused"), (I, "the client no longer receives null"),
     "nullable-added", ""),
    ("nullable-added", "null is allowed where it was not",
     (I, "the API accepts more"),
     (W, "null may arrive where it never did; clients that do not expect it break (for an optional "
         "property the SDK accepts None)"),
     "nullable-removed", ""),
    ("enum-value-removed", "a value was removed from an enum",
     (E, "a client that sends it is refused"), (I, "the client no longer receives it"),
     "enum-value-added", ""),
    ("enum-value-added", "a value was added to an enum",
     (I, "the API accepts one more value"),
     (E, f"{_SDK} (ValueError for an unknown enum value); an exhaustive switch breaks too"),
     "enum-value-removed", ""),
    ("enum-added", "an enum now restricts a value that was free",
     (E, "only the listed values are accepted now"), (I, "the client receives fewer values"),
     "enum-removed", ""),
    ("enum-removed", "a value restricted to an enum is now free",
     (I, "the API accepts more"), (E, f"any value may arrive; {_SDK}"),
     "enum-added", ""),
    ("max-tightened", "the maximum is lower, exclusive, or new",
     (E, "values above the new maximum are refused"), (I, "the client receives smaller values"),
     "max-loosened", ""),
    ("max-loosened", "the maximum is higher, inclusive, or gone",
     (I, "the API accepts more"), (E, f"larger values may arrive; {_SDK}"),
     "max-tightened", ""),
    ("min-tightened", "the minimum is higher, exclusive, or new",
     (E, "values below the new minimum are refused"), (I, "the client receives larger values"),
     "min-loosened", ""),
    ("min-loosened", "the minimum is lower, inclusive, or gone",
     (I, "the API accepts more"), (E, f"smaller values may arrive; {_SDK}"),
     "min-tightened", ""),
    ("max-length-tightened", "maxLength is lower or new",
     (E, "longer strings are refused"), (I, "the client receives shorter strings"),
     "max-length-loosened", ""),
    ("max-length-loosened", "maxLength is higher or gone",
     (I, "the API accepts more"), (E, f"longer strings may arrive; {_SDK}"),
     "max-length-tightened", ""),
    ("min-length-tightened", "minLength is higher or new",
     (E, "shorter strings are refused"), (I, "the client receives longer strings"),
     "min-length-loosened", ""),
    ("min-length-loosened", "minLength is lower or gone",
     (I, "the API accepts more"), (E, f"shorter strings may arrive; {_SDK}"),
     "min-length-tightened", ""),
    ("max-items-tightened", "maxItems is lower or new",
     (E, "longer arrays are refused"), (I, "the client receives shorter arrays"),
     "max-items-loosened", ""),
    ("max-items-loosened", "maxItems is higher or gone",
     (I, "the API accepts more"), (E, f"longer arrays may arrive; {_SDK}"),
     "max-items-tightened", ""),
    ("min-items-tightened", "minItems is higher or new",
     (E, "shorter arrays are refused"), (I, "the client receives longer arrays"),
     "min-items-loosened", ""),
    ("min-items-loosened", "minItems is lower or gone",
     (I, "the API accepts more"), (E, f"shorter arrays may arrive; {_SDK}"),
     "min-items-tightened", ""),
    ("pattern-added", "a string must now match a pattern",
     (E, "strings that do not match are refused"), (I, "the client receives fewer kinds of string"),
     "pattern-removed", ""),
    ("pattern-removed", "a string no longer has to match a pattern",
     (I, "the API accepts more"), (E, f"strings outside the old pattern may arrive; {_SDK}"),
     "pattern-added", ""),
    ("pattern-changed", "the pattern changed",
     (E, "strings the old pattern took may be refused"), (E, f"strings outside the old pattern may arrive; {_SDK}"),
     None, "changing a pattern back is another pattern change"),
    ("format-narrowed", "the format is narrower (int64 to int32, none to date-time ...)",
     (E, "values of the wider format are refused"), (I, "the client receives narrower values"),
     "format-widened", ""),
    ("format-widened", "the format is wider (int32 to int64, date-time to none ...)",
     (I, "the API accepts more"),
     (E, "a value may not fit what the client parses (an int32 field, a date-time parser)"),
     "format-narrowed", ""),
    ("format-changed", "the format changed to an unrelated one",
     (E, "values of the old format are refused"), (E, "values arrive in a format the client does not parse"),
     None, "a change between unrelated formats is its own opposite"),
    ("default-changed", "the default value changed (or appeared, or went)",
     (W, "a client that omits the value gets a different behaviour (a page size, a flag)"),
     (I, "a default in an answer's schema changes nothing on the wire"),
     None, "a changed value has no opposite"),
    ("property-added", "an optional property was added",
     (I, "clients that do not send it are unaffected"),
     (I, "clients ignore properties they do not know (the SDK models drop them)"),
     "property-removed", ""),
    ("property-removed", "an optional property was removed",
     (W, "the API no longer reads it: what the client sends there is ignored (or refused: see "
         "additional-properties-closed)"),
     (W, "the client reads nothing there any more (None from the SDK)"),
     "property-added", ""),
    ("required-property-added", "a required property was added",
     (E, "requests without it are refused"), (I, "the client receives one more property"),
     "required-property-removed", ""),
    ("required-property-removed", "a required property was removed",
     (W, "the API no longer reads it: what the client sends there is ignored"),
     (E, "the SDK refuses an answer that lacks a required property ('must not be None')"),
     "required-property-added", ""),
    ("property-became-required", "an optional property is now required",
     (E, "requests without it are refused"), (I, "the client can rely on it"),
     "property-became-optional", ""),
    ("property-became-optional", "a required property is now optional",
     (I, "the client may leave it out"),
     (E, "answers may lack it, and the SDK refuses an answer without a required property"),
     "property-became-required", ""),
    ("additional-properties-closed", "properties beyond those listed are no longer allowed",
     (E, "a client that sends others is refused"), (I, "the client receives only listed properties"),
     "additional-properties-opened", ""),
    ("additional-properties-opened", "properties beyond those listed are now allowed",
     (I, "the API accepts more"),
     (W, "unknown properties may arrive (the SDK models drop them; strict validators refuse them)"),
     "additional-properties-closed", ""),
    ("one-of-member-added", "oneOf has one more member",
     (W, "one more shape is accepted, but a value that now fits two members is refused by oneOf"),
     (W, "a shape the client does not know may arrive"),
     "one-of-member-removed", ""),
    ("one-of-member-removed", "oneOf has one member less",
     (E, "a value of that shape is refused"), (I, "the client receives fewer shapes"),
     "one-of-member-added", ""),
    ("any-of-member-added", "anyOf has one more member",
     (I, "one more shape is accepted"), (W, "a shape the client does not know may arrive"),
     "any-of-member-removed", ""),
    ("any-of-member-removed", "anyOf has one member less",
     (E, "a value of that shape is refused"), (I, "the client receives fewer shapes"),
     "any-of-member-added", ""),
    ("all-of-member-added", "allOf has one more member",
     (E, "values must satisfy one more schema"), (I, "answers satisfy one more schema"),
     "all-of-member-removed", ""),
    ("all-of-member-removed", "allOf has one member less",
     (I, "the API accepts more"), (W, "answers need no longer satisfy that member"),
     "all-of-member-added", ""),
    ("deprecated", "a schema or property is now deprecated",
     (W, "the vendor plans to stop reading it"), (W, "the vendor plans to stop sending it"),
     "undeprecated", ""),
    ("undeprecated", "a schema or property is no longer deprecated",
     (I, "nothing changes on the wire"), (I, "nothing changes on the wire"),
     "deprecated", ""),
    ("keyword-changed", "a validation keyword without a rule of its own changed (multipleOf, uniqueItems, "
     "not, prefixItems, minProperties, discriminator ...), or a schema it refers to",
     (E, "it may narrow what the API accepts; which way it goes is not judged, so it counts as breaking"),
     (E, "it may widen what arrives; which way it goes is not judged, so it counts as breaking"),
     None, "one rule covers both directions of every keyword it watches"),
)

# Rules that are not schema facets: id, level, meaning, why, mirror, no-mirror reason
_OTHER: tuple[tuple[str, Level, str, str, str | None, str], ...] = (
    ("operation-removed", E, "an operation is gone", "calls to it fail", "operation-added", ""),
    ("operation-added", I, "a new operation", "nothing the client does changes", "operation-removed", ""),
    ("operation-renamed", W, "the operationId changed; method and path did not",
     "the wire is unchanged, but SDK method names and tooling keyed by operationId follow the id",
     None, "renaming back is another rename"),
    ("operation-path-changed", E, "the operation (same operationId) moved to another path",
     "the old URL no longer reaches it", None, "a move back is another move"),
    ("operation-method-changed", E, "the operation (same operationId) takes another HTTP method",
     "the old method no longer reaches it", None, "a change back is another change"),
    ("operation-deprecated", W, "the operation is now deprecated", "the vendor plans to remove it",
     "operation-undeprecated", ""),
    ("operation-undeprecated", I, "the operation is no longer deprecated", "nothing changes on the wire",
     "operation-deprecated", ""),
    ("api-base-path-changed", E, "the base path of the server URL changed", "every URL the client builds changes",
     None, "a change back is another change"),
    ("request-parameter-added", I, "an optional parameter was added", "clients that omit it are unaffected",
     "request-parameter-removed", ""),
    ("request-parameter-removed", W, "a parameter was removed",
     "the API no longer reads it: the client's value is ignored", "request-parameter-added", ""),
    ("request-required-parameter-added", E, "a required parameter was added", "calls without it are refused",
     "request-required-parameter-removed", ""),
    ("request-required-parameter-removed", W, "a required parameter was removed",
     "the API no longer reads it: the client's value is ignored", "request-required-parameter-added", ""),
    ("request-parameter-became-required", E, "an optional parameter is now required",
     "calls without it are refused", "request-parameter-became-optional", ""),
    ("request-parameter-became-optional", I, "a required parameter is now optional",
     "the client may leave it out", "request-parameter-became-required", ""),
    ("request-parameter-moved", E, "a parameter moved to another part of the request (path, query, header, cookie)",
     "the API reads it where the client does not put it", None, "a move back is another move"),
    ("request-parameter-style-changed", E, "a parameter is written differently on the wire (style and explode of "
     "an array, an object or a path parameter; its content type; allowEmptyValue)",
     "the API reads what the client sends differently, or refuses it", None, "a change back is another change"),
    ("request-parameter-became-list", I, "a single-valued parameter now takes a list",
     "a single value serialises as before, so the client's calls still fit", "request-parameter-became-scalar", ""),
    ("request-parameter-became-scalar", E, "a list parameter now takes a single value",
     "a client that sends several values is refused", "request-parameter-became-list", ""),
    ("request-parameter-deprecated", W, "a parameter is now deprecated", "the vendor plans to stop reading it",
     "request-parameter-undeprecated", ""),
    ("request-parameter-undeprecated", I, "a parameter is no longer deprecated", "nothing changes on the wire",
     "request-parameter-deprecated", ""),
    ("request-path-parameter-renamed", I, "a path parameter has another name",
     "path parameters are positional: the URL is the same", None, "renaming back is another rename"),
    ("request-body-added", I, "an optional request body was added", "clients that send none are unaffected",
     "request-body-removed", ""),
    ("request-body-removed", W, "the request body is gone", "the API no longer reads what the client sends",
     "request-body-added", ""),
    ("request-required-body-added", E, "a required request body was added", "calls without a body are refused",
     None, "removing a required body is request-body-removed: the API stops reading it either way"),
    ("request-body-became-required", E, "the request body is now required", "calls without a body are refused",
     "request-body-became-optional", ""),
    ("request-body-became-optional", I, "the request body is now optional", "the client may leave it out",
     "request-body-became-required", ""),
    ("request-media-type-removed", E, "the API no longer accepts a request content type",
     "a client that sends it is refused (415)", "request-media-type-added", ""),
    ("request-media-type-added", I, "the API accepts one more request content type",
     "nothing the client does changes", "request-media-type-removed", ""),
    ("response-success-status-removed", E, "a documented success status is gone",
     "the client's handling of that answer no longer applies: another status comes back",
     "response-success-status-added", ""),
    ("response-success-status-added", W, "a new success status is documented",
     "an answer the client does not expect may arrive (a 204 without a body)",
     "response-success-status-removed", ""),
    ("response-error-status-removed", I, "a documented error status is gone", "the client receives fewer errors",
     "response-error-status-added", ""),
    ("response-error-status-added", W, "a new error status is documented",
     "an error the client does not handle specifically may arrive", "response-error-status-removed", ""),
    ("response-media-type-removed", E, "an answer no longer comes in a content type",
     "a client that asks for it, or parses it, gets something else", "response-media-type-added", ""),
    ("response-media-type-added", W, "an answer may come in one more content type",
     "a content type the client does not parse may arrive", "response-media-type-removed", ""),
    ("response-header-added", I, "an optional response header was added", "clients ignore headers they do not read",
     "response-header-removed", ""),
    ("response-header-removed", W, "a response header is gone", "a client that reads it gets nothing",
     "response-header-added", ""),
    ("response-required-header-added", I, "a required response header was added",
     "the client receives one more header", "response-required-header-removed", ""),
    ("response-required-header-removed", E, "a required response header is gone",
     "a client that relies on it gets nothing", "response-required-header-added", ""),
    ("response-header-became-required", I, "a response header is now always sent", "the client can rely on it",
     "response-header-became-optional", ""),
    ("response-header-became-optional", W, "a response header that was always sent may be missing",
     "a client that relies on it may get nothing", "response-header-became-required", ""),
    ("security-requirement-removed", E, "a way to authenticate is gone (or authentication is now needed)",
     "a client that authenticates that way is refused (401)", "security-requirement-added", ""),
    ("security-requirement-added", I, "one more way to authenticate", "nothing the client does changes",
     "security-requirement-removed", ""),
    ("security-scopes-added", E, "a security requirement asks for more scopes",
     "a credential without them is refused (403)", "security-scopes-removed", ""),
    ("security-scopes-removed", I, "a security requirement asks for fewer scopes", "nothing the client does changes",
     "security-scopes-added", ""),
    ("security-scheme-changed", E, "a security scheme changed (type, header name, location, bearer format)",
     "the credential is looked for where the client does not put it", None, "a change back is another change"),
)

#: Rules only one direction has, with the reason (the symmetry test reads this).
ONE_DIRECTION: dict[str, str] = {
    "response-required-nullable-added": "in a request, null in a required property is request-nullable-added",
    "response-required-nullable-removed": "in a request, null in a required property is request-nullable-removed",
    "request-property-became-read-only": "readOnly only hides a property from requests; answers see writeOnly",
    "request-property-no-longer-read-only": "readOnly only hides a property from requests; answers see writeOnly",
    "response-property-became-write-only": "writeOnly only hides a property from answers; requests see readOnly",
    "response-property-no-longer-write-only": "writeOnly only hides a property from answers; requests see readOnly",
    "request-property-removed-from-closed-object": "in an answer, a property removed from a closed object is "
    "response-property-removed: the client receives less either way",
}
_ONE_DIRECTION_RULES = (
    ("response-required-nullable-added", E, "null is allowed in a required property where it was not",
     "the SDK refuses None for a required property ('must not be None')", "response-required-nullable-removed", ""),
    ("response-required-nullable-removed", I, "null is no longer allowed in a required property",
     "the client no longer receives null", "response-required-nullable-added", ""),
    ("request-property-became-read-only", E, "a property the client could send is now readOnly",
     "a request that carries it is refused", "request-property-no-longer-read-only", ""),
    ("request-property-no-longer-read-only", I, "a readOnly property may now be sent",
     "the API accepts more", "request-property-became-read-only", ""),
    ("response-property-became-write-only", E, "a property of the answer is now writeOnly",
     "answers no longer carry it: a client reading it gets nothing, the SDK refuses an answer without a "
     "property it requires", "response-property-no-longer-write-only", ""),
    ("response-property-no-longer-write-only", I, "a writeOnly property is now sent in answers",
     "clients ignore properties they do not know", "response-property-became-write-only", ""),
    ("request-property-removed-from-closed-object", E, "a property was removed from an object that takes no "
     "other properties (additionalProperties: false)", "a request that still sends it is refused", None,
     "adding a property to a closed object is request-property-added: clients that do not send it are "
     "unaffected"),
)
# fmt: on

#: The direction-free names of the schema rules (``enum-value-added`` ...).
FACETS: tuple[str, ...] = tuple(row[0] for row in _FACETS)


def _build() -> Iterator[Rule]:
    for suffix, meaning, request, response, mirror, no_mirror in _FACETS:
        for direction, (level, why) in (("request", request), ("response", response)):
            yield Rule(f"{direction}-{suffix}", level, meaning, why,
                       f"{direction}-{mirror}" if mirror else None, no_mirror)  # fmt: skip
    for rule_id, level, meaning, why, mirror, no_mirror in (*_OTHER, *_ONE_DIRECTION_RULES):
        yield Rule(rule_id, level, meaning, why, mirror, no_mirror)


RULES: dict[str, Rule] = {r.id: r for r in _build()}


def rule(rule_id: str) -> Rule:
    """The rule with this id; :class:`UnknownRule` (with suggestions) otherwise."""
    found = RULES.get(rule_id)
    if found is None:
        raise UnknownRule(rule_id)
    return found
