"""Redaction: no credential and no personal data leaves a recording.

On by default, for requests and responses, headers and bodies:

* credential headers (``Authorization``, cookies ...) are replaced by placeholders
  (``Authorization: ApiKey-v1 REDACTED`` keeps the scheme, so the contract's check still applies);
* personal data is replaced by pseudonyms: where the contract puts it (attribute maps, a person's
  fields), members whose names denote it (e-mail, phone, address, birth date ...) and anything
  shaped like an e-mail address, whatever holds it (``replay.talon.personal`` says what is
  personal and why), plus any JSON path given (``--redact-path``). A :class:`Redactor` gives the
  same pseudonym to the same value, so a redacted cassette still replays consistently (the profile
  renamed in request 3 is the one found in response 7), and a pseudonym keeps the value's JSON type
  and shape where a format could check it (an e-mail stays an e-mail, a birth date an RFC 3339
  timestamp or date, an IP address an IP address), and is recognised as one: a later pass, with
  any key, leaves it as it is (``is_pseudonym``; numbers excepted, having no shape of their own), so
  that converting a converted cassette changes nothing. Identifier fields (profile and session ids)
  are left alone: the replay's id flows carry them;
* :func:`find_secrets` looks for what must never be saved: the API key in use, anywhere, and
  anything shaped like a Talon.One API key; :func:`save` refuses to write a cassette where one is
  found, and says where.

The same rules serve the pytest side through vcrpy: ``replay.recording.vcrpy.vcr_config``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from contracts.errors import TalonContractsError
from contracts.http import HttpRequest, HttpResponse, is_json_media, media_type, normalize_headers, parse_json
from replay.cassettes import write_cassette
from replay.cassettes.model import (
    AUTH_PLACEHOLDER,
    FOREIGN_AUTH_PLACEHOLDER,
    PLACEHOLDER,
    Interaction,
    decoded_body,
    is_filtered_credential,
)
from replay.paths import PathPattern, value_at
from replay.talon.personal import (
    PersonalData,
    Place,
    is_attribute_map_key,
    is_identifier_key,
    is_personal_key,
    personal_data,
    value_kind,
)
from replay.talon.policies import AUTH_SCHEME, KEY_SHAPE, PERSONAL_DATA_PATHS

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = [
    "AUTH_PLACEHOLDER",
    "DEFAULT_PATHS",
    "EMAIL",
    "FOREIGN_AUTH_PLACEHOLDER",
    "PLACEHOLDER",
    "PSEUDONYM_DOMAIN",
    "RedactionRules",
    "Redactor",
    "SecretLeakError",
    "find_secrets",
    "is_pseudonym",
    "save",
]


#: The personal attribute names of ``replay.talon.policies``, as paths (what ``--redact-path`` adds
#: to). With ``RedactionRules.personal`` on, the rules cover them: they are not walked one by one.
DEFAULT_PATHS = PERSONAL_DATA_PATHS
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
DEFAULT_QUERY = ("api_key", "apikey", "token", "access_token")
#: What an e-mail address looks like, inside any text (the backstop of ``replay.talon.personal``).
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
#: Pseudonymous e-mail addresses are at this reserved domain (RFC 6761): never anyone's address,
#: so they are left as they are (redacting a redacted cassette again changes nothing).
PSEUDONYM_DOMAIN = "@example.invalid"
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")

#: What a pseudonym looks like, so that a later pass (any key) leaves it as it is: redacting a
#: redacted cassette changes nothing. Each shape is one that no real value of its kind takes, so
#: that nothing real escapes by looking like a pseudonym:
#: * phone: ``+000`` and 9 digits: there is no country code 0 (E.164), no one's number is one;
#: * date: a day of the 1800s, in the two forms written (date, or midnight UTC): no living person
#:   was born then, and no customer's event of this API dates from then;
#: * IPv4: 198.18.0.0/15 (RFC 2544, reserved for benchmarking, routed nowhere); IPv6: 2001:db8::/32
#:   (RFC 3849, documentation), each in the exact form written;
#: * e-mail: any address at ``PSEUDONYM_DOMAIN`` (RFC 6761: ``.invalid`` never resolves);
#: * text: the member's name as written (first letter capitalised), a dash and exactly 10 lowercase
#:   hex digits (``Name-1a2b3c4d5e``), checked against the member it is found under. No name,
#:   address or city is spelled so; a real value that is (a reference ``Street-0a1b2c3d4e`` under
#:   ``Street``) holds nothing but 40 bits of hex beside the member's own name.
#: Numbers have no such shape (every number is a possible real value): a personal number gets a new
#: pseudonym at every pass, which hides it again rather than letting any real one through.
_PSEUDONYMS = re.compile(
    r"\+000\d{9}"
    r"|18\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])(?:T00:00:00Z)?"
    r"|198\.1[89]\.(?:25[0-5]|2[0-4]\d|1?\d?\d)\.(?:25[0-5]|2[0-4]\d|1?\d?\d)"
    r"|2001:db8::[0-9a-f]{4}:[0-9a-f]{4}"
)
_TEXT_DIGEST = re.compile(r"-[0-9a-f]{10}")
_TEXT_MEDIA = re.compile(r"text/.*|application/(?:x-www-form-urlencoded|xml|.*\+xml)")

# "ApiKey-v1 <key>" with anything but our placeholder; and what a bare key looks like.
# One pattern, so that each text is searched once (two searches were a third of a capture's
# recording cost: 8 texts an exchange).
_KEY_SHAPED = re.compile(rf"{AUTH_SCHEME}\s+(?!{PLACEHOLDER}\b)[A-Za-z0-9._~+/=-]{{8,}}|{KEY_SHAPE}")


class SecretLeakError(TalonContractsError, ValueError):
    """A cassette about to be written still holds a credential."""

    def __init__(self, path: str | Path, findings: list[str]) -> None:
        self.path = str(path)
        self.findings = findings
        shown = "; ".join(findings[:10]) + (f"; ... ({len(findings)} in all)" if len(findings) > 10 else "")
        super().__init__(f"refusing to write {path}: it would contain credentials: {shown}")


@dataclass(frozen=True, slots=True)
class RedactionRules:
    """What to redact. ``enabled=False`` turns everything off (the secret check stays on).

    ``personal``: the personal data the contract and ``replay.talon.personal`` name (on by
    default); off, only ``json_paths`` are pseudonymised.
    """

    enabled: bool = True
    headers: tuple[str, ...] = DEFAULT_HEADERS
    json_paths: tuple[str, ...] = DEFAULT_PATHS
    query_parameters: tuple[str, ...] = DEFAULT_QUERY
    personal: bool = True

    def __post_init__(self) -> None:
        for path in self.json_paths:
            try:
                PathPattern(path)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"redaction path {path!r}: {exc}") from None


_COVERED = frozenset(DEFAULT_PATHS)  # what the personal rules pseudonymise anyway (tested)


@dataclass(slots=True)
class Redactor:
    """Applies :class:`RedactionRules`; the pseudonyms of one Redactor are consistent (use one per cassette).

    ``contract``: where personal data is, per operation (default: the shipped contract's, read
    the first time a JSON body is redacted).
    """

    rules: RedactionRules = field(default_factory=RedactionRules)
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)  # the pseudonyms' key
    api_key: str | None = field(
        default=None, repr=False
    )  # the key in use: others get FOREIGN_AUTH_PLACEHOLDER
    contract: Contract | None = field(default=None, repr=False)
    _compiled: list[PathPattern] = field(default_factory=list, init=False)
    _personal: PersonalData | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # the default paths are the policies' attribute names, which the personal rules cover
        # wherever an attribute map is: walking them again would cost 30 descents per body
        paths = [p for p in self.rules.json_paths if not (self.rules.personal and p in _COVERED)]
        self._compiled = [PathPattern(p) for p in paths]

    # -- pseudonyms

    def pseudonym(self, key: str, value: str) -> str:
        """A stand-in for ``value`` found under member ``key``: same value, same stand-in (any key
        case), shaped like what it replaces (an e-mail address is one whatever its key); a
        pseudonym is its own (:func:`is_pseudonym`), whatever the key that made it."""
        if is_pseudonym(key, value):
            return value  # one already: redacting a redacted cassette changes nothing
        kind = "mail" if EMAIL.fullmatch(value) else value_kind(key)
        if kind == "ip" and not (_IPV4.fullmatch(value) or ":" in value):
            kind = "text"
        digest = hmac.new(self.salt, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
        if kind == "mail":
            return f"person-{digest[:10]}{PSEUDONYM_DOMAIN}"
        if kind == "phone":
            return "+000" + str(int(digest[:12], 16)).zfill(9)[:9]
        if kind == "date":  # still a valid `time` attribute, or `date` when it was one
            number = int(digest[:8], 16)
            day = f"18{number % 100:02d}-{1 + number // 100 % 12:02d}-{1 + number // 1200 % 28:02d}"
            return day if _DATE.fullmatch(value) else f"{day}T00:00:00Z"
        if kind == "ip":  # 198.18.0.0/15 (RFC 2544, benchmarking), 2001:db8::/32 (RFC 3849, documentation)
            if ":" in value:
                return f"2001:db8::{digest[:4]}:{digest[4:8]}"
            return f"198.{18 + int(digest[0], 16) % 2}.{int(digest[1:3], 16)}.{int(digest[3:5], 16)}"
        return f"{_capitalised(key)}-{digest[:10]}"

    def emails(self, text: str) -> str:
        """``text`` with every e-mail address in it pseudonymised (pseudonyms stay)."""
        if "@" not in text:
            return text
        return EMAIL.sub(
            lambda m: m[0] if m[0].endswith(PSEUDONYM_DOMAIN) else self.pseudonym("email", m[0]), text
        )

    # -- parts of an exchange

    def headers(self, headers: Any) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        pairs = headers.items() if isinstance(headers, Mapping) else headers or []
        for name, values in pairs:
            values = values if isinstance(values, list) else [values]
            if name.lower() in self.rules.headers:
                result[name] = [self._placeholder(name, str(v)) for v in values]
            else:
                result[name] = [str(v) for v in values]
        return result

    def _placeholder(self, name: str, value: str) -> str:
        if name.lower() not in ("authorization", "proxy-authorization"):
            return PLACEHOLDER
        if value in (AUTH_PLACEHOLDER, FOREIGN_AUTH_PLACEHOLDER):
            return value
        if is_filtered_credential(value):  # another tool's placeholder: which key is not known
            return AUTH_PLACEHOLDER
        if self.api_key and self.api_key not in value:
            return FOREIGN_AUTH_PLACEHOLDER
        return AUTH_PLACEHOLDER

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        pairs = [(k, PLACEHOLDER if k.lower() in self.rules.query_parameters else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]  # fmt: skip
        return urlunsplit(parts._replace(query=urlencode(pairs, safe=",:")))

    def value(self, key: str, value: Any) -> Any:
        """A pseudonym for any JSON value: text by shape, numbers digit for digit, containers inside."""
        if isinstance(value, str):
            return self.pseudonym(key, value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            digest = hmac.new(self.salt, f"number\x00{value!r}".encode(), hashlib.sha256).hexdigest()
            digits = str(int(digest[:15], 16))[: max(1, len(str(abs(int(value)))))]
            return int(digits) if isinstance(value, int) else float(digits)
        if isinstance(value, list):
            return [self.value(key, item) for item in value]
        if isinstance(value, dict):
            return {name: self.value(name, item) for name, item in value.items()}
        return value

    def json(
        self, document: Any, *, method: str | None = None, url: str | None = None, side: str = "request"
    ) -> tuple[Any, bool]:
        """(the document with its personal data and every configured path pseudonymised, whether
        anything changed). ``method`` and ``url`` (the request's) tell which operation's contract
        applies; without them only the rules that need no contract do."""
        changed = False
        for path in self._compiled:
            for location in list(path.locations(document)):
                if not location:
                    continue  # "$": the document itself is not a value to pseudonymise
                parent: Any = value_at(document, location[:-1])  # a dict or a list: the path selected in it
                key = location[-1]
                value = parent[key]
                replacement = self.value(str(key), value)
                if replacement != value:
                    parent[key] = replacement
                    changed = True
        if self.rules.personal:
            if self._personal is None:
                self._personal = personal_data(self.contract)
            if isinstance(document, str):  # a body that is one JSON string
                replaced = self.emails(document)
                return replaced, changed or replaced != document
            place = self._personal.place(method, url, side)
            changed = self._personal_values(document, place) or changed
        return document, changed

    def _personal_values(self, document: Any, place: Place | None) -> bool:
        """Pseudonymise what ``replay.talon.personal`` calls personal, in place; whether anything was.

        One walk, with an explicit stack (a hostile body nested a thousand deep must not overflow
        it), following the contract's places beside the document: in an attribute map every
        member is judged by its name; elsewhere a member by its name, a bare ``name`` only in a
        person's object; any text by the e-mail addresses in it, except identifiers'.
        """
        changed = False
        stack: list[tuple[Any, Place | None, bool, str]] = [(document, place, False, "")]
        while stack:
            node, here, attributes, owner = stack.pop()
            if isinstance(node, list):
                below = here.each if here is not None else None
                keep_ids = not attributes and is_identifier_key(owner)  # integrationIDs: [...]
                for index, item in enumerate(node):
                    if isinstance(item, str):
                        if not keep_ids and (replaced := self.emails(item)) != item:
                            node[index], changed = replaced, True
                    elif isinstance(item, (dict, list)):
                        stack.append((item, below, attributes, owner))
                continue
            if not isinstance(node, dict):
                continue
            attributes = attributes or (here is not None and here.attributes)
            of_person = attributes or (here is not None and here.person)
            for key, value in node.items():
                name = str(key)
                if is_personal_key(name, of_person=of_person):
                    replacement = self.value(name, value)
                elif isinstance(value, str):
                    keep = not attributes and is_identifier_key(name)  # ids flow: replay.talon.flows
                    replacement = value if keep else self.emails(value)
                else:
                    if isinstance(value, (dict, list)):
                        below = None if attributes or here is None else here.member(name)
                        mapped = attributes or (isinstance(value, dict) and is_attribute_map_key(name))
                        stack.append((value, below, mapped, name))
                    continue
                if replacement != value:
                    node[key], changed = replacement, True
        return changed

    def body(
        self,
        headers: Any,
        body: bytes | str | None,
        *,
        method: str | None = None,
        url: str | None = None,
        side: str = "request",
    ) -> bytes | str | None:
        """A body with its personal data pseudonymised (JSON by the rules and paths, text by the
        e-mail addresses in it); bodies where nothing changed come back byte for byte
        (re-serialising could change number spellings), and so do binary ones."""
        if not body or not (self._compiled or self.rules.personal):
            return body
        media = media_type(normalize_headers(headers).get("content-type"))
        if not media or is_json_media(media) or media == "text/plain":  # fetch() sends JSON as text/plain
            try:
                document = parse_json(body)
            except (ValueError, RecursionError):
                return self._text(body, media)  # not JSON (the secret check still looks at it)
            try:
                document, changed = self.json(document, method=method, url=url, side=side)
            except RecursionError:  # a personal value nested past the interpreter's stack
                return self._text(body, media)
            return _serialised(document) if changed else body
        return self._text(body, media)

    def _text(self, body: bytes | str, media: str | None) -> bytes | str:
        """A text body with its e-mail addresses pseudonymised; anything else as it is."""
        if not self.rules.personal or (
            media and not _TEXT_MEDIA.fullmatch(media) and not is_json_media(media)
        ):
            return body
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            return body
        replaced = self.emails(text)
        if replaced == text:
            return body
        return replaced.encode("utf-8") if isinstance(body, bytes) else replaced

    def message_parts(
        self,
        headers: Any,
        body: bytes | str | None,
        *,
        method: str | None = None,
        url: str | None = None,
        side: str = "request",
    ) -> tuple[dict[str, list[str]], bytes | str | None]:
        """Redacted headers and body of one message. A compressed body is decompressed first (it
        could not be searched or redacted otherwise) and its Content-Encoding dropped, as vcrpy's
        ``decode_compressed_response`` does; Content-Length follows a body that changed."""
        redacted_headers = self.headers(headers)
        decoded = decoded_body(headers, body)
        if decoded is not body:
            redacted_headers = {k: v for k, v in redacted_headers.items() if k.lower() != "content-encoding"}
        new_body = self.body(redacted_headers, decoded, method=method, url=url, side=side)
        if new_body is not body:
            size = str(len(new_body.encode() if isinstance(new_body, str) else new_body or b""))
            for name in redacted_headers:
                if name.lower() == "content-length":
                    redacted_headers[name] = [size]
        return redacted_headers, new_body

    def interaction(self, interaction: Interaction) -> Interaction:
        """A redacted copy of ``interaction``."""
        if not self.rules.enabled:
            return interaction
        request = interaction.request
        where = {"method": request.method, "url": request.url}  # which operation's contract applies
        new_request = HttpRequest(
            request.method, self.url(request.url), *self.message_parts(request.headers, request.body, **where)
        )
        new_response = None
        if interaction.response is not None:
            response = interaction.response
            parts = self.message_parts(response.headers, response.body, side="response", **where)
            new_response = HttpResponse(response.status, *parts)
        return dataclasses.replace(interaction, request=new_request, response=new_response)


def _capitalised(key: str) -> str:
    return f"{key[:1].upper()}{key[1:]}"


def is_pseudonym(key: str, value: str) -> bool:
    """Whether ``value``, found under member ``key``, is a pseudonym already (the shapes and why
    they are safe to recognise: ``_PSEUDONYMS``)."""
    if value.endswith(PSEUDONYM_DOMAIN) and EMAIL.fullmatch(value):
        return True
    if _PSEUDONYMS.fullmatch(value):
        return True
    prefix = _capitalised(key)
    return value.startswith(prefix) and _TEXT_DIGEST.fullmatch(value, len(prefix)) is not None


def _serialised(document: Any) -> bytes:
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the original: keep it escaped
        return json.dumps(document, separators=(",", ":")).encode("ascii")


# --------------------------------------------------------------------------- the secret check


def _texts(interaction: Interaction) -> Iterator[tuple[str, str]]:
    yield "request URL", interaction.request.url
    unquoted = unquote(interaction.request.url)
    if unquoted != interaction.request.url:
        yield "request URL", unquoted
    for side, message in (("request", interaction.request), ("response", interaction.response)):
        if message is None:
            continue
        headers = message.headers
        pairs = headers.items() if isinstance(headers, Mapping) else headers or []
        for name, values in pairs:
            for value in values if isinstance(values, list) else [values]:
                yield f"{side} header {name}", str(value)
        body = decoded_body(headers, message.body)  # a compressed body is searched decompressed
        if body:
            yield f"{side} body", body.decode("utf-8", "replace") if isinstance(body, bytes) else body


def find_secrets(interaction: Interaction, api_key: str | None = None) -> list[str]:
    """Where credentials appear in an interaction ("interaction 3, request header Authorization")."""
    found: list[str] = []
    for where, text in _texts(interaction):
        if (api_key and len(api_key) >= 4 and api_key in text) or _KEY_SHAPED.search(text):
            place = f"interaction {interaction.index}, {where}"
            if place not in found:
                found.append(place)
    return found


def save(
    path: str | Path,
    interactions: Iterable[Interaction],
    *,
    api_key: str | None = None,
    redactor: Redactor | None = None,
    fmt: str = "vcr",
) -> int:
    """Redact and write a cassette atomically; refuse (and write nothing) when a secret remains.

    Streams: interactions are redacted and checked one at a time on their way to the file; a
    finding aborts the write at the end, so that the error lists every place, not just the first.
    """
    redactor = redactor or Redactor()
    findings: list[str] = []

    def checked() -> Iterator[Interaction]:
        for interaction in interactions:
            cleaned = redactor.interaction(interaction)
            findings.extend(find_secrets(cleaned, api_key))
            yield cleaned
        if findings:
            raise SecretLeakError(path, findings)  # inside the atomic write: the old file stays

    return write_cassette(path, checked(), fmt=fmt)


# --------------------------------------------------------------------------- vcrpy
