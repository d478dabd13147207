"""replay.reporting.junit: the one JUnit writer (whole documents and streamed), valid against pytest's
junit-10 schema, errors and malfunctions counted as errors, one interaction named alike everywhere."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import xmlschema

from contracts.spec import Contract
from replay.cassettes.model import Interaction
from replay.cassettes.reading import read_interactions
from replay.engine import Kind, Outcome, ReplaySummary
from replay.reporting.junit import (
    JUnitCase,
    JUnitReport,
    JUnitWriter,
    VerifyJUnitReport,
    junit_document,
    outcome_case,
)
from replay.verify import verify

from ..conftest import FIXTURES
from ..helpers import CORPUS

SCHEMA = xmlschema.XMLSchema(str(FIXTURES / "junit-10.xsd"))


def _outcome(kind: Kind, index: int = 3, reason: str | None = None) -> Outcome:
    return Outcome("cassettes/a.yaml", index, 12, "updateCustomerSessionV2", "PUT",
                   "http://localhost:9000/v2/customer_sessions/s1", kind, reason)  # fmt: skip


def _valid(text: str) -> ElementTree.Element:
    SCHEMA.validate(text)
    return ElementTree.fromstring(text)


def test_a_whole_document_counts_failures_errors_and_skips_apart() -> None:
    cases = [
        JUnitCase("op", "passes"),
        JUnitCase("op", "fails", failure="broke", text="details"),
        JUnitCase("op", "errs", failure="no answer", failure_type="error", error=True),
        JUnitCase("op", "skips", skipped="not this time"),
    ]
    root = _valid(junit_document("talon-contracts test", [("suite", cases), ("empty", [])]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    (suite,) = root  # the empty suite is left out
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "1")
    assert root.find(".//error") is None  # the schema has no <error> in a test case
    assert [f.get("type") for f in root.iter("failure")] == ["failure", "error"]


def test_text_from_recordings_cannot_break_the_document() -> None:
    odd = 'a\x00b\x1b[31m<&>"'
    text = junit_document(odd, [(odd, [JUnitCase(odd, odd, failure=odd, failure_type=odd, text=odd)])])
    root = _valid(text)
    case = root.find(".//testcase")
    assert case is not None and case.get("name") == 'a\\x00b\\x1b[31m<&>"'


def test_streamed_suites_keep_their_own_totals(tmp_path: Path) -> None:
    writer = JUnitWriter("streamed", spool_dir=tmp_path)
    writer.add(JUnitCase("a", "1", time=0.25))
    writer.add(JUnitCase("a", "2", failure="no", time=0.5))
    writer.end_suite("first", seconds=0.75)
    writer.end_suite("left out")  # empty
    writer.end_suite("kept", keep_empty=True)
    writer.add(JUnitCase("b", "3", failure="bug", failure_type="malfunction", error=True))
    writer.end_suite("third")
    out = io.BytesIO()
    writer.write(out, seconds=1.5)
    root = _valid(out.getvalue().decode())
    assert [s.get("name") for s in root] == ["first", "kept", "third"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in root] == [
        ("2", "1", "0"), ("0", "0", "0"), ("1", "0", "1")
    ]  # fmt: skip
    assert root.get("time") == "1.500" and root[0].get("time") == "0.750"
    assert list(tmp_path.iterdir()) == []  # the cases waited in an anonymous file, gone now


def test_the_replay_report_streams_one_case_per_outcome(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "replay.xml"
    report = JUnitReport(path)
    kinds: tuple[Kind, ...] = ("same", "noise", "changed", "error", "malfunction", "skipped")
    for index, kind in enumerate(kinds):
        report.add(_outcome(kind, index, reason=f"because {kind}"))
    assert not path.exists()  # renamed into place when the run ends
    report.close(ReplaySummary("http://localhost:9000"))
    root = _valid(path.read_text())
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "1", "2")
    assert root[0].get("name") == "replay against http://localhost:9000" and root[0].get("skipped") == "1"
    names = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert names[3] == ("cassettes/a.yaml", "3 updateCustomerSessionV2")
    types = {c.get("name"): f.get("type") for c in root.iter("testcase") for f in c.iter("failure")}
    assert types == {"2 updateCustomerSessionV2": None, "3 updateCustomerSessionV2": "error",
                     "4 updateCustomerSessionV2": "malfunction"}  # fmt: skip
    assert sorted(p.name for p in path.parent.iterdir()) == ["replay.xml"]


def test_a_malfunction_is_an_error_that_says_it_is_a_bug_of_the_tool() -> None:
    case = outcome_case(_outcome("malfunction", reason="could not be replayed (KeyError: 'x')"))
    assert case.error and case.failure_type == "malfunction" and case.failure is not None
    assert "a bug of talon-contracts" in case.failure and "please report it" in case.failure
    assert "KeyError" in case.failure
    assert not outcome_case(_outcome("changed")).error and outcome_case(_outcome("error")).error


def test_shared_state_and_additive_outcomes_pass_and_say_so_and_findings_give_their_sequence() -> None:
    for kind in ("shared-state", "additive"):
        outcome = _outcome(kind, reason="shared state: the catalog is changed by catalog-sync.yaml")
        outcome.story = 4
        case = outcome_case(outcome)
        assert case.failure is None and not case.error and case.text.startswith("sequence 4.3, attempts 0")
    changed = _outcome("changed")
    changed.story, changed.attempts = 2, 1
    case = outcome_case(changed)
    assert case.failure is not None and case.text.startswith("sequence 2.3, attempts 1")
    assert case.name == "3 updateCustomerSessionV2"  # the name itself has no run-dependent part


def test_verify_and_replay_name_an_interaction_alike(contract: Contract) -> None:
    """The same cassette gives the same (classname, name) pairs in both reports: CI history lines up."""
    path = CORPUS / "catalog-sync.yaml"
    junit = VerifyJUnitReport()
    report = verify([path], contract, progress=junit.end_file, sink=junit.add)
    out = io.BytesIO()
    junit.write(report, out)
    verified = [(c.get("classname"), c.get("name")) for c in _valid(out.getvalue().decode()).iter("testcase")]
    replayed = []
    for item in read_interactions(path):
        assert isinstance(item, Interaction)
        match = contract.find(item.request.method, item.request.url)
        outcome = Outcome(str(path), item.index, item.line, match.operation.operation_id if match else None,
                          item.request.method, item.request.url, "same")  # fmt: skip
        replayed.append((outcome_case(outcome).classname, outcome_case(outcome).name))
    assert verified == replayed and len(verified) == report.interactions
