"""HAR 1.2 (``log.entries``: browsers' devtools, proxies, mitmproxy): one entry, one interaction."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from contracts.http import HttpRequest, HttpResponse
from replay.cassettes.fields import BadRecord, header_map, seconds_of, status_of, text_field, url_field
from replay.cassettes.model import Interaction

__all__ = ["from_har"]


def from_har(entry: Any, source: str, index: int) -> Interaction:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("request"), Mapping):
        raise BadRecord("a HAR entry needs a request")
    request = entry["request"]
    raw_post = request.get("postData")
    post: Mapping[str, Any] = raw_post if isinstance(raw_post, Mapping) else {}
    body = post.get("text")
    headers = {
        k: v for k, v in header_map(request.get("headers")).items() if not k.startswith(":")
    }  # HTTP/2 pseudo-headers
    http_request = HttpRequest(
        text_field(request, "method", "the request").upper(),
        url_field(request, "url", "the request"),
        headers,
        body.encode("utf-8") if isinstance(body, str) and body else None,
    )
    response = entry.get("response")
    http_response = None
    if isinstance(response, Mapping) and response.get("status"):  # status 0: the browser got no answer
        raw_content = response.get("content")
        content: Mapping[str, Any] = raw_content if isinstance(raw_content, Mapping) else {}
        text = content.get("text")
        if text is None:
            payload = None
        elif content.get("encoding") == "base64":
            try:
                payload = base64.b64decode(text, validate=True)
            except (ValueError, TypeError):
                raise BadRecord("response content says base64 but is not") from None
        else:
            payload = str(text).encode("utf-8")
        response_headers = {
            k: v for k, v in header_map(response.get("headers")).items() if not k.startswith(":")
        }
        http_response = HttpResponse(status_of(response["status"]), response_headers, payload)
    time_ms = seconds_of(entry.get("time"))
    return Interaction(
        source=source,
        index=index,
        request=http_request,
        response=http_response,
        recorded_at=entry.get("startedDateTime"),
        elapsed=time_ms / 1000 if time_ms is not None and time_ms >= 0 else None,
    )


# --------------------------------------------------------------------------- streaming YAML
