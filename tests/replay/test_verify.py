"""replay.verify: findings, negative exchanges, limits, and the coverage matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import Violation
from contracts.http import HttpRequest, HttpResponse
from contracts.spec import Contract
from replay import verify as verify_module
from replay.cassettes import write_cassette
from replay.cassettes.model import Interaction
from replay.verify import FileSummary, coverage, verify

from .helpers import session_exchange


def _bad_request_answered_400() -> Interaction:
    """A deliberately malformed request (cartItems is not a list), rejected as documented."""
    body = json.dumps({"customerSession": {"cartItems": "lots"}}).encode()
    error = json.dumps(
        {
            "message": "Invalid request",
            "errors": [{"title": "must be an array", "source": {"pointer": "/customerSession/cartItems"}}],
        }
    )
    return Interaction(
        "memory",
        0,
        HttpRequest(
            "PUT",
            "http://localhost:9000/v2/customer_sessions/s1",
            {"Authorization": ["ApiKey-v1 REDACTED"], "Content-Type": ["application/json"]},
            body,
        ),
        HttpResponse(400, {"Content-Type": ["application/json"]}, error.encode()),
    )


def test_negative_exchanges_forgive_the_request_unless_strict(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "negative.yaml"
    write_cassette(path, [_bad_request_answered_400()])
    report = verify([path], contract)
    assert report.exit_code == 0 and report.files[0].expected >= 1
    strict = verify([path], contract, strict_requests=True)
    assert strict.exit_code == 1
    assert {f.violation.phase for f in strict.findings} == {"request"}
    assert strict.findings[0].violation.pointer.startswith("/customerSession/cartItems")


def test_a_bad_request_that_succeeded_is_a_finding(tmp_path: Path, contract: Contract) -> None:
    exchange = _bad_request_answered_400()
    exchange.response = HttpResponse(200, {"Content-Type": ["application/json"]}, b"{}")
    path = tmp_path / "accepted.yaml"
    write_cassette(path, [exchange])
    report = verify([path], contract)
    phases = {f.violation.phase for f in report.findings}
    assert phases == {"request", "response"} and report.exit_code == 1


def test_findings_beyond_the_cap_are_counted(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "MAX_FINDINGS", 3)
    wrong = session_exchange(body=b'{"customerSession": {"id": "x"}}')
    path = tmp_path / "many.jsonl"
    write_cassette(path, [wrong, wrong], fmt="jsonl")
    progress: list[FileSummary] = []
    report = verify([path], contract, progress=progress.append)
    assert len(report.findings) == 3 and report.dropped == report.violation_count - 3 > 0
    assert [s.source for s in progress] == [str(path)]


def test_coverage_counts_statuses_and_notes_undocumented_ones(tmp_path: Path, contract: Contract) -> None:
    teapot = session_exchange(status=418, body=b"")
    path = tmp_path / "capture.jsonl"
    unanswered = Interaction(
        "memory", 0, HttpRequest("GET", "http://h/v2/customer_sessions/x", {}, None), None
    )
    write_cassette(path, [session_exchange(), session_exchange(), teapot, unanswered], fmt="jsonl")
    report = coverage([path], contract)
    assert report.interactions == 4
    assert report.seen[("getCustomerSession", "200")] == 2
    assert report.undocumented[("getCustomerSession", 418)] == 1
    assert "getCustomerSession" in report.missing() and "200" not in report.missing()["getCustomerSession"]
    assert len(report.missing()) == 28  # every operation misses something here


def test_a_missing_path_does_not_hide_the_others(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "good.jsonl"
    write_cassette(path, [session_exchange()], fmt="jsonl")
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    report = verify([path, tmp_path / "missing.yaml", empty], contract)
    assert report.interactions == 1 and [f.source for f in report.files] == [str(path)]
    assert len(report.unreadable) == 2 and "no such file" in report.unreadable[0]
    assert "no cassettes found" in report.unreadable[1]
    assert report.exit_code == 2  # a mistyped directory must not pass CI
    assert coverage([empty], contract).unreadable


def test_an_unopenable_file_is_a_failing_file(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.yaml"
    write_cassette(path, [session_exchange()])
    real_open = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:  # as chmod 000 would, for a user other than root
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    report = verify([tmp_path], contract)
    (summary,) = report.files
    assert not summary.ok and summary.problems[0].fatal and "Permission denied" in summary.problems[0].message
    assert report.exit_code == 2


def test_an_interaction_no_check_anticipated_is_reported_not_fatal(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "capture.jsonl"
    write_cassette(
        path, [session_exchange("a"), session_exchange("boom"), session_exchange("c")], fmt="jsonl"
    )
    real = verify_module.check

    def fragile(contract: Contract, interaction: Interaction, **kwargs: bool) -> tuple[list[Violation], int]:
        if interaction.request.url.endswith("boom"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(contract, interaction, **kwargs)

    monkeypatch.setattr(verify_module, "check", fragile)
    report = verify([path], contract)
    (problem,) = report.problems
    assert problem.index == 1 and "cannot be checked (RecursionError" in problem.message
    assert report.interactions == 3 and report.exit_code == 2


def test_bodies_no_parser_accepts_are_json_violations(tmp_path: Path, contract: Contract) -> None:
    deep = session_exchange(body=b"[" * 5000 + b"]" * 5000)
    surrogate = session_exchange(body=b'{"customerSession": "\\ud800"}')
    path = tmp_path / "capture.jsonl"
    write_cassette(path, [deep, surrogate], fmt="jsonl")
    report = verify([path], contract)
    messages = [f.violation.message for f in report.findings]
    assert report.problems == [] and len(messages) == 2
    assert "nested too deeply" in messages[0] and "lone UTF-16 surrogate" in messages[1]
    assert all(f.violation.keyword == "json" for f in report.findings)


def test_urls_that_are_not_urls_match_no_operation(contract: Contract) -> None:
    assert contract.find("GET", "http://[::1/v2/customer_sessions/x") is None
