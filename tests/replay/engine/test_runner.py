"""replay.engine.runner against real sockets: the sandbox (unchanged, with planted changes), ids, namespaces,
write safety, retries, failures."""

from __future__ import annotations

import copy
import gzip
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from contracts.client import IntegrationClient, RetryPolicy
from contracts.sandbox import Sandbox
from contracts.spec import Contract
from replay.cassettes import read_interactions, write_cassette
from replay.cassettes.model import Interaction
from replay.engine import Outcome, Replayer, ReplayOptions
from replay.engine.multiplexed import Multiplexer
from replay.engine.pipeline import Pipeline, path_and_query
from replay.engine.transport import Transport
from tests.httpserver import ScriptedServer

from ..helpers import CORPUS, session_exchange

SEED = Path(__file__).resolve().parents[3] / "contracts" / "sandbox" / "seed.yaml"
API_KEY = "sandbox-api-key"


def _seed(change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    seed = yaml.safe_load(SEED.read_text())
    if change is not None:
        change(seed)
    return seed


def _replay(
    contract: Contract,
    paths: list[Path],
    seed: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[list[Outcome], Replayer]:
    """Replay ``paths`` against embedded sandboxes (one per worker, reset per story)."""
    outcomes: list[Outcome] = []
    replayer = Replayer(
        contract,
        ReplayOptions(target="embedded", api_key=API_KEY, **options),
        outcomes.append,
        own_target=lambda: Sandbox(seed=copy.deepcopy(seed) if seed else None, contract=contract).start(),
    )
    replayer.run(paths)
    return outcomes, replayer


def _findings(outcomes: list[Outcome]) -> dict[tuple[str, int], Outcome]:
    return {(Path(o.source).name, o.index): o for o in outcomes if o.finding}


def test_the_corpus_replays_without_findings_on_an_unchanged_sandbox(contract: Contract) -> None:
    outcomes, replayer = _replay(contract, [CORPUS])
    summary = replayer.summary
    assert _findings(outcomes) == {}
    assert (
        summary.counts["same"] + summary.counts["noise"] + summary.counts["skipped"] == len(outcomes) == 149
    )
    skipped = [o for o in outcomes if o.kind == "skipped"]
    assert {o.reason for o in skipped} == {
        "a recorded conflict with a concurrent request cannot be reproduced"
    }
    assert summary.problems == [] and not summary.interrupted
    assert all(o.expected is None and o.live is None for o in outcomes)  # bodies kept for findings only


def _recorded_with_campaign(campaign_id: int) -> set[tuple[str, int]]:
    """The oracle, from the cassettes alone: responses that show this campaign among the triggered ones."""
    found = set()
    for path in sorted(CORPUS.glob("*.yaml")):
        for item in read_interactions(path):
            assert isinstance(item, Interaction)
            body = item.response.body if item.response else None
            try:
                document = orjson.loads(body or b"null")
            except orjson.JSONDecodeError:
                continue
            campaigns = document.get("triggeredCampaigns") if isinstance(document, dict) else None
            if campaigns and any(c.get("id") == campaign_id for c in campaigns):
                found.add((path.name, item.index))
    return found


def test_a_planted_change_is_found_exactly(contract: Contract) -> None:
    """Renaming campaign 1 shows in exactly the responses that list it, at exactly that field."""

    def rename(seed: dict[str, Any]) -> None:
        seed["campaigns"][0]["name"] = "Welcome discount (2027 edition)"

    expected = _recorded_with_campaign(1)
    assert len(expected) >= 2
    outcomes, _ = _replay(contract, [CORPUS], seed=_seed(rename))
    findings = _findings(outcomes)
    assert set(findings) == expected
    for outcome in findings.values():
        assert outcome.kind == "changed" and outcome.diff is not None
        real = outcome.diff.real
        assert real and all(
            c.pointer.startswith("/triggeredCampaigns/") and c.pointer.endswith("/name") for c in real
        )
        assert {c.after for c in real} == {"Welcome discount (2027 edition)"}
        assert outcome.expected is not None and outcome.live is not None  # kept for the reports


def test_a_planted_behaviour_change_stays_in_the_stories_it_touches(contract: Contract) -> None:
    """25% instead of 20% off white cups: only the stories that buy white cups see differences."""

    def cheaper_cups(seed: dict[str, Any]) -> None:
        barista = next(c for c in seed["campaigns"] if c["id"] == 5)
        barista["rules"][1]["then"][0]["setDiscountPerItem"]["percent"] = 25

    buying_cups = {
        path.name
        for path in CORPUS.glob("*.yaml")
        if any(
            isinstance(i, Interaction) and b"SKU-CUP-WHITE" in (i.request.body or b"")
            for i in read_interactions(path)
        )
    }
    outcomes, _ = _replay(contract, [CORPUS], seed=_seed(cheaper_cups))
    findings = _findings(outcomes)
    assert findings and {name for name, _ in findings} <= buying_cups
    assert all(o.kind == "changed" for o in findings.values())
    first = min(findings)  # the first exchange that sees it shows the discount itself
    assert any(
        c.pointer.endswith("/props/value") and c.before == 6.0 and c.after == 7.5
        for c in findings[first].diff.real
    )  # type: ignore[union-attr]


# --------------------------------------------------------------------------- one shared target


@pytest.fixture
def shared() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def _replay_on(sandbox: Sandbox, contract: Contract, paths: list[Path], **options: Any) -> list[Outcome]:
    outcomes: list[Outcome] = []
    Replayer(
        contract, ReplayOptions(target=sandbox.base_url, api_key=sandbox.api_key, **options), outcomes.append
    ).run(paths)
    return outcomes


def test_generated_ids_are_carried_into_later_requests(shared: Sandbox, contract: Contract) -> None:
    """The target hands out other audience ids and referral codes than the recording saw."""
    client = IntegrationClient(shared.base_url, shared.api_key, contract=contract)
    client.create_audience_v2(
        {"name": "someone else's", "integration": "segment", "integrationId": "other-1"}
    )
    client.create_referral({"campaignId": 3, "advocateProfileIntegrationId": "seed-bruno"})
    paths = [CORPUS / "audience-lifecycle.yaml", CORPUS / "checkout-coupon-referral.yaml"]
    outcomes = _replay_on(shared, contract, paths, namespace="t1-")
    assert _findings(outcomes) == {}
    created = next(o for o in outcomes if o.operation_id == "createAudienceV2" and o.kind != "skipped")
    assert created.diff is not None and any(c.pointer == "/id" and c.noise for c in created.diff.body)
    updated = next(o for o in outcomes if o.operation_id == "updateAudienceV2")
    assert "/v2/audiences/" in updated.url and not updated.url.endswith(
        "/1"
    )  # the live id, not the recorded one


def test_namespaces_keep_replays_apart(shared: Sandbox, contract: Contract) -> None:
    """Stories that touch only what they create replay again and again on one target, each run in its
    own namespace. (Shared entities, a coupon's usage counter or a seeded profile's points, do change
    from run to run on a shared target: that is the target's state, not a collision of ids.)"""
    paths = [CORPUS / "audience-lifecycle.yaml", CORPUS / "profiles-and-events.yaml"]
    first = _replay_on(shared, contract, paths, namespace="run1-")
    second = _replay_on(shared, contract, paths, namespace="run2-")
    assert _findings(first) == {} and _findings(second) == {}
    assert any("/customer_profiles/run2-" in o.url for o in second)
    again = _replay_on(shared, contract, paths, namespace="run1-")  # the first run's state is still there
    assert _findings(again), "replaying into an existing namespace should show the state it left"


def test_dry_writes_and_skipped_writes(shared: Sandbox, contract: Contract) -> None:
    paths = [CORPUS / "checkout-coupon-referral.yaml", CORPUS / "audience-lifecycle.yaml"]
    outcomes = _replay_on(shared, contract, paths, writes="dry", namespace="dry-")
    sessions = [o for o in outcomes if o.operation_id == "updateCustomerSessionV2" and o.kind != "skipped"]
    assert sessions and all("dry=true" in o.url for o in sessions)
    audience = next(o for o in outcomes if o.operation_id == "createAudienceV2")
    assert audience.kind == "skipped" and "has no dry run" in (audience.reason or "")
    reads = [o for o in outcomes if o.method == "GET"]
    assert reads and all(o.kind != "skipped" for o in reads)
    skip_all = _replay_on(shared, contract, paths, writes="skip")
    assert all(o.kind == "skipped" for o in skip_all if o.method != "GET")
    assert {o.reason for o in skip_all if o.method != "GET"} == {"changes state (--writes skip)"}


def test_the_key_is_ours_and_a_foreign_key_stays_invalid(shared: Sandbox, contract: Contract) -> None:
    outcomes = _replay_on(shared, contract, [CORPUS / "revoked-api-key.yaml"])
    assert len(outcomes) == 28 and _findings(outcomes) == {}
    assert all(
        o.request is not None and o.request.headers["authorization"].endswith("REDACTED-OTHER")
        for o in outcomes
    )
    wrong_key: list[Outcome] = []
    Replayer(contract, ReplayOptions(target=shared.base_url, api_key="not-the-key"), wrong_key.append).run(
        [CORPUS / "catalog-sync.yaml"]
    )
    assert {o.live.status for o in wrong_key if o.live} == {401}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- a scripted target


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


def _session_cassette(tmp_path: Path, count: int = 1) -> Path:
    path = tmp_path / "story.jsonl"
    exchanges = []
    for n in range(count):
        exchange = session_exchange(f"s{n}")
        exchange.index = n
        exchanges.append(exchange)
    write_cassette(path, exchanges, fmt="jsonl")
    return path


def _answer() -> Any:
    return orjson.loads(session_exchange("s0").response.body or b"")  # type: ignore[union-attr]


def test_429_and_503_are_retried_with_retry_after(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.push(429, {"message": "slow down"}, headers={"Retry-After": "0"})
    scripted.push(503, {"message": "busy"})
    scripted.push(200, _answer())
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=scripted.url, api_key="k", retry=RetryPolicy(retries=3, backoff=0.001))
    Replayer(contract, options, outcomes.append).run([_session_cassette(tmp_path)])
    (outcome,) = outcomes
    assert outcome.attempts == 3 and outcome.kind in ("same", "noise")
    assert [r.headers["authorization"] for r in scripted.requests] == ["ApiKey-v1 k"] * 3


def test_an_unreachable_target_gives_error_outcomes(contract: Contract, tmp_path: Path) -> None:
    outcomes: list[Outcome] = []
    options = ReplayOptions(
        target="http://127.0.0.1:9", api_key="k", retry=RetryPolicy(retries=1, backoff=0.001)
    )
    Replayer(contract, options, outcomes.append).run([_session_cassette(tmp_path, 2)])
    assert [o.kind for o in outcomes] == ["error", "error"]
    assert all("cannot connect" in (o.reason or "") for o in outcomes)


def test_a_slow_target_times_out_as_an_error(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.push(200, _answer(), delay=1.0)
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=scripted.url, api_key="k", timeout=0.2, retry=RetryPolicy(retries=0))
    Replayer(contract, options, outcomes.append).run([_session_cassette(tmp_path)])
    assert outcomes[0].kind == "error" and "no answer within 0.2 s" in (outcomes[0].reason or "")


def test_a_broken_answer_is_a_violation(scripted: ScriptedServer, contract: Contract, tmp_path: Path) -> None:
    broken = _answer()
    broken["customerSession"]["total"] = "a lot"
    scripted.push(200, broken)
    outcomes: list[Outcome] = []
    Replayer(contract, ReplayOptions(target=scripted.url, api_key="k"), outcomes.append).run(
        [_session_cassette(tmp_path)]
    )
    (outcome,) = outcomes
    assert outcome.kind == "violation" and outcome.violations[0].pointer == "/customerSession/total"
    assert outcome.diff is not None and [c.pointer for c in outcome.diff.real] == ["/customerSession/total"]


def test_an_answer_that_only_gains_members_is_additive_not_changed(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    gained = _answer()
    gained["customerSession"]["loyaltyTier"] = "gold"  # a member the recording does not have
    scripted.push(200, gained)
    scripted.push(200, {k: v for k, v in _answer().items() if k != "effects"})  # one lost: breaking
    outcomes: list[Outcome] = []
    Replayer(contract, ReplayOptions(target=scripted.url, api_key="k"), outcomes.append).run(
        [_session_cassette(tmp_path, 2)]
    )
    assert outcomes[0].kind == "additive" and not outcomes[0].finding
    assert outcomes[1].kind in ("changed", "violation")


def test_a_compressed_answer_is_judged_decoded(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    # decoded where it enters the engine (replay.cassettes.model.plain): validated and diffed as JSON
    scripted.push(200, gzip.compress(orjson.dumps(_answer())), headers={"Content-Encoding": "gzip"})
    outcomes: list[Outcome] = []
    Replayer(contract, ReplayOptions(target=scripted.url, api_key="k"), outcomes.append).run(
        [_session_cassette(tmp_path)]
    )
    (outcome,) = outcomes
    assert outcome.kind in ("same", "noise") and not outcome.violations, outcome


@pytest.mark.parametrize("concurrency", [1, 2])  # a thread per story, and stories multiplexed
def test_a_bug_of_the_tool_is_a_malfunction_of_that_interaction_and_the_run_goes_on(
    scripted: ScriptedServer,
    contract: Contract,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    concurrency: int,
) -> None:
    scripted.default.body = _answer()
    calls = 0
    judge = Pipeline.judge

    def buggy(self: Pipeline, *args: Any) -> Outcome:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyError("a bug of ours")
        return judge(self, *args)

    monkeypatch.setattr(Pipeline, "judge", buggy)
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=scripted.url, api_key="k", concurrency=concurrency)
    summary = Replayer(contract, options, outcomes.append).run([_session_cassette(tmp_path, 3)])
    assert [o.kind for o in outcomes].count("malfunction") == 1 and len(outcomes) == 3
    (broken,) = [o for o in outcomes if o.kind == "malfunction"]
    assert not broken.finding  # never counted as a finding about the target
    assert "talon-contracts failed (KeyError: 'a bug of ours', at test_runner.py:" in (broken.reason or "")
    assert summary.counts["malfunction"] == 1 and broken in summary.findings  # kept for the reports


def test_stop_finishes_the_request_in_flight_and_sends_no_more(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.default.body = _answer()
    outcomes: list[Outcome] = []
    replayer = Replayer(contract, ReplayOptions(target=scripted.url, api_key="k"), None)

    def sink(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 3:
            replayer.stop()

    replayer.sink = sink
    replayer.run([_session_cassette(tmp_path, 50)])
    # the request in flight when stop() came (the next answer is judged while it is) still gets its outcome
    assert len(scripted.requests) in (3, 4) and len(outcomes) == len(scripted.requests)


def test_operations_can_be_selected(contract: Contract) -> None:
    outcomes, _ = _replay(
        contract, [CORPUS / "loyalty-card.yaml"], operations=frozenset({"getLoyaltyCardPoints"})
    )
    sent = {o.operation_id for o in outcomes if o.kind != "skipped"}
    assert sent == {"getLoyaltyCardPoints"}
    assert {o.reason for o in outcomes if o.kind == "skipped"} == {"operation not selected"}


def test_interactions_of_no_operation_are_skipped_with_a_reason(contract: Contract, tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(
        b'{"request": {"method": "GET", "uri": "http://h/favicon.ico"}, "response": {"status": 200}}\n'
    )
    outcomes, _ = _replay(contract, [path])
    assert [(o.kind, o.reason) for o in outcomes] == [("skipped", "matches no operation of the contract")]


def _timed_cassette(tmp_path: Path, gaps: list[float]) -> Path:
    """Three exchanges recorded ``gaps`` seconds apart (JSON Lines keeps recorded_at)."""
    records = []
    at = 0.0
    for n, gap in enumerate([0.0, *gaps]):
        at += gap
        exchange = session_exchange(f"t{n}")
        record = orjson.loads(orjson.dumps({"request": {"method": "GET", "uri": exchange.request.url,
                                                        "headers": {"Authorization": ["ApiKey-v1 REDACTED"]}},
                                            "response": {"status": 200, "headers": {"Content-Type": ["application/json"]},
                                                         "body": (exchange.response.body or b"").decode()}}))  # type: ignore[union-attr]  # fmt: skip
        record["recorded_at"] = f"2026-03-02T09:00:{at:06.3f}Z"
        records.append(orjson.dumps(record))
    path = tmp_path / "timed.jsonl"
    path.write_bytes(b"\n".join(records) + b"\n")
    return path


def test_recorded_timing_can_be_kept_and_scaled(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.default.body = _answer()
    path = _timed_cassette(tmp_path, [0.4, 0.4])
    took = {}
    for speed, least in ((None, 0.0), (2.0, 0.4), (1.0, 0.8)):
        started = time.monotonic()
        Replayer(contract, ReplayOptions(target=scripted.url, api_key="k", speed=speed)).run([path])
        took[speed] = time.monotonic() - started
        assert took[speed] >= least, (speed, took)
    assert took[None] < took[1.0] - 0.4  # as fast as possible ignores the recorded gaps (0.8 s of them)


def test_a_rate_limit_spaces_the_requests(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.default.body = _answer()
    started = time.monotonic()
    Replayer(contract, ReplayOptions(target=scripted.url, api_key="k", rate=20)).run(
        [_session_cassette(tmp_path, 6)]
    )
    assert time.monotonic() - started >= 0.2  # 6 requests at 20/s: at least 5 gaps of 50 ms
    assert len(scripted.requests) == 6


def test_a_tls_failure_is_an_error_outcome(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    https = scripted.url.replace("http://", "https://")  # a plain HTTP server where TLS is expected
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=https, api_key="k", retry=RetryPolicy(retries=0))
    Replayer(contract, options, outcomes.append).run([_session_cassette(tmp_path)])
    assert outcomes[0].kind == "error" and "TLS" in (outcomes[0].reason or "")


def test_a_recorded_expect_header_does_not_desynchronise_the_story(
    shared: Sandbox, contract: Contract, tmp_path: Path
) -> None:
    exchanges = list(read_interactions(CORPUS / "profiles-and-events.yaml"))
    for item in exchanges:
        assert isinstance(item, Interaction)
        if item.request.body:
            item.request.headers["Expect"] = ["100-continue"]  # what curl adds to bodies over 1 KB
    path = tmp_path / "expect.yaml"
    write_cassette(path, exchanges)  # type: ignore[arg-type]
    outcomes = _replay_on(shared, contract, [path], namespace="x-")
    assert _findings(outcomes) == {}


def test_two_stories_creating_the_same_ids_do_not_collide(
    shared: Sandbox, contract: Contract, tmp_path: Path
) -> None:
    story = (CORPUS / "audience-lifecycle.yaml").read_bytes()
    (tmp_path / "a.yaml").write_bytes(story)
    (tmp_path / "b.yaml").write_bytes(story)
    outcomes = _replay_on(shared, contract, [tmp_path], namespace="run-", concurrency=1)
    assert _findings(outcomes) == {}


@given(
    st.tuples(
        st.sampled_from(["", "http://", "https://", "x1://", "é://", "//", " "]),
        st.text(alphabet="ab:@[]?#.1/", max_size=8),
        st.text(alphabet="/ab%?#=&\t é\n", max_size=24),
    ).map("".join)
)
def test_the_path_sent_is_the_one_urlsplit_reads(url: str) -> None:
    parts = urlsplit(url)
    assert path_and_query(url) == (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _stories(tmp_path: Path, names: list[str], count: int) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / f"{name}.jsonl"
        exchanges = [session_exchange(f"{name}-{n}") for n in range(count)]
        for n, exchange in enumerate(exchanges):
            exchange.index = n
        write_cassette(path, exchanges, fmt="jsonl")
        paths.append(path)
    return paths


def test_concurrent_stories_share_one_thread_with_their_requests_in_flight_together(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.default.body = _answer()
    written: list[str] = []  # in the order the client wrote them (the server's order is its threads')
    begin = Transport.begin

    def recording_begin(self: Transport, method: str, target: str, *args: Any) -> Any:
        written.append(target.rsplit("/", 1)[-1])
        return begin(self, method, target, *args)

    monkeypatch.setattr(Transport, "begin", recording_begin)
    threads: set[str] = set()
    outcomes: list[Outcome] = []

    def sink(outcome: Outcome) -> None:
        threads.add(threading.current_thread().name)
        outcomes.append(outcome)

    replayer = Replayer(contract, ReplayOptions(target=scripted.url, api_key="k", concurrency=2), sink)
    assert replayer.multiplexed
    replayer.run(_stories(tmp_path, ["a", "b"], 3))
    assert len(outcomes) == 6 and not any(o.kind in ("error", "skipped") for o in outcomes)  # answered
    assert len(threads) == 1
    # both stories' first requests went out before either story's second one
    assert set(written[:2]) == {"a-0", "b-0"} and len(written) == 6
    for story in ("a", "b"):  # and each story kept its order, on the wire too
        assert [w for w in written if w.startswith(story)] == [f"{story}-{n}" for n in range(3)]
        sent = [r.path.rsplit("/", 1)[-1] for r in scripted.requests if f"/{story}-" in r.path]
        assert sent == [f"{story}-{n}" for n in range(3)]


def test_a_story_that_times_out_does_not_hold_up_the_others(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.push(200, _answer(), delay=2.0)  # whichever first request the server takes first
    scripted.default.body = _answer()
    outcomes: list[Outcome] = []
    options = ReplayOptions(
        target=scripted.url, api_key="k", concurrency=2, timeout=0.3, retry=RetryPolicy(retries=0)
    )
    started = time.monotonic()
    Replayer(contract, options, outcomes.append).run(_stories(tmp_path, ["a", "b"], 3))
    assert time.monotonic() - started < 1.5
    errors = [o for o in outcomes if o.kind == "error"]
    assert len(errors) == 1 and "no answer within 0.3 s" in (errors[0].reason or "")
    assert len(outcomes) == 6 and sum(o.kind not in ("error", "skipped") for o in outcomes) == 5


def test_a_connection_closed_while_idle_is_dropped_not_spun_on(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first story's only answer comes at once, then the server hangs up on its idle
    # connection; the other story's answer takes 0.5 s, while that closed connection lies idle
    scripted.push(200, _answer(), hang_up=True)
    scripted.push(200, _answer(), delay=0.5)
    waits: list[float | None] = []

    class CountingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            waits.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(selectors, "DefaultSelector", CountingSelector)
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=scripted.url, api_key="k", concurrency=2, retry=RetryPolicy(retries=0))
    replayer = Replayer(contract, options, outcomes.append)
    assert replayer.multiplexed
    replayer.run(_stories(tmp_path, ["a", "b"], 1))
    assert len(outcomes) == 2 and all(o.kind not in ("error", "skipped") for o in outcomes)
    # readable at end of file, the closed connection would wake the loop at once, again and
    # again, for the whole 0.5 s: it is closed and forgotten on the first wake-up instead
    assert 2 <= len(waits) <= 10, len(waits)


def test_paced_replays_and_own_targets_keep_a_thread_per_story(contract: Contract) -> None:
    assert not Replayer(
        contract, ReplayOptions(target="http://127.0.0.1:9", api_key="k", speed=1.0)
    ).multiplexed
    own = Replayer(
        contract, ReplayOptions(target="embedded", api_key="k"), own_target=lambda: Sandbox().start()
    )
    assert not own.multiplexed


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes are forked (POSIX)")


@needs_fork
def test_worker_processes_share_the_stories_and_stop_when_told(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.default.body = _answer()
    paths = _stories(tmp_path, ["a", "b", "c", "d"], 30)
    broken = tmp_path / "e.jsonl"
    broken.write_bytes(paths[0].read_bytes().splitlines(keepends=True)[0] + b"{not json\n")
    outcomes: list[Outcome] = []
    options = ReplayOptions(target=scripted.url, api_key="k", concurrency=4, processes=2)
    summary = Replayer(contract, options, outcomes.append).run([*paths, broken])
    assert sorted((Path(o.source).name, o.index) for o in outcomes) == sorted(
        [(f"{story}.jsonl", n) for story in "abcd" for n in range(30)] + [("e.jsonl", 0)]
    )  # every interaction once, whichever process replayed it
    assert summary.done == 121 and summary.stories == 5
    assert [(Path(p.source).name, p.line) for p in summary.problems] == [("e.jsonl", 2)]

    scripted.default.delay = 0.01  # 120 answers take a while: a stop has something left to stop
    stopped: list[Outcome] = []
    replayer = Replayer(contract, options, None)

    def sink(outcome: Outcome) -> None:
        stopped.append(outcome)
        if len(stopped) == 10:
            replayer.stop()

    replayer.sink = sink
    replayer.run(paths)
    assert 10 <= len(stopped) < 120  # the requests in flight finish, no more start


@needs_fork
def test_a_worker_process_that_fails_is_an_error_not_silence(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Multiplexer) -> None:
        raise ZeroDivisionError("a bug in the worker")

    monkeypatch.setattr(Multiplexer, "run", broken)  # the children are forked with it
    options = ReplayOptions(target=scripted.url, api_key="k", concurrency=2, processes=2)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: a bug in the worker"):
        Replayer(contract, options).run(_stories(tmp_path, ["a", "b"], 1))


@needs_fork
def test_worker_processes_give_up_on_an_unreachable_target_once(contract: Contract, tmp_path: Path) -> None:
    options = ReplayOptions(
        target="http://127.0.0.1:9", api_key="k", concurrency=4, processes=2, retry=RetryPolicy(retries=0)
    )
    outcomes: list[Outcome] = []
    summary = Replayer(contract, options, outcomes.append).run(_stories(tmp_path, ["a", "b", "c", "d"], 50))
    assert outcomes and all(o.expected is not None for o in outcomes)  # findings keep their bodies
    assert [u for u in summary.unreadable if u.startswith("giving up")] == [
        "giving up: http://127.0.0.1:9: cannot connect to http://127.0.0.1:9: Connection refused, 3 times in a "
        "row (nothing accepts connections there); the interactions left were not sent"
    ]  # once: the processes say the same
    assert summary.done < 200 and set(summary.counts) == {"error"}


@needs_fork
def test_worker_processes_share_the_rate(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.default.body = _answer()
    options = ReplayOptions(target=scripted.url, api_key="k", concurrency=4, processes=2, rate=20)
    started = time.monotonic()
    summary = Replayer(contract, options).run(_stories(tmp_path, ["a", "b", "c", "d"], 10))
    assert summary.done == 40 and time.monotonic() - started > 1.5  # 40 requests at 20/s in all, not each


def test_retries_happen_when_stories_share_a_thread(
    scripted: ScriptedServer, contract: Contract, tmp_path: Path
) -> None:
    scripted.push(429, {"message": "slow down"}, headers={"Retry-After": "0"})
    scripted.default.body = _answer()
    outcomes: list[Outcome] = []
    options = ReplayOptions(
        target=scripted.url, api_key="k", concurrency=2, retry=RetryPolicy(retries=2, backoff=0.001)
    )
    replayer = Replayer(contract, options, outcomes.append)
    assert replayer.multiplexed
    replayer.run(_stories(tmp_path, ["a", "b"], 3))
    assert len(outcomes) == 6 and not any(o.kind == "error" for o in outcomes)
    assert sorted(o.attempts for o in outcomes) == [1, 1, 1, 1, 1, 2] and len(scripted.requests) == 7


def test_a_request_lost_with_a_closed_connection_is_sent_again_without_holding_up_the_others(
    contract: Contract, tmp_path: Path
) -> None:
    """A server that closes each connection after one answer, without saying so (no Connection:
    close), once the next request has come: that request (a GET) is lost, and written again on a
    new connection. (A connection closed while idle is seen before writing: see test_misbehaving.)"""
    body = orjson.dumps(_answer())
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    listener = socket.create_server(("127.0.0.1", 0))
    served: list[int] = []

    def once(connection: socket.socket) -> None:
        with connection:
            if connection.recv(65536):
                connection.sendall(answer)
                served.append(1)
                connection.recv(65536)  # the next request, never answered

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=once, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        outcomes: list[Outcome] = []
        options = ReplayOptions(
            target=f"http://127.0.0.1:{listener.getsockname()[1]}", api_key="k", concurrency=2
        )
        Replayer(contract, options, outcomes.append).run(_stories(tmp_path, ["a", "b"], 3))
    finally:
        listener.close()
    assert len(outcomes) == 6 and not any(o.kind == "error" for o in outcomes)
    assert sorted(o.attempts for o in outcomes) == [1, 1, 2, 2, 2, 2] and len(served) == 6
