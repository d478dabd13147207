"""Reading an OpenAPI document's operations into the model (:mod:`contracts.model`).

:class:`OperationReader` turns one path item's operation into an :class:`~contracts.model.Operation`:
its id, parameters (path-level ones overridden by operation-level ones), request body and
responses with their headers. Nothing here raises on a quirk: each one becomes a
:class:`~contracts.errors.LoadIssue` of the document and the reader carries on with what it can use.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

from .documents import Document, join_pointer
from .http import media_type
from .model import MISSING, MediaType, Operation, Parameter, RequestBody, ResponseSpec, python_name
from .schema import follow_refs, resolve_pointer

__all__ = ["OperationReader"]

_LOCATIONS = ("path", "query", "header", "cookie")
_DEFAULT_STYLES = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
_RESPONSE_KEY = re.compile(r"[1-5](?:\d\d|XX|xx)|default")


class OperationReader:
    """Reads the operations (and parameter-like objects) of one document; quirks become its issues."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.data: dict[str, Any] = document.data  # the same object as Contract.data

    # -- references

    def deref(self, node: Any, pointer: str) -> Any:
        """Follow a chain of local ``$ref``s of a non-schema object (parameter, response ...)."""
        target, problem = follow_refs(self.data, node)
        if problem is not None:
            self.document.issue(pointer, f"{problem}; the object is ignored")
        return target

    def schema_top(self, schema: Any) -> dict[str, Any]:
        """The schema object itself, with top-level ``$ref`` chains followed (nested refs stay)."""
        target, _ = follow_refs(self.data, schema)
        return target if isinstance(target, dict) else {}

    def target_pointer(self, node: Any, pointer: str) -> str:
        """Where a chain of local ``$ref``s starting at ``node`` (found at ``pointer``) ends."""
        for _ in range(32):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#"):
                break
            try:
                node, pointer = resolve_pointer(self.data, ref[1:]), ref[1:]
            except KeyError:
                break
        return pointer

    # -- pieces

    def list_at(self, owner: dict[str, Any], key: str, pointer: str) -> list[Any]:
        value = owner.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.document.issue(join_pointer(pointer, key), f"{key} must be a list; ignored")
            return []
        return value

    def parameters(self, owner: dict[str, Any], pointer: str) -> list[Parameter]:
        """The usable parameters listed under ``owner["parameters"]`` (a path item or an operation)."""
        return [
            p
            for i, raw in enumerate(self.list_at(owner, "parameters", pointer))
            if (p := self.parameter(raw, join_pointer(pointer, "parameters", i))) is not None
        ]

    def parameter(self, raw: Any, pointer: str) -> Parameter | None:
        param = self.deref(raw, pointer)
        pointer = self.target_pointer(raw, pointer)
        if param is None:
            return None
        if (
            not isinstance(param, dict)
            or not isinstance(param.get("name"), str)
            or param.get("in") not in _LOCATIONS
        ):
            self.document.issue(pointer, "parameter without a valid 'name' and 'in'; ignored")
            return None
        location = param["in"]
        schema_pointer = join_pointer(pointer, "schema")
        schema = param.get("schema")
        media: str | None = None
        if schema is None and isinstance(param.get("content"), dict) and param["content"]:
            media, obj = next(iter(param["content"].items()))
            schema = obj.get("schema") if isinstance(obj, dict) else None
            schema_pointer = join_pointer(pointer, "content", media, "schema")
        if schema is None:
            schema = {}
        resolved = self.schema_top(schema)
        style = str(param.get("style", _DEFAULT_STYLES[location]))
        explode = param.get("explode", style == "form")
        required = bool(param.get("required", location == "path"))
        if location == "path" and not required:
            self.document.issue(pointer, "path parameters are always required; 'required: false' ignored")
            required = True
        return Parameter(
            name=param["name"],
            location=location,
            required=required,
            schema=schema,
            schema_pointer=schema_pointer,
            resolved=resolved,
            style=style,
            explode=bool(explode),
            python_name=python_name(param["name"]),
            default=resolved.get("default", MISSING),
            deprecated=param.get("deprecated") is True,
            pointer=pointer,
            media_type=media_type(str(media)) or str(media) if media is not None else None,
            allow_empty=param.get("allowEmptyValue") is True,
        )

    def content(self, content: Any, pointer: str) -> dict[str, MediaType]:
        result: dict[str, MediaType] = {}
        if isinstance(content, dict):
            for media, obj in content.items():
                obj = obj if isinstance(obj, dict) else {}
                name = media_type(str(media)) or str(media).lower()
                result[name] = MediaType(name, obj.get("schema"), join_pointer(pointer, media, "schema"))
        return result

    # -- operations

    def operation(
        self,
        template: str,
        method: str,
        raw: dict[str, Any],
        pointer: str,
        shared: list[Parameter],
        global_security: Any,
        taken: Container[str],
    ) -> Operation:
        """The operation ``method`` of path ``template``; ``taken``: the operation ids read so far."""
        op_id = self._operation_id(template, method, raw, pointer, taken)
        parameters = self._operation_parameters(template, raw, pointer, shared)
        body = self._request_body(raw, pointer)
        responses = self._responses(raw, pointer)
        security = raw.get("security", global_security)
        return Operation(
            operation_id=op_id,
            method=method.upper(),
            path=template,
            pointer=pointer,
            parameters=parameters,
            request_body=body,
            responses=responses,
            security=tuple(s for s in security if isinstance(s, dict)) if isinstance(security, list) else (),
            summary=str(raw.get("summary", "")),
            tags=tuple(str(t) for t in self.list_at(raw, "tags", pointer)),
            python_name=python_name(op_id),
            deprecated=raw.get("deprecated") is True,
        )

    def _operation_id(
        self, template: str, method: str, raw: dict[str, Any], pointer: str, taken: Container[str]
    ) -> str:
        op_id = raw.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            words = [w for w in re.split(r"[^A-Za-z0-9]+", template) if w]
            op_id = method + "".join(w[:1].upper() + w[1:] for w in words)
            self.document.issue(pointer, f"operation has no operationId; named {op_id!r}")
        if op_id in taken:
            n = 2
            while f"{op_id}_{n}" in taken:
                n += 1
            self.document.issue(
                join_pointer(pointer, "operationId"), f"duplicate operationId {op_id!r}; renamed {op_id}_{n}"
            )
            op_id = f"{op_id}_{n}"
        return op_id

    def _operation_parameters(
        self, template: str, raw: dict[str, Any], pointer: str, shared: list[Parameter]
    ) -> tuple[Parameter, ...]:
        params: dict[tuple[str, str], Parameter] = {(p.location, p.name): p for p in shared}
        for param in self.parameters(raw, pointer):
            params[(param.location, param.name)] = param  # operation-level overrides path-level
        declared = set(re.findall(r"{([^}]+)}", template))
        for name in declared - {n for (loc, n) in params if loc == "path"}:
            self.document.issue(pointer, f"path parameter {{{name}}} is not declared; assuming a string")
            params[("path", name)] = Parameter(
                name,
                "path",
                True,
                {"type": "string"},
                "",
                {"type": "string"},
                "simple",
                False,
                python_name(name),
            )
        return tuple(params.values())

    def _request_body(self, raw: dict[str, Any], pointer: str) -> RequestBody | None:
        raw_body = self.deref(raw.get("requestBody"), join_pointer(pointer, "requestBody"))
        if not isinstance(raw_body, dict):
            return None
        body_pointer = join_pointer(pointer, "requestBody")
        if "$ref" in (raw.get("requestBody") or {}):
            body_pointer = "/" + raw["requestBody"]["$ref"].lstrip("#/")
        return RequestBody(
            bool(raw_body.get("required", False)),
            self.content(raw_body.get("content"), join_pointer(body_pointer, "content")),
        )

    def _responses(self, raw: dict[str, Any], pointer: str) -> dict[str, ResponseSpec]:
        responses: dict[str, ResponseSpec] = {}
        raw_responses = raw.get("responses")
        if not isinstance(raw_responses, dict) or not raw_responses:
            self.document.issue(pointer, "operation documents no responses")
            raw_responses = {}
        for key, raw_response in raw_responses.items():
            key = str(key)
            response = self._response(key, raw_response, join_pointer(pointer, "responses", key))
            if response is not None:
                responses[key.upper() if key != "default" else key] = response
        return responses

    def _response(self, key: str, raw: Any, pointer: str) -> ResponseSpec | None:
        if not _RESPONSE_KEY.fullmatch(key):
            self.document.issue(pointer, f"{key!r} is not a status code, range or 'default'; ignored")
            return None
        resolved = self.deref(raw, pointer)
        if not isinstance(resolved, dict):
            return None
        if isinstance(raw, dict) and "$ref" in raw:
            pointer = "/" + raw["$ref"].lstrip("#/")
        return ResponseSpec(
            key=key,
            description=str(resolved.get("description", "")),
            content=self.content(resolved.get("content"), join_pointer(pointer, "content")),
            headers=self._response_headers(resolved, pointer),
        )

    def _response_headers(self, response: dict[str, Any], pointer: str) -> tuple[Parameter, ...]:
        """A response's documented headers as header parameters (``Content-Type`` aside)."""
        raw_headers = response.get("headers") or {}
        if not isinstance(raw_headers, dict):
            self.document.issue(join_pointer(pointer, "headers"), "headers must be a mapping; ignored")
            return ()
        headers = []
        for name, header in raw_headers.items():
            header_pointer = join_pointer(pointer, "headers", name)
            header_obj = self.deref(header, header_pointer)
            if isinstance(header_obj, dict):
                param = self.parameter(
                    {**header_obj, "name": name, "in": "header"}, self.target_pointer(header, header_pointer)
                )
                if param is not None and name.lower() != "content-type":
                    headers.append(param)
        return tuple(headers)
