"""Checking responses: documented status, documented headers, content type and body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Violation, short_json
from ..http import HttpResponse, has_content, is_json_media, media_type, normalize_headers, parse_json
from ..model import MediaType, Operation, ResponseSpec
from ..schema import RESPONSE, schema_type
from .checks import SchemaChecks
from .reading import coerce, json_fallback, not_json, pick_media

__all__ = ["ResponseChecks"]

_UNPARSED: Any = object()


class ResponseChecks(SchemaChecks):
    """The response half of the validator."""

    def validate_response(
        self, response: HttpResponse, operation: str | Operation, *, parsed: Any = _UNPARSED
    ) -> list[Violation]:
        """Check a response: documented status, content type, body, documented headers.

        ``parsed`` may carry the already-decoded JSON body, to avoid parsing it twice.
        """
        op = self.contract.operation(operation)
        status = response.status
        spec = op.response_for(status)
        if spec is None:
            return [_violation(op, status, "status", "status", list(op.statuses), status,
                               f"status {status} is not documented (documented: {', '.join(op.statuses)})")]  # fmt: skip
        headers = normalize_headers(response.headers)
        found = self._check_response_headers(op, spec, status, headers) if spec.headers else []
        return self._check_response_body(op, spec, status, headers, response.body, parsed, found)

    def _check_response_headers(
        self, op: Operation, spec: ResponseSpec, status: int, headers: Mapping[str, str]
    ) -> list[Violation]:
        found: list[Violation] = []
        for header in spec.headers:
            value = headers.get(header.name.lower())
            if value is None:
                if header.required:
                    found.append(_violation(op, status, "required", "header", header.name, None,
                                            f"documented header {header.name!r} is missing", "/" + header.name))  # fmt: skip
                continue
            compiled = self.compiled(header.schema, header.schema_pointer, RESPONSE,
                                     (op.operation_id, spec.key, "header", header.name))  # fmt: skip
            try:
                value_obj: Any = coerce(value, schema_type(header.resolved))
            except ValueError:
                value_obj = value
            found += self._schema_violations(compiled, value_obj, operation_id=op.operation_id, phase="response",
                                             status=status, location="header", base="/" + header.name)  # fmt: skip
        return found

    def _check_response_body(
        self,
        op: Operation,
        spec: ResponseSpec,
        status: int,
        headers: Mapping[str, str],
        body: bytes | str | None,
        parsed: Any,
        found: list[Violation],
    ) -> list[Violation]:
        """``found``, with what the body breaks added (``parsed``: the decoded body, or _UNPARSED)."""
        present = parsed is not _UNPARSED or has_content(body)
        if not spec.content:
            if present:
                found.append(_violation(op, status, "content", "body", None, short_json(body if parsed is _UNPARSED else parsed),
                                        f"status {status} documents no body, but one was sent"))  # fmt: skip
            return found
        declared = headers.get("content-type")
        media = media_type(declared)
        if not present:
            if status not in (204, 304):
                found.append(_violation(op, status, "content", "body", sorted(spec.content), None,
                                        f"the body is empty; status {status} documents {', '.join(sorted(spec.content))}"))  # fmt: skip
            return found
        chosen = pick_media(spec.content, media) if media else None
        if chosen is None:
            chosen = _undocumented_media(op, spec, status, declared, media, found)
        if chosen is None or not is_json_media(chosen.media_type) or chosen.schema is None:
            return found
        if parsed is _UNPARSED:
            try:
                parsed = parse_json(body)  # type: ignore[arg-type]
            except ValueError as exc:
                found.append(_violation(op, status, "json", "body", "JSON", short_json(body),
                                        not_json(headers, exc)))  # fmt: skip
                return found
        compiled = self.compiled(
            chosen.schema,
            chosen.schema_pointer,
            RESPONSE,
            (op.operation_id, spec.key, chosen.media_type, RESPONSE),
        )
        return found + self._schema_violations(
            compiled,
            parsed,
            operation_id=op.operation_id,
            phase="response",
            status=status,
            location="body",
            base="",
        )


def _undocumented_media(
    op: Operation, spec: ResponseSpec, status: int, declared: str | None, media: str, found: list[Violation]
) -> MediaType | None:
    """After a Content-Type the response does not document: the violation (added to ``found``), and
    the media type to check the body as anyway."""
    found.append(_violation(op, status, "mediaType", "content-type", sorted(spec.content), declared,
                            f"Content-Type {declared!r} is not documented for {status}; expected "
                            f"{', '.join(sorted(spec.content))}" if declared
                            else f"Content-Type is missing; expected {', '.join(sorted(spec.content))}"))  # fmt: skip
    return json_fallback(spec.content, media)


def _violation(
    op: Operation,
    status: int,
    keyword: str,
    location: str,
    expected: Any,
    actual: Any,
    message: str,
    pointer: str = "",
) -> Violation:
    return Violation(operation_id=op.operation_id, phase="response", status=status, location=location,
                     pointer=pointer, keyword=keyword, expected=expected, actual=actual, message=message)  # fmt: skip
