"""Redaction: no credential and no personal data leaves a recording.

On by default, for requests and responses, headers and bodies:

* credential headers (``Authorization``, cookies ...) are replaced by placeholders
  (``Authorization: ApiKey-v1 REDACTED`` keeps the scheme, so the contract's check still applies);
* values at configurable JSON paths (by default the personal profile attributes: name, e-mail,
  phone, address, birth date) are replaced by pseudonyms. A :class:`Redactor` gives the same
  pseudonym to the same value, so a redacted cassette still replays consistently (the profile
  renamed in request 3 is the one found in response 7), and a pseudonym keeps the value's shape
  where it matters (an e-mail stays an e-mail, a birth date an RFC 3339 timestamp);
* :func:`find_secrets` looks for what must never be saved: the API key in use, anywhere, and
  anything shaped like a Talon.One API key; :func:`save` refuses to write a cassette where one is
  found, and says where.

The same rules serve the pytest side through vcrpy: :func:`vcr_config`.
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
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jsonpath

from contracts.errors import TalonContractsError
from contracts.http import HttpRequest, HttpResponse, is_json_media, media_type, normalize_headers, parse_json

from .cassettes import write_cassette
from .interactions import Interaction

__all__ = [
    "DEFAULT_PATHS",
    "PLACEHOLDER",
    "RedactionRules",
    "Redactor",
    "SecretLeakError",
    "find_secrets",
    "save",
    "vcr_config",
]

PLACEHOLDER = "REDACTED"
AUTH_PLACEHOLDER = f"ApiKey-v1 {PLACEHOLDER}"
_JSONPATH = jsonpath.JSONPathEnvironment(strict=True)

#: Personal profile attributes, wherever attributes appear (profiles, sessions, bulk updates ...).
DEFAULT_PATHS: tuple[str, ...] = tuple(
    f"$..attributes['{name}']"
    for base in (
        "Name",
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "PhoneNumber",
        "Address",
        "BirthDate",
        "Birthdate",
        "DateOfBirth",
    )
    for name in (base, base.lower())
)
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
DEFAULT_QUERY = ("api_key", "apikey", "token", "access_token")

# "ApiKey-v1 <key>" with anything but our placeholder; and bare 40+ hex runs (a key's shape).
_KEY_SHAPED = (
    re.compile(rf"ApiKey-v1\s+(?!{PLACEHOLDER}\b)[A-Za-z0-9._~+/=-]{{8,}}"),
    re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{40,}(?![0-9A-Fa-f-])"),
)


class SecretLeakError(TalonContractsError, ValueError):
    """A cassette about to be written still holds a credential."""

    def __init__(self, path: str | Path, findings: list[str]) -> None:
        self.path = str(path)
        self.findings = findings
        shown = "; ".join(findings[:10]) + (f"; ... ({len(findings)} in all)" if len(findings) > 10 else "")
        super().__init__(f"refusing to write {path}: it would contain credentials: {shown}")


@dataclass(frozen=True, slots=True)
class RedactionRules:
    """What to redact. ``enabled=False`` turns everything off (the secret check stays on)."""

    enabled: bool = True
    headers: tuple[str, ...] = DEFAULT_HEADERS
    json_paths: tuple[str, ...] = DEFAULT_PATHS
    query_parameters: tuple[str, ...] = DEFAULT_QUERY

    def __post_init__(self) -> None:
        for path in self.json_paths:
            try:
                _JSONPATH.compile(path)
            except jsonpath.JSONPathError as exc:
                raise ValueError(
                    f"redaction path {path!r} is not a valid JSONPath: {str(exc).splitlines()[0]}"
                ) from None


@dataclass(slots=True)
class Redactor:
    """Applies :class:`RedactionRules`; the pseudonyms of one Redactor are consistent (use one per cassette)."""

    rules: RedactionRules = field(default_factory=RedactionRules)
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _compiled: list[Any] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._compiled = [_JSONPATH.compile(p) for p in self.rules.json_paths]

    # -- pseudonyms

    def pseudonym(self, key: str, value: str) -> str:
        """A stand-in for ``value`` found under attribute ``key``: same value, same stand-in (any key case)."""
        lowered = key.lower()
        kind = "mail" if "mail" in lowered else "phone" if "phone" in lowered else (
            "date" if "birth" in lowered or "date" in lowered else "text"
        )  # fmt: skip
        digest = hmac.new(self.salt, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
        if kind == "mail":
            return f"person-{digest[:10]}@example.invalid"
        if kind == "phone":
            return "+000" + str(int(digest[:12], 16))[:9]
        if kind == "date":  # still a valid `time` attribute
            number = int(digest[:8], 16)
            return f"19{50 + number % 50:02d}-{1 + number % 12:02d}-{1 + number % 28:02d}T00:00:00Z"
        return f"{key[:1].upper()}{key[1:]}-{digest[:10]}"

    # -- parts of an exchange

    def headers(self, headers: Any) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        pairs = headers.items() if isinstance(headers, Mapping) else headers or []
        for name, values in pairs:
            values = values if isinstance(values, list) else [values]
            if name.lower() in self.rules.headers:
                placeholder = (
                    AUTH_PLACEHOLDER
                    if name.lower() in ("authorization", "proxy-authorization")
                    else PLACEHOLDER
                )
                result[name] = [placeholder for _ in values]
            else:
                result[name] = [str(v) for v in values]
        return result

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        pairs = [(k, PLACEHOLDER if k.lower() in self.rules.query_parameters else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]  # fmt: skip
        return urlunsplit(parts._replace(query=urlencode(pairs, safe=",:")))

    def json(self, document: Any) -> Any:
        for path in self._compiled:
            for match in list(path.finditer(document)):
                if isinstance(match.obj, str) and match.parts:
                    parent = match.parent.obj if match.parent is not None else None
                    key = str(match.parts[-1])
                    if isinstance(parent, (dict, list)):
                        parent[match.parts[-1]] = self.pseudonym(key, match.obj)
        return document

    def body(self, headers: Any, body: bytes | str | None) -> bytes | str | None:
        if not body or not self._compiled:
            return body
        media = media_type(normalize_headers(headers).get("content-type"))
        if media and not is_json_media(media):
            return body
        try:
            document = parse_json(body)
        except ValueError:
            return body  # not JSON: left as it is (the secret check still looks at it)
        redacted = json.dumps(self.json(document), ensure_ascii=False, separators=(",", ":"))
        return redacted.encode("utf-8")

    def interaction(self, interaction: Interaction) -> Interaction:
        """A redacted copy of ``interaction``."""
        if not self.rules.enabled:
            return interaction
        request = interaction.request
        new_request = HttpRequest(
            request.method,
            self.url(request.url),
            self.headers(request.headers),
            self.body(request.headers, request.body),
        )
        new_response = None
        if interaction.response is not None:
            response = interaction.response
            new_response = HttpResponse(
                response.status, self.headers(response.headers), self.body(response.headers, response.body)
            )
        return dataclasses.replace(interaction, request=new_request, response=new_response)


# --------------------------------------------------------------------------- the secret check


def _texts(interaction: Interaction) -> Iterator[tuple[str, str]]:
    yield "request URL", interaction.request.url
    for side, message in (("request", interaction.request), ("response", interaction.response)):
        if message is None:
            continue
        headers = message.headers
        pairs = headers.items() if isinstance(headers, Mapping) else headers or []
        for name, values in pairs:
            for value in values if isinstance(values, list) else [values]:
                yield f"{side} header {name}", str(value)
        body = message.body
        if body:
            yield f"{side} body", body.decode("utf-8", "replace") if isinstance(body, bytes) else body


def find_secrets(interaction: Interaction, api_key: str | None = None) -> list[str]:
    """Where credentials appear in an interaction ("interaction 3, request header Authorization")."""
    found = []
    for where, text in _texts(interaction):
        if (api_key and len(api_key) >= 4 and api_key in text) or any(p.search(text) for p in _KEY_SHAPED):
            found.append(f"interaction {interaction.index}, {where}")
    return found


def save(
    path: str | Path,
    interactions: Iterable[Interaction],
    *,
    api_key: str | None = None,
    redactor: Redactor | None = None,
    fmt: str = "vcr",
) -> int:
    """Redact and write a cassette atomically; refuse (and write nothing) when a secret remains."""
    redactor = redactor or Redactor()
    cleaned = [redactor.interaction(i) for i in interactions]
    findings = [f for i in cleaned for f in find_secrets(i, api_key)]
    if findings:
        raise SecretLeakError(path, findings)
    return write_cassette(path, cleaned, fmt=fmt)


# --------------------------------------------------------------------------- vcrpy


def vcr_config(rules: RedactionRules | None = None, *, api_key: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR(...)`` (or pytest-recording's ``vcr_config``) applying the same
    redaction to what vcrpy records. One configuration = one Redactor: consistent pseudonyms."""
    redactor = Redactor(rules or RedactionRules())

    def scrub(value: Any) -> Any:
        """The API key in use, wherever it appears (a key echoed in a body ...), becomes the placeholder."""
        if not api_key or len(api_key) < 4 or value is None:
            return value
        if isinstance(value, bytes):
            return value.replace(api_key.encode(), PLACEHOLDER.encode())
        return str(value).replace(api_key, PLACEHOLDER)

    def before_record_request(request: Any) -> Any:
        request.uri = scrub(request.uri)
        if request.body:
            request.body = scrub(request.body)
        if not redactor.rules.enabled:
            return request
        request.uri = redactor.url(request.uri)
        for name in list(request.headers):
            if name.lower() in redactor.rules.headers:
                request.headers[name] = AUTH_PLACEHOLDER if name.lower() == "authorization" else PLACEHOLDER
        if request.body:
            request.body = redactor.body(dict(request.headers), request.body)
        return request

    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body") or {}
        if body.get("string"):
            body["string"] = scrub(body["string"])
        if not redactor.rules.enabled:
            return response
        response["headers"] = redactor.headers(response.get("headers") or {})
        body = response.get("body") or {}
        if body.get("string"):
            redacted = redactor.body(response["headers"], body["string"])
            body["string"] = redacted.encode("utf-8") if isinstance(redacted, str) else redacted
        return response

    return {
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,  # so that bodies can be redacted and read
    }
