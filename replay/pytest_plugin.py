"""The pytest plugin (``pytest11`` entry point ``talon_contracts``): fixtures, markers, options.

Settings, and where each comes from (first found wins; written here because it is the contract
with users):

    marker on the test (talon_record_mode)  >  command line (--talon-*)  >  ini ([tool.pytest.ini_options] talon_*)
    >  environment (TALON_API_KEY, TALON_BASE_URL)  >  default

* ``--talon-base-url`` / ``talon_base_url``: the API to test. Default: an embedded sandbox, started
  once per session (``talon_sandbox``).
* ``--talon-api-key`` / ``TALON_API_KEY`` (deliberately no ini setting: keys do not belong in files).
* ``--talon-contract`` / ``talon_contract``: the OpenAPI document. Default: the shipped contract.
* ``--talon-record-mode`` / ``talon_record_mode``: vcrpy's ``none|once|new_episodes|all``.
  Default ``none``: CI never records by accident.
* ``--talon-cassette-dir`` / ``talon_cassette_dir``: where ``talon_cassette`` keeps cassettes.
  Default ``cassettes/`` next to the test file.
* ``--talon-next-contract`` / ``talon_next_contract``: a next vendor release (with our overlay).
  Cassette items and ``talon_client`` calls are checked against it as well, and the session ends
  with what would break under it; tests do not fail for it.

``talon_traffic`` (a fixture, or a marker) checks each exchange of the test's code with the base URL,
through any client vcrpy patches (requests, urllib3, httpx, aiohttp), as ``talon_cassette``'s
always are: a violation fails the test in the validator's words.

Every fixture can be overridden in a ``conftest.py`` like any pytest fixture. Markers:
``talon_contract("operationId", ...)`` states what a test covers (an unknown id is a usage error
that lists the valid ones); ``talon_staging`` marks tests that need a real staging system (skipped,
with the reason, unless a base URL and a key are given); ``talon_record_mode("once")`` overrides
the record mode for one test. At the end of the session the plugin says which of the contract's
operations the run exercised and which it did not: calls through ``talon_client``, verified
cassette interactions, schemathesis tests of an operation (``@schema.parametrize()`` items, by
their ``METHOD /path`` label) and whatever a test reports through ``talon_coverage`` (a stateful
machine, a custom client). Under pytest-xdist, each worker's share is sent to the controller.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when used: the plugin loads in every pytest run of a project that installs us
    from contracts.client import ApiResponse, IntegrationClient
    from contracts.spec import Contract

__all__ = ["MARKERS", "RECORD_MODES", "OperationCoverage"]

RECORD_MODES = ("none", "once", "new_episodes", "all")
MARKERS = (
    "talon_contract(*operation_ids): the Integration API operations a test covers",
    "talon_staging: needs a real staging system (--talon-base-url and a key)",
    "talon_record_mode(mode): vcrpy record mode of this test's talon_cassette",
    "talon_traffic(expect_violations=False): check the test's exchanges with the API against the contract",
)
_EXERCISED = pytest.StashKey[set[str]]()
_ACTIVE = pytest.StashKey[bool]()
_LABELS = pytest.StashKey[dict[tuple[str, str], str]]()  # (METHOD, path template) -> operationId
_SCHEMATHESIS_LABELS = pytest.StashKey[set[str]]()  # "METHOD /path" of schemathesis items that ran
_NEXT = pytest.StashKey["Contract"]()  # the next contract, loaded when first needed
_NEXT_CHECKED = pytest.StashKey[int]()  # exchanges checked against it
_NEXT_BREAKS = pytest.StashKey[list[tuple[str, str, list[str]]]]()  # (test, exchange, violations) it rejects
_CASSETTE_ROOTS = pytest.StashKey[list[Path]]()  # where cassettes are collected as tests
_MARKER_ERROR = pytest.StashKey[str]()  # a test's bad talon_contract marker: its own error
_TRAFFIC = pytest.StashKey[dict[str, Any]]()  # a test's cassette or observed traffic, judged after it

_SETTINGS: dict[str, tuple[str, str | None, str]] = {
    # name: (ini help, environment variable, default)
    "base_url": ("Base URL of the API under test (default: an embedded sandbox)", "TALON_BASE_URL", ""),
    "contract": ("OpenAPI document to test against (default: the shipped contract)", None, ""),
    "record_mode": ("vcrpy record mode for talon_cassette: none, once, new_episodes, all", None, "none"),
    "cassette_dir": ("Directory of talon_cassette's cassettes (default: cassettes/ by the test)", None, ""),
    "next_contract": ("A next vendor release: also check cassettes and client calls against it", None, ""),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("talon-contracts", "Talon.One Integration API contract testing")
    group.addoption(
        "--talon-base-url",
        dest="talon_base_url",
        default=None,
        help="Base URL of the API under test. Default: start an embedded sandbox for the session.",
    )
    group.addoption(
        "--talon-api-key",
        dest="talon_api_key",
        default=None,
        help="API key for --talon-base-url (or TALON_API_KEY).",
    )
    group.addoption(
        "--talon-contract",
        dest="talon_contract",
        default=None,
        help="OpenAPI document to test against. Default: the shipped contract.",
    )
    group.addoption(
        "--talon-record-mode",
        dest="talon_record_mode",
        default=None,
        choices=RECORD_MODES,
        help="vcrpy record mode for talon_cassette (default: none, so CI never records).",
    )
    group.addoption("--talon-cassette-dir", dest="talon_cassette_dir", default=None,
                    help="Where talon_cassette keeps its cassettes.")  # fmt: skip
    group.addoption("--talon-next-contract", dest="talon_next_contract", default=None, metavar="FILE",
                    help="A next vendor release (our overlay applied): cassette items and talon_client calls are "
                         "checked against it too, and the session ends with what would break under it.")  # fmt: skip
    group.addoption("--talon-verify-cassettes", dest="talon_verify_cassettes", action="append", default=[],
                    metavar="DIR", help="Collect the cassettes in DIR as tests: one item per recorded interaction, "
                    "checked against the contract. (`pytest cassettes/` does the same for a directory named cassettes.)")  # fmt: skip
    for name, (text, _, default) in _SETTINGS.items():
        parser.addini(f"talon_{name}", text, default=default)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[_EXERCISED] = set()
    config.stash[_ACTIVE] = False
    config.stash[_NEXT_CHECKED] = 0
    config.stash[_NEXT_BREAKS] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _next_contract(session.config)  # a bad --talon-next-contract is a usage error before any test runs


def setting(config: pytest.Config, name: str) -> str:
    """A setting by the precedence above (without the marker level, which is per test)."""
    value = config.getoption(f"talon_{name}")
    if value:
        return str(value)
    ini = config.getini(f"talon_{name}")
    if ini:
        return str(ini)
    environment = _SETTINGS[name][1]
    if environment and os.environ.get(environment):
        return os.environ[environment]
    return _SETTINGS[name][2]


def _api_key(config: pytest.Config) -> str:
    return str(config.getoption("talon_api_key") or os.environ.get("TALON_API_KEY") or "")


def _contract_of(config: pytest.Config) -> Contract:
    from contracts.spec import load_contract

    path = setting(config, "contract")
    return load_contract(path) if path else load_contract()


def _next_contract(config: pytest.Config) -> Contract | None:
    """The contract of --talon-next-contract (our overlay applied), or None when none is given."""
    path = setting(config, "next_contract")
    if not path:
        return None
    found = config.stash.get(_NEXT, None)
    if found is None:
        from contracts.errors import TalonContractsError
        from contracts.spec import load_contract

        if not config.getoption("talon_next_contract") and not Path(path).is_absolute():
            path = str(Path(config.rootpath) / path)  # an ini setting names a file of the project
        try:
            found = config.stash[_NEXT] = load_contract(path)
        except TalonContractsError as exc:
            raise pytest.UsageError(f"--talon-next-contract: {exc}") from None
    return found


def _check_next(config: pytest.Config, test: str, interaction: Any, today: Contract | None = None) -> None:
    """Check one exchange against the next contract as well; what it rejects is kept for the summary.
    ``today``: the contract the exchange must pass first (one that fails today is not news about the next)."""
    contract = _next_contract(config)
    if contract is None:
        return
    from replay.verify import check

    if today is not None and check(today, interaction)[0]:
        return
    violations, _ = check(contract, interaction)
    config.stash[_NEXT_CHECKED] += 1
    if violations:
        request = interaction.request
        config.stash[_NEXT_BREAKS].append(
            (test, f"{request.method} {request.url}", [str(v) for v in violations])
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    contract: Contract | None = None
    for item in items:
        for marker in item.iter_markers("talon_contract"):
            contract = contract or _contract_of(config)
            known = {op.operation_id for op in contract}
            unknown = [str(a) for a in marker.args if a not in known]
            if unknown or not marker.args:  # that test's error, not the session's (-k may not even select it)
                import difflib

                near = sorted({m for u in unknown for m in difflib.get_close_matches(u, known, 3, 0.6)})
                item.stash[_MARKER_ERROR] = (
                    f"talon_contract names unknown operation(s) {', '.join(unknown) or '(none given)'}"
                    + (f"; did you mean {', '.join(near)}?" if near else "") + f" (valid: {', '.join(sorted(known))})"
                )  # fmt: skip
            config.stash[_ACTIVE] = True  # a marker says what a test covers; only calls count as exercised
        mode = item.get_closest_marker("talon_record_mode")
        if mode is not None and (len(mode.args) != 1 or mode.args[0] not in RECORD_MODES):
            raise pytest.UsageError(
                f"{item.nodeid}: talon_record_mode takes one of {', '.join(RECORD_MODES)}"
            )
        if item.get_closest_marker("talon_staging") and not (
            setting(config, "base_url") and _api_key(config)
        ):
            item.add_marker(pytest.mark.skip(
                reason="needs a staging system: give --talon-base-url and --talon-api-key (or TALON_API_KEY)"
            ))  # fmt: skip


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def talon_contract(pytestconfig: pytest.Config) -> Contract:
    """The contract under test (--talon-contract, or the shipped one)."""
    pytestconfig.stash[_ACTIVE] = True
    return _contract_of(pytestconfig)


@pytest.fixture(scope="session")
def talon_sandbox(pytestconfig: pytest.Config, talon_contract: Contract) -> Iterator[Any]:
    """An embedded sandbox for the session, unless --talon-base-url points elsewhere (then None)."""
    if setting(pytestconfig, "base_url"):
        yield None
        return
    from contracts.sandbox import Sandbox

    with Sandbox(contract=talon_contract) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def talon_base_url(pytestconfig: pytest.Config, talon_sandbox: Any) -> str:
    """The base URL tests talk to."""
    return setting(pytestconfig, "base_url") or str(talon_sandbox.base_url)


@pytest.fixture(scope="session")
def talon_api_key(pytestconfig: pytest.Config, talon_sandbox: Any) -> str:
    """The key for talon_base_url (the sandbox's own when it is the sandbox)."""
    if talon_sandbox is not None:
        return str(talon_sandbox.api_key)
    key = _api_key(pytestconfig)
    if not key:
        pytest.fail("--talon-base-url needs --talon-api-key (or TALON_API_KEY)", pytrace=False)
    return key


@pytest.fixture
def talon_client(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    talon_base_url: str,
    talon_api_key: str,
    talon_contract: Contract,
) -> Iterator[IntegrationClient]:
    """The foundation's client in strict mode: any contract violation fails the test, with its structure."""
    from contracts.client import IntegrationClient

    exercised = pytestconfig.stash[_EXERCISED]
    test = request.node.nodeid

    def note(response: ApiResponse) -> None:
        exercised.add(response.operation_id)
        if setting(pytestconfig, "next_contract"):
            from replay.cassettes.model import Interaction

            exchange = Interaction(test, 0, response.request, response.as_http())
            _check_next(pytestconfig, test, exchange, today=talon_contract)

    client = IntegrationClient(talon_base_url, talon_api_key, contract=talon_contract, validate="strict",
                               observers=[note])  # fmt: skip
    try:
        yield client
    finally:
        client.session.close()


@pytest.fixture
def talon_record_mode(request: pytest.FixtureRequest) -> str:
    """vcrpy record mode for this test: marker > --talon-record-mode > ini > none."""
    marker = request.node.get_closest_marker("talon_record_mode")
    if marker is not None:
        return str(marker.args[0])
    return setting(request.config, "record_mode")


@pytest.fixture
def talon_cassette_dir(request: pytest.FixtureRequest) -> Path:
    configured = setting(request.config, "cassette_dir")
    if configured:
        return (
            Path(configured) if Path(configured).is_absolute() else Path(request.config.rootpath) / configured
        )
    return Path(request.node.path).parent / "cassettes"


@pytest.fixture
def talon_cassette(
    request: pytest.FixtureRequest,
    talon_record_mode: str,
    talon_cassette_dir: Path,
    pytestconfig: pytest.Config,
) -> Iterator[Any]:
    """A vcrpy cassette named after the test, recorded with the project's redaction rules."""
    import vcr

    from replay.recording import traffic, vcrpy  # (vcrpy: our hooks for vcr, the library)

    name = request.node.name.replace("/", "_") + ".yaml"
    # matched without scheme, host and port: the sandbox's port changes every session, and a cassette
    # recorded against staging must play back wherever the tests run
    recorder = vcr.VCR(**vcrpy.vcr_config(api_key=_api_key(pytestconfig) or None), record_mode=talon_record_mode,
                       match_on=["method", "path", "query"])  # fmt: skip
    with recorder.use_cassette(str(talon_cassette_dir / name)) as cassette:
        traffic.track_playback(cassette)  # judged after the test, with the requests it sent
        request.node.stash[_TRAFFIC] = {"cassette": cassette}
        yield cassette


@pytest.fixture(autouse=True)
def _talon_markers(request: pytest.FixtureRequest) -> None:
    """A test's bad marker fails that test; ``talon_traffic`` as a marker turns the fixture on."""
    error = request.node.stash.get(_MARKER_ERROR, None)
    if error is not None:
        pytest.fail(error, pytrace=False)
    if request.node.get_closest_marker("talon_traffic") is not None:
        request.getfixturevalue("talon_traffic")


@pytest.fixture
def talon_traffic(request: pytest.FixtureRequest, talon_base_url: str) -> Iterator[Any]:
    """Every exchange of the test's code with talon_base_url, through any client, checked against the
    contract when the test ends (with talon_cassette: the cassette's exchanges)."""
    request.config.stash[_ACTIVE] = True
    if "talon_cassette" in request.fixturenames:  # one vcrpy cassette at a time: the test's own is judged
        yield None
        return
    from replay.recording.traffic import observing

    with observing() as cassette:
        request.node.stash[_TRAFFIC] = {"observed": cassette, "base_url": talon_base_url}
        yield cassette


# --------------------------------------------------------------------------- the session's coverage


class OperationCoverage:
    """The operations this session exercised; ``record`` is for tests that call the API in a way
    the plugin cannot see (a schemathesis state machine, their own client)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def record(self, operation_id: str) -> None:
        """Count ``operation_id`` as exercised; an id the contract does not have is a ValueError
        that lists the valid ones (a typo would otherwise go unnoticed)."""
        known = _operations_by_route(self._config).values()
        if operation_id not in known:
            raise ValueError(
                f"talon_coverage.record: unknown operation {operation_id!r}; valid: {', '.join(sorted(known))}"
            )
        self._config.stash[_EXERCISED].add(operation_id)
        self._config.stash[_ACTIVE] = True

    @property
    def exercised(self) -> frozenset[str]:
        exercised: set[str] = self._config.stash[_EXERCISED]
        return frozenset(exercised)


@pytest.fixture(scope="session")
def talon_coverage(pytestconfig: pytest.Config) -> OperationCoverage:
    """Report operations a test exercised outside ``talon_client`` (see the module docstring)."""
    return OperationCoverage(pytestconfig)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test's body its traffic is judged (``traffic.verdict``): a violation fails the test."""
    __tracebackhide__ = True  # the failure is the test's: none of this plugin's frames are shown
    result = yield
    traffic = item.stash.get(_TRAFFIC, None)
    if traffic is not None:
        from replay.recording.traffic import verdict

        marker = item.get_closest_marker("talon_traffic")
        expected = bool(marker and marker.kwargs.get("expect_violations"))
        judged = verdict(_contract_of(item.config), **traffic, test=item.nodeid, expect_violations=expected)
        item.config.stash[_EXERCISED].update(judged.exercised)
        judged.conclude()  # warns of what was recorded broken, raises for what was played or sent
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # schemathesis names each generated test item by its operation's label, "METHOD /path".
    # Kept as labels and matched with the contract only for the summary: a project testing other
    # APIs with schemathesis pays nothing per test, and a bad contract setting cannot break a test.
    label = getattr(item, "operation_label", None)
    if call.when == "call" and isinstance(label, str) and not report.skipped:
        item.config.stash.setdefault(_SCHEMATHESIS_LABELS, set()).add(label)
    return report


def _operations_by_route(config: pytest.Config) -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> operationId of the contract, built once per session."""
    routes = config.stash.get(_LABELS, None)
    if routes is None:
        routes = config.stash[_LABELS] = {
            (op.method, op.path): op.operation_id for op in _contract_of(config)
        }
    return routes


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands its share to the controller (see pytest_testnodedown).
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        exercised: set[str] = session.config.stash[_EXERCISED]
        labels: set[str] = session.config.stash.get(_SCHEMATHESIS_LABELS, set())
        workeroutput["talon_exercised"] = sorted(exercised)
        workeroutput["talon_labels"] = sorted(labels)
        workeroutput["talon_active"] = session.config.stash[_ACTIVE]
        workeroutput["talon_next_checked"] = session.config.stash[_NEXT_CHECKED]
        workeroutput["talon_next_breaks"] = session.config.stash[_NEXT_BREAKS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker finished; merge what it exercised."""
    output = getattr(node, "workeroutput", {})
    config: pytest.Config = node.config
    exercised: set[str] = config.stash[_EXERCISED]
    exercised.update(output.get("talon_exercised", ()))
    config.stash.setdefault(_SCHEMATHESIS_LABELS, set()).update(output.get("talon_labels", ()))
    if output.get("talon_active"):
        config.stash[_ACTIVE] = True
    config.stash[_NEXT_CHECKED] += output.get("talon_next_checked", 0)
    config.stash[_NEXT_BREAKS] += [tuple(b) for b in output.get("talon_next_breaks", ())]


def _summarise_next(terminalreporter: Any, config: pytest.Config) -> None:
    path = setting(config, "next_contract")
    checked, breaks = config.stash.get(_NEXT_CHECKED, 0), config.stash.get(_NEXT_BREAKS, [])
    if not path or not (checked or breaks):
        return
    terminalreporter.section(f"talon-contracts: under the next contract ({path})")
    if not breaks:
        terminalreporter.write_line(f"none of the {checked} exchange(s) checked would break")
        return
    terminalreporter.write_line(f"{len(breaks)} of {checked} exchange(s) checked would break:")
    for test, exchange, violations in sorted(breaks)[:50]:
        terminalreporter.write_line(f"{test}: {exchange}")
        for violation in violations[:5]:
            terminalreporter.write_line(f"    {violation}")
    if len(breaks) > 50:
        terminalreporter.write_line(f"... and {len(breaks) - 50} more")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    _summarise_next(terminalreporter, config)
    labels = config.stash.get(_SCHEMATHESIS_LABELS, set())
    if not (config.stash.get(_ACTIVE, False) or config.stash.get(_EXERCISED, set()) or labels):
        return
    try:
        routes = _operations_by_route(config)
    except Exception as exc:  # a bad contract setting: said here, the run's result stands
        terminalreporter.write_line(f"talon-contracts coverage: the contract cannot be loaded: {exc}")
        return
    recorded: set[str] = config.stash[_EXERCISED]
    exercised = set(recorded)
    for label in labels:
        method, _, path = label.partition(" ")
        operation_id = routes.get((method.upper(), path))  # None: an operation of another API
        if operation_id is not None:
            exercised.add(operation_id)
    if not config.stash.get(_ACTIVE, False) and not exercised:
        return  # schemathesis tests of other APIs only: nothing of ours ran
    documented = list(dict.fromkeys(routes.values()))
    covered = [op for op in documented if op in exercised]
    missing = [op for op in documented if op not in exercised]
    terminalreporter.section("talon-contracts coverage")
    terminalreporter.write_line(f"{len(covered)} of {len(documented)} operations exercised")
    if missing:
        terminalreporter.write_line("not exercised: " + ", ".join(missing))


# --------------------------------------------------------------------------- cassettes as tests


def _collects_cassettes(config: pytest.Config, path: Path) -> bool:
    """Cassettes are collected under --talon-verify-cassettes directories, and under a directory
    named ``cassettes`` named on the command line (a project's other YAML files never are). Asked
    for every file: the readers (~270 ms of imports) load only for a file under such a root."""
    resolved = path.resolve()
    roots = config.stash.get(_CASSETTE_ROOTS, None)
    if roots is None:
        roots = [Path(d).resolve() for d in config.getoption("talon_verify_cassettes")]
        for arg in config.args:
            given = Path(str(arg).split("::", 1)[0]).resolve()
            if given.is_file() or (given.is_dir() and "cassettes" in given.parts[-1:]):
                roots.append(given)
        config.stash[_CASSETTE_ROOTS] = roots
    if not any(resolved == root or root in resolved.parents for root in roots):
        return False
    from replay.cassettes import CASSETTE_SUFFIXES

    return path.suffix.lower() in CASSETTE_SUFFIXES


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _collects_cassettes(parent.config, file_path):
        return CassetteFile.from_parent(parent, path=file_path)
    return None


class CassetteFile(pytest.File):
    """A recorded capture: each interaction is a test item."""

    def collect(self) -> Iterator[pytest.Item]:
        from replay.cassettes import read_interactions
        from replay.cassettes.model import ReadProblem

        contract = _contract_of(self.config)
        self.config.stash[_ACTIVE] = True
        for item in read_interactions(self.path):
            if isinstance(item, ReadProblem):
                yield UnreadableInteraction.from_parent(self, name=f"unreadable-{item.index if item.index is not None else 'file'}",
                                                        problem=str(item))  # fmt: skip
                continue
            match = contract.find(item.request.method, item.request.url)
            name = f"{item.index}-{match.operation.operation_id if match else 'no-operation'}"
            yield InteractionItem.from_parent(self, name=name, interaction=item, contract=contract)


class InteractionItem(pytest.Item):
    """One recorded exchange, checked against the contract (negative exchanges as ``talon-contracts verify`` does)."""

    def __init__(self, *, interaction: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interaction = interaction
        self.contract = contract

    def runtest(self) -> None:
        from contracts.errors import ContractViolationError
        from replay.verify import check

        violations, _ = check(self.contract, self.interaction)
        match = self.contract.find(self.interaction.request.method, self.interaction.request.url)
        if match is not None:
            self.config.stash[_EXERCISED].add(match.operation.operation_id)
        if violations:
            raise ContractViolationError(violations)
        _check_next(self.config, self.nodeid, self.interaction)  # what conforms today, against the next

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        request = self.interaction.request
        lines = [f"{self.interaction.where}: {request.method} {request.url}"]
        violations = getattr(excinfo.value, "violations", None)
        if violations:
            lines += [f"  {v}" for v in violations]
        else:
            lines.append(f"  {excinfo.value}")
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.interaction.line or 1) - 1, self.name


class UnreadableInteraction(pytest.Item):
    def __init__(self, *, problem: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        raise AssertionError(self.problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"unreadable: {self.problem}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name
