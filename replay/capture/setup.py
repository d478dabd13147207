"""A :class:`~replay.capture.recorder.Recorder` built from a capture's options, the same way for
every front end that records (``talon-contracts capture``, the mitmproxy addon ``mitm.py``).

The options are given as the user wrote them (``"10%"``, ``("100MB", "1h")``), so each front end
passes its own strings on and the parsing, the defaults and the messages stay in one place.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

from contracts import load_contract
from contracts.errors import UnknownOperation
from contracts.spec import Contract
from replay.capture.recorder import Recorder
from replay.capture.stories import Sampler, Stories, parse_sample
from replay.capture.writer import CaptureWriter, parse_rotation
from replay.recording.redaction import DEFAULT_PATHS, RedactionRules, Redactor

__all__ = ["build_recorder", "capture_key"]


def capture_key(salt: str | None) -> bytes:
    """The capture's key (pseudonyms, story names): the salt given, else random for this capture,
    so that two captures cannot be joined by their pseudonyms unless the team wants them to be."""
    return salt.encode() if salt else secrets.token_bytes(32)


def build_recorder(
    out: Path,
    *,
    rotate: Iterable[str] = (),
    compress: bool = False,
    sample: str = "100%",
    operations: Iterable[str] = (),
    validate: bool = False,
    redact_paths: Iterable[str] = (),
    salt: str | None = None,
    contract: Contract | None = None,
) -> Recorder:
    """The recorder of a capture to ``out``, its directory checked.

    Raises ``ValueError`` for an option that is not valid (the message says which and why) and
    ``OSError`` when ``out`` cannot be written: in both cases nothing has started. The options are
    checked before the directory, so a typo is reported as such even where ``out`` is wrong too.
    """
    rotation = parse_rotation(list(rotate))
    share = parse_sample(sample)
    rules = RedactionRules(json_paths=DEFAULT_PATHS + tuple(redact_paths))  # a bad path raises ValueError
    contract = contract if contract is not None else load_contract()
    wanted = tuple(operations)
    for operation in wanted:
        try:
            contract.operation(operation)  # says the closest ids when it is not one
        except UnknownOperation as exc:
            raise ValueError(f"--operation: {exc}") from None
    writer = CaptureWriter(out, rotation, compress)
    writer.check()
    key = capture_key(salt)
    redactor, stories, sampler = Redactor(rules, key), Stories(key), Sampler(share)
    return Recorder(contract, writer, redactor, stories, sampler, frozenset(wanted) or None, validate)
