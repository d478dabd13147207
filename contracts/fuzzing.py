"""What schemathesis needs to know about this API beyond the contract: generation hints and relaxed checks.

One source for every way the project runs schemathesis: ``talon-contracts contract`` writes the
merged contract and a ``schemathesis.toml`` for ``st run`` (:func:`contract_text`,
:func:`schemathesis_toml`), the property tests (``tests/contracts/sandbox``) build their schema from
:func:`schemathesis_config`, and ``tools/fuzz.py`` (the nightly run) writes the same two files.

Generation hints: the overlay gives examples for the ids that must exist (loyalty programs and
cards, seeded profiles, coupons, the referral campaign, the catalog). schemathesis mixes examples
into only one positive case in five, per parameter, so an operation that needs three of them right
at once (linking a card: program, card and profile) rarely succeeds and a stateful chain rarely
starts. The same values become schemathesis "dictionaries" bound to those parameters with a higher
probability. schemathesis uses a dictionary value only where it fits the generation mode (positive
cases take it, negative cases never do), so no check is weakened by a hint. The examples stay the
single source: this module reads them, it does not repeat them.

Relaxed checks: :data:`BUSINESS_RULES`, one reason per operation. Nothing else is relaxed.

This module holds data and text only: it imports neither schemathesis (a test dependency, not the
package's) nor anything of ``contracts`` but the document it is given, so it sits beside ``spec``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import yaml

__all__ = [
    "API_KEY_VARIABLE",
    "BUSINESS_RULES",
    "PROBABILITY",
    "ContractFormat",
    "contract_format",
    "contract_text",
    "operation_objects",
    "schemathesis_config",
    "schemathesis_toml",
    "toml_value",
]

#: Operations whose documented business rules answer 400 to requests the schema allows, so the
#: ``positive_data_acceptance`` check does not apply to them (every other check does). Each reason
#: is a rule the API states in prose and no schema can express.
BUSINESS_RULES: dict[str, str] = {
    "getLoyaltyCardBalances": "program 1 is profile-based: card operations on it are refused",
    "getLoyaltyCardPoints": "program 1 is profile-based: card operations on it are refused",
    "getLoyaltyCardTransactions": "program 1 is profile-based: card operations on it are refused",
    "linkLoyaltyCardToProfile": "card operations need a card-based program and an existing card",
    "getLoyaltyBalances": "program 2 is card-based: profile operations on it are refused",
    "getLoyaltyProgramProfilePoints": "program 2 is card-based: profile operations on it are refused",
    "getLoyaltyProgramProfileTransactions": "program 2 is card-based: profile operations on it are refused",
    "trackEventV2": "event types and attributes must be defined by the Application",
    "updateAudienceCustomersAttributes": "only attributes the Application defines can be written",
    "updateCustomerSessionV2": "attributes must be defined; `now` needs dry=true; closed sessions keep their profile",
    "updateCustomerProfileV2": "attributes and audiences must exist; runRuleEngine=false refuses responseContent",
    "createReferral": "only referral campaigns issue codes",
    "createReferralsForMultipleAdvocates": "only referral campaigns issue codes",
    "syncCatalog": "the catalog version must be current and ADD needs a sku",
    "updateCustomerProfilesV2": "profile attributes must be defined by the Application",
    "reopenCustomerSession": "only closed sessions can be reopened",
    "returnCartItems": "only closed sessions take returns, of items they hold",
}

#: How often a positive case takes a hinted value instead of a generated one.
PROBABILITY = 0.7

#: The written configuration reads the key from this variable (schemathesis substitutes ``${NAME}``
#: when it loads the file), so it never sits in the file nor on a command line; the toolkit's other
#: commands and the pytest plugin read the same one.
API_KEY_VARIABLE = "TALON_API_KEY"

ContractFormat = Literal["yaml", "json"]
_SUFFIXES: dict[str, ContractFormat] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def operation_objects(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The operation objects of ``document`` that have an id, in document order."""
    return [
        operation
        for item in document["paths"].values()
        if isinstance(item, dict)
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def _bindings(operation: Mapping[str, Any]) -> dict[str, list[Any]]:
    """schemathesis parameter name (``path.x``, ``body.y``, ``body.z[*]``) -> the example values."""
    bindings: dict[str, list[Any]] = {}
    for parameter in operation.get("parameters", []):
        values = [example["value"] for example in parameter.get("examples", {}).values()]
        if "example" in parameter:
            values.append(parameter["example"])
        if values:
            bindings[f"{parameter['in']}.{parameter['name']}"] = values
    for media in operation.get("requestBody", {}).get("content", {}).values():
        example = media.get("example")
        if not isinstance(example, dict):
            continue
        # only top-level scalars and lists of scalars: a dictionary value replaces one field
        for name, value in example.items():
            if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
                bindings[f"body.{name}[*]"] = value
            elif isinstance(value, str | int) and not isinstance(value, bool):
                bindings[f"body.{name}"] = [value]
    return bindings


def schemathesis_config(document: Mapping[str, Any], probability: float = PROBABILITY) -> dict[str, Any]:
    """A schemathesis configuration (the ``schemathesis.toml`` structure, for
    ``SchemathesisConfig.from_dict``) binding every parameter and top-level body field with an
    example to a dictionary of its example values, and turning ``positive_data_acceptance`` off
    for the :data:`BUSINESS_RULES` operations. No credential: see :func:`schemathesis_toml`."""
    dictionaries: dict[str, dict[str, list[Any]]] = {}
    operations: list[dict[str, Any]] = []
    for operation in operation_objects(document):
        operation_id = operation["operationId"]
        entry: dict[str, Any] = {"include-operation-id": operation_id}
        bindings = _bindings(operation)
        if bindings:
            parameters = entry["parameters"] = {}
            for key, values in bindings.items():
                name = f"{operation_id}:{key}"
                dictionaries[name] = {"values": values}
                parameters[key] = {"dictionary": name, "probability": probability}
        if operation_id in BUSINESS_RULES:
            entry["checks"] = {"positive_data_acceptance": {"enabled": False}}
        if len(entry) > 1:
            operations.append(entry)
    return {"dictionaries": dictionaries, "operations": operations}


# --------------------------------------------------------------------------- text


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, but for DEL, which TOML wants escaped and JSON leaves as it is;
    # ensure_ascii=False keeps astral characters whole (TOML refuses the surrogate escapes JSON writes)
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables and arrays): the shapes a configuration holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML has no {value!r} a configuration value could be")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"TOML has no null nor {type(value).__name__}: {value!r}")


