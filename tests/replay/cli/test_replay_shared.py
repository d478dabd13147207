"""`replay run` against one shared, long-lived target (a sandbox nobody resets, like staging), over a
real socket: with default settings the corpus reports no change, on a fresh target and on a used one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from contracts.sandbox import Sandbox
from replay.cli import cli

from ..helpers import CORPUS


def _replay(runner: CliRunner, sandbox: Sandbox, report: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        cli,
        ["replay", "run", str(CORPUS), "--target", sandbox.base_url, "--api-key", sandbox.api_key,
         "--quiet", "--report", f"json:{report}", *extra],
    )  # fmt: skip
    return result.exit_code, json.loads(report.read_text())


def test_the_corpus_replayed_twice_against_one_shared_sandbox_reports_no_change(
    runner: CliRunner, tmp_path: Path
) -> None:
    with Sandbox() as sandbox:  # started once, shared by every story of both runs
        for run in (1, 2):  # the second meets what the first left: coupons used, a card linked ...
            code, report = _replay(runner, sandbox, tmp_path / f"run-{run}.json")
            counts = report["summary"]["outcomes"]
            assert code == 0 and counts["changed"] == 0 and counts["violation"] == 0, (run, counts)
            explained = [o for o in report["outcomes"] if o["outcome"] == "shared-state"]
            assert explained, run  # the stories do share state: it is stated, not hidden
            assert all(o["reason"].startswith("shared state: ") for o in explained)
            reasons = {o["reason"] for o in explained}
            catalog = any("the catalog is changed by catalog-sync.yaml" in r for r in reasons)
            if run == 1:
                # catalog-sync ran after the stories that read the catalog: they saw its recorded prices
                assert not catalog and len(explained) <= 5, reasons
            else:
                assert catalog  # now every cart meets the prices the first run's sync set
                assert any("loyalty card CARD-0002" in r for r in reasons)  # linked in run 1
                assert any("profile seed-alice" in r for r in reasons)  # seeded, kept, its points spent


def test_without_the_shared_state_explanation_the_same_replay_reports_changes(
    runner: CliRunner, tmp_path: Path
) -> None:
    # --fresh-target says the target starts every story in its recorded state: it does not here
    with Sandbox() as sandbox:
        code, report = _replay(runner, sandbox, tmp_path / "fresh.json", "--fresh-target")
    assert code == 1 and report["summary"]["outcomes"]["changed"] > 0
    assert report["summary"]["outcomes"]["shared-state"] == 0


def test_seeded_profiles_and_kept_ids_are_not_namespaced(runner: CliRunner, tmp_path: Path) -> None:
    with Sandbox() as sandbox:
        _, default = _replay(runner, sandbox, tmp_path / "default.json")
        _, kept = _replay(runner, sandbox, tmp_path / "kept.json", "--keep-id", "kim")
    default_urls = {o["url"] for o in default["outcomes"]}
    kept_urls = {o["url"] for o in kept["outcomes"]}
    assert any(url.endswith("/profile/seed-alice/balances") for url in default_urls)  # the seed's own
    assert any(url.endswith("-kim") for url in default_urls)  # a story's profile: namespaced
    assert any(url.endswith("/customer_profiles/kim") for url in kept_urls)  # --keep-id: as recorded
    assert not any(url.endswith("-kim") for url in kept_urls)


def test_a_real_change_in_an_exposed_story_is_still_a_change(
    runner: CliRunner, planted: Sandbox, tmp_path: Path
) -> None:
    # checkout-coupon-referral reads the catalog that catalog-sync changes: exposed to shared state;
    # its campaign renamed on the target is a change of text, which no shared state explains
    code, report = _replay(runner, planted, tmp_path / "planted.json")
    assert code == 1
    renamed = [
        o for o in report["outcomes"]
        if any(c["pointer"].endswith("/name") and c["live"] == "Welcome discount (2027 edition)"
               for c in o.get("changes", []))
    ]  # fmt: skip
    assert renamed and all(o["outcome"] == "changed" for o in renamed)


def test_learn_noise_against_a_shared_target_does_not_learn_shared_state(
    runner: CliRunner, tmp_path: Path
) -> None:
    # the two replays side by side meet each other's writes: a card's balance doubled, a catalog
    # item created twice (refused the second time). Those are state, not noise.
    out = tmp_path / "learned.yaml"
    with Sandbox() as sandbox:
        result = runner.invoke(cli, ["replay", "learn-noise", str(CORPUS), "--target", sandbox.base_url,
                                     "--api-key", sandbox.api_key, "--out", str(out), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    learned = out.read_text()
    for state in (
        "ledger",
        "currentBalance",
        "profiles[*].integrationId",
        "$.version",
        "audienceMemberships",
    ):
        assert state not in learned, learned
