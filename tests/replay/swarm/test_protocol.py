"""The settings a master decides once and its workers replay with: every one survives the trip."""

from __future__ import annotations

import msgpack

from replay.engine.options import ReplayOptions
from replay.rules.noise import NoiseRule, NoiseRules
from replay.swarm.protocol import options_of, settings_of
from replay.talon.noise import builtin_noise


def test_the_settings_a_worker_gets_are_the_masters_options() -> None:
    noise = builtin_noise() + NoiseRules([NoiseRule("$..etag", "--ignore", source="command line")])
    sent = ReplayOptions(target="https://staging.example.talon.one", api_key="key", writes="dry",
                         namespace="rpabc123-", noise=noise, operations=frozenset({"getLoyaltyBalances"}),
                         keep_ids=frozenset({"ana"}), timeout=7.5, speed=2.0, rate=40.0)  # fmt: skip
    settings = msgpack.unpackb(msgpack.packb(settings_of(sent, "load", 5)))  # as Locust carries them
    got = options_of(settings)
    for name in (
        "target",
        "api_key",
        "writes",
        "namespace",
        "operations",
        "keep_ids",
        "timeout",
        "speed",
        "rate",
    ):
        assert getattr(got, name) == getattr(sent, name), name
    assert list(got.noise) == list(sent.noise)
    assert settings["mode"] == "load" and settings["sample"] == 5
