"""The redaction of ``replay.recording.redaction`` applied to what vcrpy records (the pytest side).

Two ways in. :func:`vcr_config` gives vcrpy's record hooks: the secret check runs on each exchange
as it is recorded, and an exchange that would still hold a credential raises
:class:`SecretLeakError` in the test that made it (and is not recorded). :class:`RedactingPersister`
redacts at the last moment instead, whatever hooks a cassette's own configuration has (the pytest
plugin puts it under every cassette pytest-recording saves: a team's ``vcr_config`` that sets its
own ``before_record_request`` cannot leave a credential in a file). The API key in use is replaced
wherever it appears, even with redaction turned off.

vcrpy hands the response hook the response alone; which operation answered (whose contract says
where personal data is) comes from the request its hook saw last on the same thread: vcrpy's
``Cassette.append`` calls the two hooks one after the other for each exchange it records.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.model import Interaction
from replay.recording.redaction import (
    AUTH_PLACEHOLDER,
    PLACEHOLDER,
    RedactionRules,
    Redactor,
    SecretLeakError,
    find_secrets,
)

if TYPE_CHECKING:
    from contracts.spec import Contract

__all__ = ["RedactingPersister", "vcr_config"]


def vcr_config(
    rules: RedactionRules | None = None, *, api_key: str | None = None, contract: Contract | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR(...)`` (or pytest-recording's ``vcr_config``) applying the same
    redaction to what vcrpy records. One configuration = one Redactor: consistent pseudonyms.
    ``contract``: where personal data is (default: the shipped contract's)."""
    hooks = _Hooks(Redactor(rules or RedactionRules(), contract=contract), api_key)
    return {
        "before_record_request": hooks.request,
        "before_record_response": hooks.response,
        "decode_compressed_response": True,  # so that bodies can be redacted and searched
    }


class RedactingPersister:
    """A vcrpy persister around another (``inner``): each exchange a cassette saves is redacted first,
    with one Redactor per save (consistent pseudonyms across the file; pseudonyms and placeholders
    already in it stay as they are). ``applies(method, uri)``: the exchanges that are ours to redact
    (the plugin: those of a path the contract serves); the others are saved as they are, but for the
    API key in use, which is replaced wherever it appears."""

    def __init__(
        self,
        inner: Any,
        *,
        applies: Callable[[str, str], bool],
        api_key: str | None = None,
        contract: Contract | None = None,
    ) -> None:
        self.inner = inner
        self.applies = applies
        self.api_key = api_key
        self.contract = contract

    def load_cassette(self, cassette_path: str, serializer: Any) -> Any:
        return self.inner.load_cassette(cassette_path, serializer)

    def save_cassette(self, cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.filters import decode_response

        hooks = _Hooks(Redactor(RedactionRules(), contract=self.contract), self.api_key)
        requests, responses = [], []
        for request, response in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True):
            if self.applies(request.method, request.uri):
                request = hooks.request(copy.deepcopy(request))
                response = decode_response(response)  # (a copy) bodies are redacted as the API meant them
                encoding = {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get(
                    "content-encoding"
                )
                if encoding:
                    raise SecretLeakError("the vcrpy cassette", [
                        f"{request.method} {request.uri}: the answer's body is still encoded ({encoding}) and "
                        "cannot be redacted; record with decode_compressed_response=True"])  # fmt: skip
                response = hooks.response(response)
            elif hooks.api_key:  # another API's exchange, as the team left it: but never with our key in it
                request = hooks.scrub_request(copy.deepcopy(request))
                response = hooks.scrub_response(copy.deepcopy(response))
            requests.append(request)
            responses.append(response)
        self.inner.save_cassette(
            cassette_path,
            {**cassette_dict, "requests": requests, "responses": responses},
            serializer=serializer,
        )


class _Hooks:
    def __init__(self, redactor: Redactor, api_key: str | None) -> None:
        self.redactor = redactor
        self.api_key = api_key
        self.last = threading.local()  # (method, uri) of the request this thread recorded last

    def scrub(self, value: Any) -> Any:
        """The API key in use replaced wherever it appears."""
        api_key = self.api_key
        if not api_key or len(api_key) < 4 or value is None:
            return value
        if isinstance(value, bytes):
            return value.replace(api_key.encode(), PLACEHOLDER.encode())
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return str(value).replace(api_key, PLACEHOLDER)

    def refuse_leaks(self, what: str, interaction: Interaction) -> None:
        findings = [f.split(", ", 1)[1] for f in find_secrets(interaction, self.api_key)]
        if findings:
            raise SecretLeakError("the vcrpy cassette", [f"{what}: {f}" for f in findings])

    def scrub_request(self, request: Any) -> Any:
        """A vcrpy request with the API key in use replaced (in place)."""
        request.uri = self.scrub(request.uri)
        for name in list(request.headers):
            request.headers[name] = self.scrub(request.headers[name])
        if request.body:
            request.body = self.scrub(request.body)
        return request

    def scrub_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """A vcrpy response with the API key in use replaced (in place)."""
        response["headers"] = {k: self.scrub(v) for k, v in (response.get("headers") or {}).items()}
        body = response.get("body") or {}
        if body.get("string"):
            body["string"] = self.scrub(body["string"])
        return response

    def request(self, request: Any) -> Any:
        redactor = self.redactor
        self.scrub_request(request)
        if redactor.rules.enabled:
            request.uri = redactor.url(request.uri)
            for name in list(request.headers):
                if name.lower() in redactor.rules.headers:
                    request.headers[name] = (
                        AUTH_PLACEHOLDER if name.lower() == "authorization" else PLACEHOLDER
                    )
            if request.body:
                request.body = redactor.body(
                    dict(request.headers), request.body, method=request.method, url=request.uri
                )
        self.last.request = (request.method, request.uri)
        sent = HttpRequest(request.method, request.uri, dict(request.headers), request.body)
        self.refuse_leaks(f"{request.method} {request.uri}", Interaction("vcrpy", 0, sent, None))
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        redactor = self.redactor
        self.scrub_response(response)
        body = response.get("body") or {}
        if redactor.rules.enabled:
            response["headers"] = redactor.headers(response["headers"])
            if body.get("string"):
                method, uri = getattr(self.last, "request", (None, None))
                redacted = redactor.body(
                    response["headers"], body["string"], method=method, url=uri, side="response"
                )
                body["string"] = redacted.encode("utf-8") if isinstance(redacted, str) else redacted
        status = response.get("status") or {}
        answer = HttpResponse(int(status.get("code") or 0), response["headers"], body.get("string"))
        self.refuse_leaks("a response", Interaction("vcrpy", 0, HttpRequest("GET", "", {}, None), answer))
        return response
