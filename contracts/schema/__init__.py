"""OpenAPI schema objects: where they are, tolerating their quirks, and turning them into JSON Schema.

Three jobs, one walker, one module each:

* :mod:`~contracts.schema.locating`: :func:`iter_schema_roots` finds every schema object of an
  OpenAPI document (components, parameters, request bodies, responses, headers), and the
  helpers that follow references and read a schema as it is written;
* :mod:`~contracts.schema.quirks`: :func:`repair_schema_quirks` fixes what a vendor document gets
  wrong in a schema when the intent is clear (``maximum: '1E+3'``), drops it when not, and
  records a :class:`LoadIssue` either way;
* :mod:`~contracts.schema.conversion`: :class:`SchemaCompiler` converts OpenAPI 3.0 schema objects
  into JSON Schema 2020-12 (which is what OpenAPI 3.1 uses already), once per component and
  direction, and bundles a root schema with the ``$defs`` it needs so that a compiled validator
  is self-contained.

OpenAPI 3.0 specifics handled by the conversion:

* ``nullable: true`` widens ``type`` (and ``enum``) with ``null``;
* boolean ``exclusiveMinimum``/``exclusiveMaximum`` (draft 4 style) become numeric bounds;
* ``readOnly`` properties are forbidden in requests and not required there; ``writeOnly``
  properties likewise in responses (OpenAPI 3.0.3, "Fixed Fields" of the Schema Object);
* ``format: int32``/``int64`` become numeric bounds (JSON Schema does not know them);
* ``$ref`` siblings are ignored in 3.0 (the vendor document has some) and honoured in 3.1;
* ``example``, ``xml``, ``externalDocs``, ``discriminator`` and ``x-`` extensions are dropped.
"""

from __future__ import annotations

from .conversion import BundledSchema, SchemaCompiler
from .locating import (
    ECMA_WHITESPACE,
    HTTP_METHODS,
    REQUEST,
    RESPONSE,
    ecma_pattern,
    follow_refs,
    hidden_properties,
    iter_schema_roots,
    resolve_pointer,
    schema_type,
    subschemas,
    walk_schema,
)
from .quirks import repair_schema_quirks

__all__ = [
    "ECMA_WHITESPACE",
    "HTTP_METHODS",
    "REQUEST",
    "RESPONSE",
    "BundledSchema",
    "SchemaCompiler",
    "ecma_pattern",
    "follow_refs",
    "hidden_properties",
    "iter_schema_roots",
    "repair_schema_quirks",
    "resolve_pointer",
    "schema_type",
    "subschemas",
    "walk_schema",
]
