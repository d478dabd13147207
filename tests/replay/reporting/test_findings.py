"""replay.reporting.findings: what a finding says, and the command that reproduces it."""

from __future__ import annotations

from contracts.http import HttpRequest
from replay.engine import Outcome
from replay.reporting.findings import body_text, curl_command, describe


def _outcome(kind: str, reason: str | None = None) -> Outcome:
    request = HttpRequest("PUT", "http://localhost:9000/v2/customer_sessions/s1",
                          {"Authorization": ["ApiKey-v1 real-secret"], "Content-Type": ["application/json"]},
                          b'{"customerSession": {}}')  # fmt: skip
    return Outcome("a.yaml", 0, None, "updateCustomerSessionV2", "PUT", request.url, kind, reason,  # type: ignore[arg-type]
                   request=request)  # fmt: skip


def test_curl_names_the_credential_never_its_value() -> None:
    command = curl_command(_outcome("changed"))
    assert command is not None and "$TALON_API_KEY" in command and "real-secret" not in command
    assert "--data-binary '{\"customerSession\": {}}'" in command


def test_describe_says_what_happened() -> None:
    assert describe(_outcome("error", "cannot connect")).startswith("no answer: cannot connect")
    malfunction = describe(_outcome("malfunction", "could not be replayed (KeyError: 'x')")).splitlines()[0]
    assert "a bug of talon-contracts" in malfunction and malfunction.endswith("(KeyError: 'x')")


def test_body_text_is_cut_with_its_length() -> None:
    assert body_text(b"\xffabcdef", limit=3) == "\ufffdab... (7 characters)" and body_text(None) == ""
