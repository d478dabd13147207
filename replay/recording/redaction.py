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
from typing import Any
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
)
from replay.paths import PathPattern, value_at
from replay.talon.policies import AUTH_SCHEME, KEY_SHAPE, PERSONAL_DATA_PATHS

__all__ = [
    "AUTH_PLACEHOLDER",
    "DEFAULT_PATHS",
    "FOREIGN_AUTH_PLACEHOLDER",
    "PLACEHOLDER",
    "RedactionRules",
    "Redactor",
    "SecretLeakError",
    "find_secrets",
    "save",
]


#: What is personal data in this API's bodies: ``replay.talon.policies``.
DEFAULT_PATHS = PERSONAL_DATA_PATHS
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
DEFAULT_QUERY = ("api_key", "apikey", "token", "access_token")

# "ApiKey-v1 <key>" with anything but our placeholder; and what a bare key looks like.
_KEY_SHAPED = (
    re.compile(rf"{AUTH_SCHEME}\s+(?!{PLACEHOLDER}\b)[A-Za-z0-9._~+/=-]{{8,}}"),
    re.compile(KEY_SHAPE),
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
                PathPattern(path)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"redaction path {path!r}: {exc}") from None


@dataclass(slots=True)
class Redactor:
    """Applies :class:`RedactionRules`; the pseudonyms of one Redactor are consistent (use one per cassette)."""

    rules: RedactionRules = field(default_factory=RedactionRules)
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    api_key: str | None = field(
        default=None, repr=False
    )  # the key in use: others get FOREIGN_AUTH_PLACEHOLDER
    _compiled: list[PathPattern] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._compiled = [PathPattern(p) for p in self.rules.json_paths]

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
                result[name] = [self._placeholder(name, str(v)) for v in values]
            else:
                result[name] = [str(v) for v in values]
        return result

    def _placeholder(self, name: str, value: str) -> str:
        if name.lower() not in ("authorization", "proxy-authorization"):
            return PLACEHOLDER
        if value in (AUTH_PLACEHOLDER, FOREIGN_AUTH_PLACEHOLDER):
            return value
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

    def json(self, document: Any) -> tuple[Any, bool]:
        """(the document with every configured path pseudonymised, whether anything changed)."""
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
        return document, changed

    def body(self, headers: Any, body: bytes | str | None) -> bytes | str | None:
        """A JSON body with the configured paths pseudonymised; other bodies, and bodies where
        nothing matched, come back byte for byte (re-serialising could change number spellings)."""
        if not body or not self._compiled:
            return body
        media = media_type(normalize_headers(headers).get("content-type"))
        if media and not is_json_media(media):
            return body
        try:
            document = parse_json(body)
        except (ValueError, RecursionError):
            return body  # not JSON: left as it is (the secret check still looks at it)
        document, changed = self.json(document)
        if not changed:
            return body
        try:
            return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escaped in the original: keep it escaped
            return json.dumps(document, separators=(",", ":")).encode("ascii")

    def message_parts(
        self, headers: Any, body: bytes | str | None
    ) -> tuple[dict[str, list[str]], bytes | str | None]:
        """Redacted headers and body of one message. A compressed body is decompressed first (it
        could not be searched or redacted otherwise) and its Content-Encoding dropped, as vcrpy's
        ``decode_compressed_response`` does; Content-Length follows a body that changed."""
        redacted_headers = self.headers(headers)
        decoded = decoded_body(headers, body)
        if decoded is not body:
            redacted_headers = {k: v for k, v in redacted_headers.items() if k.lower() != "content-encoding"}
        new_body = self.body(redacted_headers, decoded)
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
        new_request = HttpRequest(
            request.method, self.url(request.url), *self.message_parts(request.headers, request.body)
        )
        new_response = None
        if interaction.response is not None:
            response = interaction.response
            new_response = HttpResponse(response.status, *self.message_parts(response.headers, response.body))
        return dataclasses.replace(interaction, request=new_request, response=new_response)


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
        if (api_key and len(api_key) >= 4 and api_key in text) or any(p.search(text) for p in _KEY_SHAPED):
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