_PREAMBLE = """\
# schemathesis configuration for {title}, written by `talon-contracts contract --schemathesis-config`:
# regenerate it rather than edit it. Use it with the contract the same command writes (`--output`):
#   TALON_API_KEY=... st --config-file schemathesis.toml run contract.yaml --url BASE_URL
# Every check schemathesis runs by default stays on, but for the operations below that say why.

# The Integration API's credential, read from the environment when schemathesis loads this file
# (a missing variable is an error): the key is never written here nor on a command line, and
# schemathesis' output and reports show it as [Filtered].
headers = {{ Authorization = "ApiKey-v1 ${{{variable}}}" }}

# Generation hints: the contract's examples name ids that exist (the sandbox's seed: programs,
# cards, profiles, coupons, the referral campaign, the catalog). Bound as dictionaries, they are
# what a positive case takes {percent}% of the time instead of one in five, so an operation that
# needs several right at once gets past its 404s. Negative cases never take them: no check is
# weakened by a hint.
[dictionaries]
"""


def schemathesis_toml(document: Mapping[str, Any], probability: float = PROBABILITY) -> str:
    """:func:`schemathesis_config` as ``schemathesis.toml``, with the credential's header (from
    :data:`API_KEY_VARIABLE`) and a comment giving the reason for each relaxed check."""
    config = schemathesis_config(document, probability)
    raw_info = document.get("info")
    info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
    title = " ".join(str(part) for part in (info.get("title"), info.get("version")) if part)
    lines = [
        _PREAMBLE.format(
            title=" ".join(title.split()) or "the contract",  # one comment line, whatever the title holds
            variable=API_KEY_VARIABLE,
            percent=round(probability * 100),
        ).rstrip("\n")
    ]
    lines += [f"{_toml_string(name)} = {toml_value(d)}" for name, d in config["dictionaries"].items()]
    for entry in config["operations"]:
        operation_id = entry["include-operation-id"]
        lines += ["", "[[operations]]"]
        if operation_id in BUSINESS_RULES:
            lines.append(f"# positive_data_acceptance off: {BUSINESS_RULES[operation_id]}")
        lines += [f"{_toml_string(key)} = {toml_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def contract_format(name: str) -> ContractFormat | None:
    """The format a contract file of this name is written in (by its suffix), or None."""
    dot = name.rfind(".")
    return _SUFFIXES.get(name[dot:].lower()) if dot >= 0 else None


class _NoAliases(yaml.SafeDumper):
    # The merged document shares nodes (an overlay update, an inlined $ref): written as YAML
    # anchors they would count against every reader's alias budget (ours is 100,000 values).
    def ignore_aliases(self, data: Any) -> bool:
        return True


def contract_text(document: Mapping[str, Any], fmt: ContractFormat) -> str:
    """``document`` (the merged contract: ``load_contract().document.data``) as YAML or JSON."""
    if fmt == "json":
        return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    text = yaml.dump(document, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)
    return str(text)
