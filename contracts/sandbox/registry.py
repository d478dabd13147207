"""The operation handlers, by operationId: a small named registry filled by the ``@operation`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Ctx

__all__ = ["HANDLERS", "Handler", "operation"]

#: a handler returns (status, JSON body or None); it raises ``model.ApiProblem`` for error answers
Handler = Callable[[Ctx], tuple[int, Any]]
HANDLERS: dict[str, Handler] = {}


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if operation_id in HANDLERS:
            raise RuntimeError(f"two handlers for {operation_id}")
        HANDLERS[operation_id] = handler
        return handler

    return register
