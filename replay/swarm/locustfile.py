"""A replay spread over Locust workers, run with Locust's own commands (the module is a locustfile):

    locust -f replay/swarm/locustfile.py --master --headless --expect-workers 2 \\
        --host https://staging.example.talon.one --talon-inputs captures/ --talon-report json:replay.json
    locust -f replay/swarm/locustfile.py --worker --master-host MASTER      # on each worker machine

(``talon-contracts replay swarm`` runs the same with the options of ``replay run``.)

The master (``master.Master``) reads the inputs (paths only: a story's file is read when it is
handed out), decides the replay's settings once (target, writes, namespace, noise rules ...) and
hands out stories (``dispatch.StoryDispatcher``) with them to workers that ask. Each worker
(``worker.Worker``) replays its stories with the engine's own pipeline and sends the outcomes back
(``wire``); the master writes the same reports as ``replay run`` and sets Locust's exit code to
the replay's. What they say to each other: ``protocol``.

Two modes (``--talon-mode``):
- ``verify``: each story once; a worker sends a story's outcomes when it ends. The outcomes are a
  local replay's: on a shared target the stories go out in the phases a local replay plays them in
  (``SharedState.phases``) and the master, which sees every story, says which differences shared
  state explains (``SharedState.classify``).
- ``load``: the stories round after round until ``--run-time`` is up (each round a namespace of its
  own), at ``--talon-rate`` (all workers together) or ``--talon-speed`` (the recorded pace). Workers
  count outcomes and send the counts and at most ``--talon-sample`` findings per operation and
  outcome every second; the reports hold those samples and the complete counts.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from replay.cli.common import EXIT_ERROR
from replay.swarm.master import Master
from replay.swarm.worker import Stories, Worker


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    # a group's arguments are not shown in the web UI's form: the API key is not displayed there
    group = parser.add_argument_group("talon-contracts", "replaying recorded Talon.One traffic")
    add = group.add_argument
    add(
        "--talon-inputs",
        action="append",
        default=[],
        help="Cassettes or captures to replay (repeatable, or comma-separated)",
    )
    add(
        "--talon-report",
        action="append",
        default=[],
        help="A report to write, FORMAT:PATH (json, junit, html; repeatable)",
    )
    add("--talon-api-key", default="", env_var="TALON_API_KEY", help="API key of --host")
    add(
        "--talon-mode",
        default="verify",
        help="verify (each story once) or load (round after round for --run-time)",
    )
    add(
        "--talon-rate", default=None, help="At most this many requests per second, all workers together: 50/s"
    )
    add("--talon-speed", default="max", help="max, or a factor of the recorded pace: 1x, 2x ...")
    add("--talon-sample", type=int, default=100, help="Load mode: findings kept per operation and outcome")
    add("--talon-fail-on", default="changed,violation,error", help="Outcomes that make the exit code 1")
    add("--talon-findings", type=int, default=10, help="Findings shown in the summary")
    add("--talon-writes", default=None, help="allow, dry or skip. Default: allow on loopback, dry elsewhere")
    add("--talon-namespace", default=None, help="Prefix for the ids stories create (default: fresh per run)")
    add("--talon-no-namespace", action="store_true", help="Send client-chosen ids as recorded")
    add("--talon-noise", action="append", default=[], help="A noise rules file (repeatable)")
    add(
        "--talon-ignore",
        action="append",
        default=[],
        help="A JSONPath whose differences are noise (repeatable)",
    )
    add("--talon-no-builtin-noise", action="store_true", help="Do not apply the built-in noise rules")
    add("--talon-operation", action="append", default=[], help="Replay only this operation (repeatable)")
    add(
        "--talon-keep-id",
        action="append",
        default=[],
        help="An id that exists on the target before any story",
    )
    add("--talon-fresh-target", action="store_true", help="The target holds each story's recorded state")
    add(
        "--talon-allow-host",
        action="append",
        default=[],
        help="A non-loopback host that may be replayed against",
    )
    add("--talon-timeout", type=float, default=30.0, help="Seconds per request")  # fmt: skip


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        try:
            environment.talon_master = Master(environment)
        except (
            click.ClickException
        ) as exc:  # a usage error: said once, exit 2 (SystemExit passes Locust's handlers)
            print(f"talon-contracts: {exc.format_message()}", file=sys.stderr)
            raise SystemExit(EXIT_ERROR) from None
    elif isinstance(runner, WorkerRunner):
        environment.talon_worker = Worker(environment)
    else:
        print("talon-contracts: the replay's locustfile runs as --master with --worker processes "
              "(or --processes N on one machine)", file=sys.stderr)  # fmt: skip
        raise SystemExit(EXIT_ERROR)


class StoryUser(User):
    """A story slot: replays the master's stories one after the other until there are none."""

    wait_time = constant(0)
    stories: Stories | None = None

    @task
    def replay(self) -> None:
        self.environment.talon_worker.replay(self)

    def on_stop(self) -> None:
        """Locust stopped this slot (users rebalanced, the run's end): stories it had not ended go
        back to the master."""
        worker = self.environment.talon_worker
        held = self.stories.held() if self.stories is not None else []
        self.stories = None
        if self.environment.runner.user_count <= 1:  # the last slot: what came for the others too
            held += worker.waiting()
        if held:
            worker.give_back(held)
