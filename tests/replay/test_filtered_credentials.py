"""Placeholders other tools write for a filtered credential (``[Filtered]``, ``<redacted>``, ``***``):
verify reads them as a redacted credential, convert as the key in use; anything else is judged as
before. A real schemathesis report is verified in tests/replay/cli/test_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.http import HttpResponse
from contracts.spec import Contract
from replay.cassettes import write_cassette
from replay.cassettes.model import (
    AUTH_PLACEHOLDER,
    FILTERED_CREDENTIALS,
    FOREIGN_AUTH_PLACEHOLDER,
    Interaction,
)
from replay.recording.redaction import Redactor, SecretLeakError, save
from replay.verify import check, verify

from .helpers import session_exchange

KEY = "0123456789abcdef" * 4  # shaped like an Integration API key: 64 hex digits


def _with_authorization(value: str) -> Interaction:
    exchange = session_exchange()
    exchange.request.headers = {"Authorization": [value], "Accept": ["application/json"]}
    return exchange


@pytest.mark.parametrize("placeholder", [*FILTERED_CREDENTIALS, " [Filtered] "])
def test_a_filtered_credential_is_a_redacted_credential(
    placeholder: str, tmp_path: Path, contract: Contract
) -> None:
    path = tmp_path / "filtered.yaml"
    write_cassette(path, [_with_authorization(placeholder)])
    report = verify([path], contract)
    assert report.exit_code == 0, [f.violation.message for f in report.findings]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (KEY, "<redacted>"),  # a bare key: no scheme (and never echoed)
        (f"Bearer {KEY}", "Bearer …"),  # the wrong scheme
        ("[filtered]", "<redacted>"),  # not schemathesis' spelling: not a placeholder
        ("Filtered", "<redacted>"),
    ],
)
def test_anything_else_is_still_checked_as_a_credential(value: str, shown: str, contract: Contract) -> None:
    violations, _ = check(contract, _with_authorization(value))
    assert [(v.keyword, v.actual) for v in violations] == [("security", shown)]


def test_a_real_key_beside_a_placeholder_is_still_refused_by_convert(tmp_path: Path) -> None:
    """The placeholder makes the header a redacted one, nothing more: the secret check still
    searches the whole exchange (here, a key echoed in the answer)."""
    exchange = _with_authorization("[Filtered]")
    exchange.response = HttpResponse(
        200, {"Content-Type": ["application/json"]}, f'{{"key": "{KEY}"}}'.encode()
    )
    with pytest.raises(SecretLeakError):
        save(tmp_path / "out.yaml", [exchange], api_key=KEY)
    assert not (tmp_path / "out.yaml").exists()


def test_convert_writes_a_filtered_credential_as_the_key_in_use() -> None:
    """Which key schemathesis filtered is not known: not a foreign one (replay would then send an
    invalid key and provoke 401s), but the caller's, as for our own placeholder."""
    redactor = Redactor(api_key=KEY)
    for placeholder in FILTERED_CREDENTIALS:
        assert redactor.headers({"Authorization": [placeholder]}) == {"Authorization": [AUTH_PLACEHOLDER]}
    assert redactor.headers({"Authorization": ["ApiKey-v1 other"]}) == {
        "Authorization": [FOREIGN_AUTH_PLACEHOLDER]
    }


def test_a_405_to_an_undocumented_method_is_a_negative_exchange(contract: Contract) -> None:
    """schemathesis' unsupported_method check: TRACE on a path the contract serves with GET, answered
    405, is what the exchange is about; strict requests still report it, and a 200 is a finding."""
    probe = session_exchange()
    probe.request.method = "TRACE"
    probe.response = HttpResponse(405, {"Content-Type": ["application/json"]}, b'{"message": "no"}')
    assert check(contract, probe) == ([], 1)
    violations, _ = check(contract, probe, strict_requests=True)
    assert [v.location for v in violations] == ["operation"]
    probe.response = HttpResponse(200, {}, b"")
    assert check(contract, probe)[0]
    probe.request.url = "http://localhost:9000/v9/nowhere"  # no path of the contract: not a probe of it
    probe.response = HttpResponse(405, {}, b"")
    assert check(contract, probe)[0]
