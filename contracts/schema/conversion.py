"""Converting OpenAPI 3.0 schema objects into JSON Schema 2020-12, bundled for a validator.

:class:`SchemaCompiler` converts once per component and direction, and bundles a root schema with
the ``$defs`` it needs so that a compiled validator is self-contained; :class:`BundledSchema` maps
the validator's schema paths back to pointers into the contract.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ..documents import join_pointer
from .locating import (
    LISTS_OF_SCHEMAS,
    MAPS_OF_SCHEMAS,
    REQUEST,
    SINGLE_SCHEMAS,
    follow_refs,
    hidden_properties,
    resolve_pointer,
)

__all__ = ["BundledSchema", "SchemaCompiler"]

_DROPPED = {
    "example",
    "examples",
    "xml",
    "externalDocs",
    "discriminator",
    "nullable",
    "readOnly",
    "writeOnly",
}
_INT_FORMAT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True, slots=True)
class BundledSchema:
    """A self-contained JSON Schema 2020-12 document and how to map its paths back to the contract."""

    schema: dict[str, Any] | bool
    #: contract pointer of the root schema
    origin: str
    #: ``$defs`` key -> contract pointer it came from
    defs: dict[str, str]

    def contract_pointer(self, schema_path: list[str | int] | tuple[str | int, ...]) -> str:
        """Translate a validator's schema path into a JSON pointer into the contract document."""
        tokens = list(schema_path)
        base = self.origin
        if len(tokens) >= 2 and tokens[0] == "$defs" and str(tokens[1]) in self.defs:
            base = self.defs[str(tokens[1])]
            tokens = tokens[2:]
        return "#" + join_pointer(base, *tokens)


