"""talon-contracts: the contract of the Talon.One Integration API, a validator and a client.

Layers (``contracts`` never imports ``replay``):

* :mod:`contracts.documents` reads JSON/YAML safely and tolerantly;
* :mod:`contracts.overlay` applies our corrections (OpenAPI Overlay 1.0) to the vendor's facts;
* :mod:`contracts.schema` locates OpenAPI schemas, repairs their quirks and converts them to
  JSON Schema 2020-12;
* :mod:`contracts.model` holds what a contract is made of (operations, parameters, responses),
  which :mod:`contracts.indexing` reads from the document;
* :mod:`contracts.validation` checks requests and responses against that model;
* :mod:`contracts.spec` loads a contract, indexes its operations and gives its shared validator;
* :mod:`contracts.client` calls the 28 operations over HTTP;
* :mod:`contracts.sandbox` emulates them, with state, for tests and recordings;
* :mod:`contracts.specdiff` compares two contracts from a client's side of the wire.
"""

from __future__ import annotations

from .errors import (
    ArgumentError,
    ContractLoadError,
    ContractViolationError,
    ContractViolationWarning,
    ContractWarning,
    LoadIssue,
    OverlayError,
    TalonContractsError,
    UnknownOperation,
    Violation,
)
from .http import HttpRequest, HttpResponse
from .model import Match, Operation
from .spec import Contract, load_contract, load_spec
from .validation import Validator

__all__ = [
    "ArgumentError",
    "Contract",
    "ContractLoadError",
    "ContractViolationError",
    "ContractViolationWarning",
    "ContractWarning",
    "HttpRequest",
    "HttpResponse",
    "LoadIssue",
    "Match",
    "Operation",
    "OverlayError",
    "TalonContractsError",
    "UnknownOperation",
    "Validator",
    "Violation",
    "load_contract",
    "load_spec",
]

__version__ = "0.1.0"
