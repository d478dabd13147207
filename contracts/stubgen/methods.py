"""One stub method per operation: what ``IntegrationClient.__getattr__`` builds at run time, typed.

The parameters are those of the runtime signature (``client._operation_method``), in its order:
path parameters (positional or keyword, in template order), the body (positional or keyword),
then every other parameter keyword-only with a default of None (the server applies the
contract's default when a parameter is not sent), then ``_headers`` and ``_timeout``. Types come
from the contract, as the client checks them before sending: a path parameter of type integer is
an ``int`` (the client refuses ``"5"``), an array query parameter a list, tuple or set (not a
``str``, which the client refuses). Every method returns :class:`ApiResponse`; a non-2xx answer
raises :class:`ApiError`.

The body is its request schema's TypedDict and nothing else, although the client also sends
``bytes`` and ``str`` as they are: with a union, mypy reports a wrong key or value of a body as
"incompatible type dict[str, dict[...]]" instead of naming the key. A test that sends a
deliberately malformed body does it through ``client.call(operation_id, ..., b"...")``.
"""

from __future__ import annotations

from ..model import Operation, Parameter
from ..schema import schema_type
from .schemas import SchemaTypes
from .text import INDENT, bracketed, docstring

__all__ = ["RESERVED", "operation_method"]

#: the keyword-only arguments of every operation method that tune one call, with their types
RESERVED = (
    ("_headers", "Mapping[str, str] | None"),
    ("_timeout", "float | tuple[float, float] | None"),
)


def operation_method(op: Operation, types: SchemaTypes) -> list[str]:
    """The stub of ``IntegrationClient.<op.python_name>``, indented as a method."""
    types.imports.name("collections.abc", "Mapping")  # for _headers
    items = ["self"]
    items += [f"{p.python_name}: {_parameter_type(p, types)}" for p in op.path_parameters]
    if op.request_body is not None:
        body = _body_type(op, types)
        items.append(f"body: {body}" if op.request_body.required else f"body: {body} | None = None")
    items.append("*")
    for param in op.parameters:
        if param.location != "path":
            items.append(f"{param.python_name}: {_parameter_type(param, types)} | None = None")
    items += [f"{name}: {kind} = None" for name, kind in RESERVED]
    lines = bracketed(f"def {op.python_name}(", items, ") -> ApiResponse:", INDENT)
    summary = f"{op.summary.rstrip('.')}: " if op.summary else ""
    return lines + docstring(f"{summary}``{op.method} {op.path}`` ({op.operation_id}).", INDENT * 2)


def _parameter_type(param: Parameter, types: SchemaTypes) -> str:
    if schema_type(param.resolved, default="any") == "array":
        # what the client takes for a list (a str is refused, though it is a Sequence[str])
        item = types.type_of(param.resolved.get("items", {}), param.python_name)
        return f"list[{item}] | tuple[{item}, ...] | set[{item}] | frozenset[{item}]"
    return types.type_of(param.resolved, param.python_name)


def _body_type(op: Operation, types: SchemaTypes) -> str:
    assert op.request_body is not None
    media = next(iter(op.request_body.content.values()), None)
    schema = media.schema if media is not None else None
    hint = op.operation_id[:1].upper() + op.operation_id[1:] + "Body"
    if schema is None:
        types.imports.name("typing", "Any")
        return "Any"
    return types.type_of(schema, hint)
