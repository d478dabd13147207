"""``talon-contracts replay learn-noise``: what differs between two replays becomes noise rules."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from replay.cli import cli
from replay.rules.noise import NoiseRules

from .conftest import STORIES


def test_learn_noise_writes_rules_that_replay_uses(runner: CliRunner, tmp_path: Path) -> None:
    learned = tmp_path / "learned.yaml"
    result = runner.invoke(
        cli, ["replay", "learn-noise", *STORIES, "--quiet", "--no-builtin-noise", "--out", str(learned)]
    )
    assert result.exit_code == 0, result.output
    rules = NoiseRules.load(learned)
    patterns = {rule.pattern for rule in rules}
    assert "$.customerSession.created" in patterns and "$.customerProfile.lastActivity" in patterns
    assert all("learned" in rule.reason for rule in rules)
    assert "noise-learned" not in result.output  # --out was used
    assert learned.read_text().startswith("# learned by talon-contracts replay learn-noise")
