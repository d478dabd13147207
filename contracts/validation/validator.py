"""The validator: the request and the response checks of one contract, behind one object."""

from __future__ import annotations

from typing import Any

from ..errors import ContractViolationError, UnknownOperation, Violation
from ..http import HttpRequest, HttpResponse
from ..model import Operation
from ..schema import REQUEST, RESPONSE
from .reading import pick_media
from .request import RequestChecks
from .response import ResponseChecks

__all__ = ["Validator"]


class Validator(RequestChecks, ResponseChecks):
    """Validates requests and responses against one contract. Thread-safe; share it."""

    def compile_all(self) -> int:
        """Compile every schema of every operation now (instead of on first use); returns how many.

        Schemas the engine refuses become issues of the contract, as quirks found when loading do.
        """
        for op in self.contract:
            self._param_plans(op)
            if op.request_body is not None:
                for media in op.request_body.content.values():
                    if media.schema is not None:
                        key = (op.operation_id, "request", media.media_type, REQUEST)
                        self.compiled(media.schema, media.schema_pointer, REQUEST, key)
            for response in op.responses.values():
                for media in response.content.values():
                    if media.schema is not None:
                        key = (op.operation_id, response.key, media.media_type, RESPONSE)
                        self.compiled(media.schema, media.schema_pointer, RESPONSE, key)
        return len(self._cache)

    def validate_body(
        self,
        operation: str | Operation,
        instance: Any,
        *,
        status: int | None = None,
        media: str = "application/json",
    ) -> list[Violation]:
        """Check an already-parsed body: a request body when ``status`` is None, else a response's."""
        op = self.contract.operation(operation)
        if status is None:
            if op.request_body is None:
                raise UnknownOperation(
                    f"{op.operation_id} takes no request body", operation_id=op.operation_id
                )
            spec = pick_media(op.request_body.content, media)
            phase, key, direction = "request", "request", REQUEST
        else:
            response = op.response_for(status)
            if response is None:
                raise UnknownOperation(
                    f"{op.operation_id} documents no response {status} (documented: {', '.join(op.statuses)})",
                    operation_id=op.operation_id,
                )
            spec = pick_media(response.content, media)
            phase, key, direction = "response", response.key, RESPONSE
        if spec is None or spec.schema is None:
            return []
        compiled = self.compiled(
            spec.schema, spec.schema_pointer, direction, (op.operation_id, key, spec.media_type, direction)
        )
        return self._schema_violations(
            compiled,
            instance,
            operation_id=op.operation_id,
            phase=phase,
            status=status,
            location="body",
            base="",
        )

    # -- requests

    def validate_exchange(self, request: HttpRequest, response: HttpResponse) -> list[Violation]:
        """Check a request and its response (the operation is found from the request)."""
        match = self.contract.find(request.method, request.url)
        violations = self.validate_request(request, match.operation if match else None)
        if match is not None:
            violations += self.validate_response(response, match.operation)
        return violations

    # -- raising variants

    def check_request(self, request: HttpRequest, operation: str | Operation | None = None) -> None:
        violations = self.validate_request(request, operation)
        if violations:
            raise ContractViolationError(violations, request=request)

    def check_response(self, response: HttpResponse, operation: str | Operation) -> None:
        violations = self.validate_response(response, operation)
        if violations:
            raise ContractViolationError(violations, response=response)