class SchemaCompiler:
    """Converts a contract's schemas to JSON Schema 2020-12, caching per (component, direction)."""

    def __init__(self, document: dict[str, Any], openapi_version: str) -> None:
        self.document = document
        self.legacy = not openapi_version.startswith("3.1")  # 3.0 rules (nullable, $ref siblings ...)
        self._components: dict[tuple[str, str], Any] = {}

    # -- public

    def bundle(self, schema: Any, origin: str, direction: str) -> BundledSchema:
        """A standalone schema for ``schema`` (found at ``origin``), with every reference in ``$defs``."""
        refs: dict[str, str] = {}
        root = self._convert(schema, direction, refs)
        defs: dict[str, Any] = {}
        pending = list(refs)
        while pending:
            key = pending.pop()
            if key in defs:
                continue
            target_pointer = refs[key]
            cache_key = (target_pointer, direction)
            if cache_key not in self._components:
                try:
                    target = resolve_pointer(self.document, target_pointer)
                except KeyError:
                    target = {}  # unresolved refs were reported when the contract was loaded
                sub_refs: dict[str, str] = {}
                converted = self._convert(target, direction, sub_refs)
                self._components[cache_key] = (converted, sub_refs)
            converted, sub_refs = self._components[cache_key]
            defs[key] = converted
            for sub_key, sub_pointer in sub_refs.items():
                if sub_key not in refs:
                    refs[sub_key] = sub_pointer
                    pending.append(sub_key)
        if defs:
            root = {"allOf": [root]} if isinstance(root, bool) else dict(root)
            root["$defs"] = defs
        return BundledSchema(root, origin, refs)

    # -- conversion

    def _ref(self, ref: str, refs: dict[str, str]) -> str:
        """Rewrite a local ``$ref`` to point into ``$defs``, remembering where it came from."""
        if not ref.startswith("#"):
            return ref  # external refs were inlined at load time; anything left is unresolvable
        pointer = ref[1:]
        match = re.match(r"^/components/schemas/([^/]+)(/.*)?$", pointer)
        if match:
            key = match.group(1).replace("~1", "/").replace("~0", "~")
            refs.setdefault(key, "/components/schemas/" + match.group(1))
            return "#/$defs/" + match.group(1) + (match.group(2) or "")
        key = "ref:" + pointer
        refs.setdefault(key, pointer)
        return "#/$defs/" + key.replace("~", "~0").replace("/", "~1")

    def _resolved(self, node: Any) -> dict[str, Any]:
        """Follow local $ref chains (to read flags such as readOnly behind a reference)."""
        target, _ = follow_refs(self.document, node)
        return target if isinstance(target, dict) else {}

    def _hidden(self, node: Any, direction: str) -> set[str]:
        return hidden_properties(self.document, node, direction)

    def _convert(
        self, node: Any, direction: str, refs: dict[str, str], inherited: frozenset[str] = frozenset()
    ) -> Any:
        """``inherited``: hidden property names of allOf siblings, to drop from this node's ``required``."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            return {}
        if "$ref" in node and self.legacy:
            return {"$ref": self._ref(node["$ref"], refs)}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key == "$ref":
                out[key] = self._ref(value, refs)
            elif key in MAPS_OF_SCHEMAS and isinstance(value, dict):
                out[key] = {name: self._convert(sub, direction, refs) for name, sub in value.items()}
            elif key == "allOf" and isinstance(value, list):
                # a `required` in one member may name a readOnly property defined in another
                siblings = frozenset(inherited | self._hidden(node, direction))
                out[key] = [self._convert(sub, direction, refs, siblings) for sub in value]
            elif key in LISTS_OF_SCHEMAS and isinstance(value, list):
                out[key] = [self._convert(sub, direction, refs) for sub in value]
            elif key in SINGLE_SCHEMAS and isinstance(value, (dict, bool)):
                out[key] = self._convert(value, direction, refs)
            elif key == "items":
                if isinstance(value, list):  # draft 4 tuple form
                    out["prefixItems"] = [self._convert(sub, direction, refs) for sub in value]
                else:
                    out["items"] = self._convert(value, direction, refs)
            else:
                out[key] = copy.deepcopy(value)
        if self.legacy:
            self._legacy_bounds(out)
        self._int_format_bounds(out)
        self._access_modes(node, out, direction)
        if inherited and isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in inherited]
        if self.legacy and node.get("nullable") is True:
            out = self._nullable(out)
        return out

    @staticmethod
    def _legacy_bounds(out: dict[str, Any]) -> None:
        for exclusive, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
            flag = out.get(exclusive)
            if isinstance(flag, bool):
                del out[exclusive]
                if flag and bound in out:
                    out[exclusive] = out.pop(bound)

    @staticmethod
    def _int_format_bounds(out: dict[str, Any]) -> None:
        bounds = _INT_FORMAT_BOUNDS.get(out.get("format", ""))
        if bounds is None or out.get("type") not in ("integer", ["integer", "null"]):
            return
        low, high = bounds
        if not isinstance(out.get("minimum"), (int, float)) and not isinstance(
            out.get("exclusiveMinimum"), (int, float)
        ):
            out["minimum"] = low
        if not isinstance(out.get("maximum"), (int, float)) and not isinstance(
            out.get("exclusiveMaximum"), (int, float)
        ):
            out["maximum"] = high

    def _access_modes(self, node: dict[str, Any], out: dict[str, Any], direction: str) -> None:
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        flag = "readOnly" if direction == REQUEST else "writeOnly"
        hidden = [name for name, sub in props.items() if self._resolved(sub).get(flag) is True]
        if not hidden:
            return
        for name in hidden:
            # `not: {}` rejects any value; the comment lets the validator name the real reason.
            out["properties"][name] = {"not": {}, "$comment": flag}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name not in hidden]

    @staticmethod
    def _nullable(out: dict[str, Any]) -> dict[str, Any]:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            return out
        if kind is None and any(k in out for k in ("$ref", "allOf", "anyOf", "oneOf")):
            return {"anyOf": [out, {"type": "null"}]}
        return out  # nullable without a type has no effect (OpenAPI 3.0.3 clarification)
