"""Checking requests and responses against a contract.

Every check returns a list of :class:`~contracts.errors.Violation` (empty when the exchange
conforms); ``check_*`` variants raise :class:`~contracts.errors.ContractViolationError`.

Speed: validation sits on every hot path (client, replay, cassette verification). Schemas
are converted and compiled once per (operation, status, media type, direction) and cached on
the :class:`Validator`. The default engine is ``jsonschema-rs`` (compiled); its fast
``is_valid`` answers the common case, and only a payload that fails pays for the detailed
pass that produces structured violations. The pure-Python ``jsonschema`` engine is the
fallback where no ``jsonschema-rs`` wheel exists, and the reference in tests.

The package, by job: :mod:`~contracts.validation.engines` (the JSON Schema engines),
:mod:`~contracts.validation.checks` (compiled schemas, cached), :mod:`~contracts.validation.request`
and :mod:`~contracts.validation.response` (the two halves of :class:`Validator`),
:mod:`~contracts.validation.reading` (parameter strings and media types as the server reads them)
and :mod:`~contracts.validation.violations` (engine errors as violations);
:mod:`~contracts.validation.undocumented` names the fields a body sends that its schema does not
describe (no violation: the API ignores them).
"""

from __future__ import annotations

from .engines import ENGINES
from .request import ParsedRequest
from .validator import Validator

__all__ = ["ENGINES", "ParsedRequest", "Validator"]
