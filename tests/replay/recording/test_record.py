"""replay.recording.record: stories against the embedded sandbox or another target, failures, refused leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.sandbox import Sandbox
from replay.cassettes import read_interactions
from replay.cassettes.model import Interaction
from replay.recording.record import RECORDED_ORIGIN, record
from replay.recording.stories import SCENARIOS, Story


def _read(path: Path) -> list[Interaction]:
    items = list(read_interactions(path))
    assert all(isinstance(i, Interaction) for i in items)
    return items  # type: ignore[return-value]


def test_recording_against_the_embedded_sandbox(tmp_path: Path) -> None:
    seen = []
    results = record(["catalog-sync", "cancelled-order"], tmp_path, progress=seen.append)
    assert [r.name for r in results] == ["catalog-sync", "cancelled-order"] == [r.name for r in seen]
    assert all(r.ok and r.path is not None and r.path.exists() for r in results)
    interactions = _read(tmp_path / "catalog-sync.yaml")
    assert len(interactions) == results[0].interactions
    assert all(i.request.url.startswith(RECORDED_ORIGIN + "/v") for i in interactions)


def test_json_lines_output(tmp_path: Path) -> None:
    (result,) = record(["catalog-sync"], tmp_path, fmt="jsonl")
    assert result.ok and result.path == tmp_path / "catalog-sync.jsonl"
    interactions = _read(result.path)
    assert interactions[0].recorded_at and interactions[0].elapsed is not None  # JSON Lines keeps timing


def test_recording_against_another_target_uses_a_namespace(tmp_path: Path) -> None:
    with Sandbox(api_key="k" * 40) as target:
        origin = target.base_url
        results = record(
            ["profiles-and-events", "concurrent-writes"], tmp_path, target=origin, api_key="k" * 40
        )
    assert all(r.ok for r in results), [r.error for r in results]
    text = (tmp_path / "profiles-and-events.yaml").read_text()
    assert "k" * 40 not in text
    urls = [i.request.url for i in _read(tmp_path / "profiles-and-events.yaml")]
    assert all(u.startswith(origin) for u in urls)  # the real origin: no rewriting elsewhere
    assert any("/customer_profiles/rec-" in u for u in urls)  # ids kept apart from other runs
    statuses = {i.response.status for i in _read(tmp_path / "concurrent-writes.yaml") if i.response}
    assert 409 not in statuses  # conflicts can only be staged on the embedded sandbox


def test_a_story_the_target_contradicts_is_reported_and_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def wrong(story: Story) -> None:
        story.ok("getCustomerSession", story.id("there-is-no-such-session"))

    monkeypatch.setitem(SCENARIOS, "wrong-expectation", (wrong, "expects a session that does not exist"))
    (result,) = record(["wrong-expectation"], tmp_path)
    assert not result.ok and result.path is None
    assert result.error is not None and "ScenarioFailed" in result.error and "404" in result.error
    assert result.finding  # about the target: `record` exits 1 for it
    assert list(tmp_path.iterdir()) == []


def test_a_story_that_would_leak_the_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def leaky(story: Story) -> None:
        story.ok(
            "updateCustomerProfileV2", story.id("leaky"), {"attributes": {"Language": story.client.api_key}}
        )

    monkeypatch.setitem(SCENARIOS, "leaky", (leaky, "puts the API key into a profile"))
    (result,) = record(["leaky"], tmp_path)
    assert not result.ok and result.error is not None
    assert "SecretLeakError" in result.error and "interaction 0, request body" in result.error
    assert not result.finding  # a failure to record: `record` exits 2
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown scenario.*nope.*known: audience-lifecycle"):
        record(["nope"], tmp_path)
    with pytest.raises(ValueError, match="API key is needed"):
        record(["catalog-sync"], tmp_path, target="http://127.0.0.1:9")


def test_an_unreachable_target_is_an_error_per_story(tmp_path: Path) -> None:
    (result,) = record(["catalog-sync"], tmp_path, target="http://127.0.0.1:9", api_key="k" * 40)
    assert not result.ok and result.error is not None and "ConnectionError" in result.error
    assert not result.finding
