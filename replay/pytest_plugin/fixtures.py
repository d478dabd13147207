"""The fixtures a Talon test uses (each can be overridden in a ``conftest.py`` like any pytest
fixture), the markers that say what a test covers and needs, and the judging of a test's traffic
after its body."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from replay.pytest_plugin.nextrelease import check_next
from replay.pytest_plugin.recording import cassette_of, records
from replay.pytest_plugin.settings import (
    ACTIVE,
    EXERCISED,
    MARKER_ERROR,
    TRAFFIC,
    api_key,
    contract_of,
    setting,
)

if TYPE_CHECKING:  # imported when used: the plugin loads in every pytest run of a project that installs us
    from contracts.client import ApiResponse, IntegrationClient
    from contracts.spec import Contract


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    contract: Contract | None = None
    for item in items:
        for marker in item.iter_markers("talon_contract"):
            contract = contract or contract_of(config)
            known = {op.operation_id for op in contract}
            unknown = [str(a) for a in marker.args if a not in known]
            if unknown or not marker.args:  # that test's error, not the session's (-k may not even select it)
                import difflib

                near = sorted({m for u in unknown for m in difflib.get_close_matches(u, known, 3, 0.6)})
                item.stash[MARKER_ERROR] = (
                    f"talon_contract names unknown operation(s) {', '.join(unknown) or '(none given)'}"
                    + (f"; did you mean {', '.join(near)}?" if near else "") + f" (valid: {', '.join(sorted(known))})"
                )  # fmt: skip
            config.stash[ACTIVE] = True  # a marker says what a test covers; only calls count as exercised
        if item.get_closest_marker("talon_staging") and not (setting(config, "base_url") and api_key(config)):
            item.add_marker(pytest.mark.skip(
                reason="needs a staging system: give --talon-base-url and --talon-api-key (or TALON_API_KEY)"
            ))  # fmt: skip


@pytest.fixture(scope="session")
def talon_contract(pytestconfig: pytest.Config) -> Contract:
    """The contract under test (--talon-contract, or the shipped one)."""
    pytestconfig.stash[ACTIVE] = True
    return contract_of(pytestconfig)


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
    key = api_key(pytestconfig)
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

    exercised = pytestconfig.stash[EXERCISED]
    test = request.node.nodeid

    def note(response: ApiResponse) -> None:
        exercised.add(response.operation_id)
        if setting(pytestconfig, "next_contract"):
            from replay.cassettes.model import Interaction

            exchange = Interaction(test, 0, response.request, response.as_http())
            check_next(pytestconfig, test, exchange, today=talon_contract)

    client = IntegrationClient(talon_base_url, talon_api_key, contract=talon_contract, validate="strict",
                               observers=[note])  # fmt: skip
    try:
        yield client
    finally:
        client.session.close()


@pytest.fixture
def talon_record_mode(request: pytest.FixtureRequest) -> str:
    """The record mode of this test's cassette, as pytest-recording decides it (its docstring in
    ``recording.py``): a marker's, else vcr_config's, else --record-mode, else none."""
    for marker in request.node.iter_markers("vcr"):
        if "record_mode" in marker.kwargs:
            return str(marker.kwargs["record_mode"])
    if records(request.config):
        configured = request.getfixturevalue("vcr_config").get("record_mode")
        if configured:
            return str(configured)
    return str(request.config.getoption("record_mode", None) or "none")


@pytest.fixture
def talon_cassette(request: pytest.FixtureRequest) -> Any:
    """The test's pytest-recording cassette, redacted, judged against the contract after the test."""
    from replay.recording.traffic import track_playback

    cassette = cassette_of(request)
    if cassette is not None:
        track_playback(cassette)  # judged after the test, with the requests it sent
        request.node.stash[TRAFFIC] = {"cassette": cassette}
    return cassette


@pytest.fixture(autouse=True)
def _talon_markers(request: pytest.FixtureRequest) -> None:
    """A test's bad marker fails that test; ``talon_traffic`` as a marker turns the fixture on."""
    error = request.node.stash.get(MARKER_ERROR, None)
    if error is not None:
        pytest.fail(error, pytrace=False)
    if request.node.get_closest_marker("talon_traffic") is not None:
        request.getfixturevalue("talon_traffic")


@pytest.fixture
def talon_traffic(request: pytest.FixtureRequest, talon_base_url: str) -> Iterator[Any]:
    """Every exchange of the test's code with talon_base_url, through any client, checked against the
    contract when the test ends (in a test with a cassette, ``talon_cassette`` or ``@pytest.mark.vcr``:
    the cassette's exchanges)."""
    request.config.stash[ACTIVE] = True
    if request.node.get_closest_marker("vcr") is not None and records(request.config):
        cassette = request.getfixturevalue("talon_cassette")  # one vcrpy cassette at a time: the test's own
        if cassette is not None:  # (None: --disable-recording, the exchanges are live: observed below)
            yield cassette
            return
    from replay.recording.traffic import observing

    with observing() as observed:
        request.node.stash[TRAFFIC] = {"observed": observed, "base_url": talon_base_url}
        yield observed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test's body its traffic is judged (``traffic.verdict``): a violation fails the test.
    Judged when the body failed too: the code's own error (an HTTPError 400, a model that cannot read
    the answer) is then the consequence, the violation its cause, and both are shown."""
    __tracebackhide__ = True  # the failure is the test's: none of this plugin's frames are shown
    try:
        result = yield
    except (Exception, pytest.fail.Exception) as failure:  # pytest.fail and "DID NOT RAISE" too
        _judge(item, failure)
        raise
    _judge(item, None)
    return result


def _judge(item: pytest.Item, failure: BaseException | None) -> None:
    __tracebackhide__ = True
    traffic = item.stash.get(TRAFFIC, None)
    if traffic is None:
        return
    from replay.recording.traffic import verdict

    marker = item.get_closest_marker("talon_traffic")
    expected = bool(marker and marker.kwargs.get("expect_violations"))
    judged = verdict(contract_of(item.config), **traffic, test=item.nodeid, expect_violations=expected)
    item.config.stash[EXERCISED].update(judged.exercised)
    if failure is not None and judged.failure is not None:
        raise judged.failure from failure
    judged.conclude()  # warns of what was recorded broken, raises for what was played or sent
