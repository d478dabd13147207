"""``talon-contracts contract``: the merged contract is the validator's, the configuration is
schemathesis' and says why it relaxes what it relaxes; ``st run`` with the two files against the
sandbox passes, and its own reports pass ``verify``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from schemathesis.config import SchemathesisConfig

from contracts import load_contract, load_spec
from contracts.fuzzing import API_KEY_VARIABLE, BUSINESS_RULES, schemathesis_config, schemathesis_toml
from contracts.sandbox import Sandbox
from replay.cli import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ST = Path(sys.executable).with_name("st")
#: An operation that needs the hints (a program, a card and a profile that exist) and whose
#: positive_data_acceptance the configuration turns off (the business rules of loyalty cards), and
#: one that needs neither.
OPERATIONS = ("linkLoyaltyCardToProfile", "getCustomerInventory")


@pytest.mark.parametrize("name", ["contract.yaml", "contract.yml", "contract.json"])
def test_the_written_contract_is_the_one_the_validator_uses(
    name: str, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "out" / name  # its directory is created
    result = runner.invoke(cli, ["contract", "--output", str(path)])
    assert result.exit_code == 0, result.output
    shipped = load_contract()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to repair: it is the document after repairs
        written = load_spec(path)
    assert written.issues == []
    assert written.document.data == shipped.document.data
    assert list(written.operations) == list(shipped.operations)
    for operation_id, operation in shipped.operations.items():
        assert written.operations[operation_id] == operation
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left beside it


def test_the_configuration_is_schemathesis_and_says_why_it_relaxes_a_check(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "schemathesis.toml"
    path.write_text("old", encoding="utf-8")  # replaced whole
    result = runner.invoke(cli, ["contract", "--schemathesis-config", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    document = load_contract().document.data
    assert text == schemathesis_toml(document)
    parsed = tomllib.loads(text)
    assert parsed.pop("headers") == {"Authorization": f"ApiKey-v1 ${{{API_KEY_VARIABLE}}}"}
    assert parsed == schemathesis_config(document)
    monkeypatch.setenv(API_KEY_VARIABLE, "k")
    loaded = SchemathesisConfig.from_path(path)  # schemathesis' own schema; the key substituted
    assert loaded.projects.default.headers == {"Authorization": "ApiKey-v1 k"}
    # each [[operations]] table that turns a check off gives the reason, and no other does
    reasons = {}
    for block in text.split("[[operations]]")[1:]:
        operation_id = re.search(r'"include-operation-id" = "(\w+)"', block)[1]  # type: ignore[index]
        reason = re.search(r"# positive_data_acceptance off: (.+)", block)
        assert (reason is not None) == ('"checks"' in block), block
        if reason:
            reasons[operation_id] = reason[1]
    assert reasons == BUSINESS_RULES


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to write"),
        (["--output", "contract.txt"], "name a .yaml, .yml or .json file"),
        (["--output", "plain-file/contract.json"], "cannot write plain-file/contract.json"),
        (
            ["--schemathesis-config", "plain-file/schemathesis.toml"],
            "cannot write plain-file/schemathesis.toml",
        ),
    ],
)
def test_bad_usage_and_unwritable_files_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain-file").write_text("a file, not a directory")
    done = subprocess.run(
        [sys.executable, "-m", "replay.cli", "contract", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and message in error[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@dataclass(frozen=True, slots=True)
class StRun:
    process: subprocess.CompletedProcess[str]
    reports: Path


@pytest.fixture(scope="module")
def st_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StRun]:
    """``st run`` as the README shows it: the two files the command writes, the key from the
    environment, against a fresh sandbox; bounded (two operations, three examples each, a seed)."""
    work = tmp_path_factory.mktemp("st")
    written = CliRunner().invoke(
        cli,
        [
            "contract",
            "-o",
            str(work / "contract.json"),
            "--schemathesis-config",
            str(work / "schemathesis.toml"),
        ],
    )
    assert written.exit_code == 0, written.output
    reports = work / "reports"
    with Sandbox() as sandbox:
        env = dict(os.environ, **{API_KEY_VARIABLE: sandbox.api_key})
        command = [str(ST), "--config-file", "schemathesis.toml", "run", "contract.json", "--url", str(sandbox.base_url),
                   *(f"--include-operation-id={operation}" for operation in OPERATIONS),
                   "--phases", "examples,coverage,fuzzing", "--max-examples", "3", "--seed", "1",
                   "--generation-database", "none", "--workers", "1", "--no-color",
                   "--report", "junit,vcr,har", "--report-dir", str(reports)]  # fmt: skip
        process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    yield StRun(process, reports)


def test_st_run_with_the_shipped_files_passes_against_the_sandbox(st_run: StRun) -> None:
    out = st_run.process.stdout
    assert st_run.process.returncode == 0, out + st_run.process.stderr
    assert "schemathesis.toml" in out and re.search(r"Dictionaries:\s+\d+ dictionaries", out), out
    assert f"{len(OPERATIONS)} selected / 28 total" in out
    (junit,) = st_run.reports.glob("junit*.xml")
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert len(outcomes) == len(OPERATIONS) and not any(outcomes.values()), outcomes  # no failure, no error


def test_schemathesis_reports_pass_verify(st_run: StRun, runner: CliRunner) -> None:
    """Its VCR and HAR reports write ``Authorization: [Filtered]``, and hold its unsupported-method
    probes (405s): both are what a redacted negative exchange is, not findings."""
    paths = sorted(st_run.reports.glob("vcr*.yaml")) + sorted(st_run.reports.glob("har*.json"))
    assert len(paths) == 2
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "[Filtered]" in text and "sandbox-api-key" not in text
    assert "405" in paths[0].read_text(encoding="utf-8")
    result = runner.invoke(cli, ["verify", *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("all conform")


#: The README's pytest recipe: schemathesis.pytest.from_fixture needs a schemathesis schema, and
#: talon_contract is our Contract, so a fixture of the project's own makes one of its document.
README_CONFTEST = """
import copy

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from contracts.fuzzing import schemathesis_config


@pytest.fixture(scope="session")
def talon_schema(talon_contract, talon_base_url, talon_api_key):
    document = copy.deepcopy(talon_contract.document.data)  # the contract is shared: give schemathesis a copy
    config = SchemathesisConfig.from_dict(schemathesis_config(document))  # the hints and relaxed checks
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.config.update(base_url=talon_base_url, headers={"Authorization": f"ApiKey-v1 {talon_api_key}"})
    return schema
"""

README_TEST = """
import schemathesis

schema = schemathesis.pytest.from_fixture("talon_schema")


@schema.include(operation_id=["linkLoyaltyCardToProfile", "getCustomerInventory"]).parametrize()
def test_talon_api(case):
    case.call_and_validate()
"""


def test_the_readme_pytest_recipe_runs_over_talon_contract(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(README_CONFTEST)
    pytester.makepyfile(test_api=README_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--hypothesis-seed=1", timeout=120)
    if "object has no attribute '_nodeid'" in result.stdout.str():  # that failure only, nothing else
        pytest.xfail(
            "schemathesis' from_fixture reads request.node._nodeid, which pytest 9 no longer has "
            "(schemathesis/pytest/lazy.py, 4.32.5): when this passes, the README recipe works as written"
        )
    result.assert_outcomes(passed=2)
